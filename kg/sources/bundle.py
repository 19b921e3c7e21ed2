"""Read every source document listed in data/sources/sources.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kg.errors import SourceFormatError
from kg.sources.model import Located, Portfolio
from kg.sources.partners_map import PartnersMap, read_partners_map
from kg.sources.portfolio import read_portfolio
from kg.sources.text import SourceText
from kg.sources.website import WebsiteItem, read_website

MANIFEST = "sources.yaml"


@dataclass
class SourceDocument:
    text: SourceText
    role: str
    title: str


@dataclass
class Sources:
    documents: dict[str, SourceDocument]
    attribution: str
    portfolio: Portfolio
    website: list[WebsiteItem]
    partners_map: PartnersMap
    unplaced: dict[str, list[Located]] = field(default_factory=dict)  # file name → lines no reader placed

    def by_role(self, role: str) -> SourceDocument:
        return next(d for d in self.documents.values() if d.role == role)


def read_sources(directory: Path) -> Sources:
    manifest_path = directory / MANIFEST
    try:
        manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SourceFormatError(f"cannot read the source manifest: {exc}", file=manifest_path.name) from exc
    documents: dict[str, SourceDocument] = {}
    for number, item in enumerate(manifest.get("documents") or [], start=1):
        if not isinstance(item, dict) or not {"file", "role", "title"} <= item.keys():
            raise SourceFormatError(f"document entry {number} needs file, role and title", file=MANIFEST)
        documents[item["file"]] = SourceDocument(SourceText(directory / item["file"]), item["role"], item["title"])
    roles = {d.role: d for d in documents.values()}
    missing = {"portfolio", "website", "partners-map"} - roles.keys()
    if missing:
        raise SourceFormatError(f"the manifest lists no document with role {sorted(missing)}", file=MANIFEST)
    portfolio, unplaced = read_portfolio(roles["portfolio"].text)
    website, website_unplaced = read_website(roles["website"].text)
    return Sources(
        documents=documents,
        attribution=str(manifest.get("attribution", "")).strip(),
        portfolio=portfolio,
        website=website,
        partners_map=read_partners_map(roles["partners-map"].text),
        unplaced={roles["portfolio"].text.name: unplaced, roles["website"].text.name: website_unplaced},
    )
