"""What several kinds' pages use: rows of the linked/ queries, line spans, links to pages."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable

import pyoxigraph as ox

from api.plumbing.runtime import Runtime
from api.views.render import local
from kg.engines.protocol import encode_term


async def linked_rows(runtime: Runtime, name: str, iri: str) -> list[dict]:
    """Rows of one of the queries in kg/sparql/queries/linked/, its ?s bound to the resource."""
    return await runtime.plain_rows(runtime.registry.text(f"linked/{name}"), {"s": encode_term(ox.NamedNode(iri))})


def lines(first: object, last: object) -> str:
    return f"line {first}" if first == last else f"lines {first}–{last}"


def link(runtime: Runtime, iri: str, label: str) -> dict[str, str]:
    """A link to a page, as templates take it."""
    return {"path": local(runtime, iri), "label": label}


# -- added for the portfolio's pages (challenges, materials, hashtags, personas, glossary) ---------------------

EU_COUNTRY = "http://publications.europa.eu/resource/authority/country/"
LOCATOR = re.compile(r"^(?P<text>.+)#line=(?P<after>\d+),(?P<last>\d+)$")


def place_path(runtime: Runtime, iri: str) -> str:
    """A place's page: a country's /country/ page (by its EU authority code), anything else its own page."""
    return f"/country/{iri[len(EU_COUNTRY) :]}" if iri.startswith(EU_COUNTRY) else local(runtime, iri)


def source_link(runtime: Runtime, locator: str | None) -> dict[str, str] | None:
    """A source locator ("…/id/source/FILE#line=after,last", RFC 5147) as a link to the lines on the
    source text's page, labelled in words: {"path", "label", "first", "last"}."""
    found = LOCATOR.match(locator or "")
    if not found or not found["text"].startswith(f"{runtime.ns.id}source/"):
        return None
    first, last = int(found["after"]) + 1, int(found["last"])
    return {
        "path": f"{local(runtime, found['text'])}?lines={first}-{last}#line-{first}",
        "label": lines(first, last),
        "first": str(first),
        "last": str(last),
    }


def by_kind(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows of a linked/ query that UNIONs parts of a page, grouped by their ?kind (query order kept)."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row["kind"]].append(row)
    return grouped


def unique_links(runtime: Runtime, rows: list[dict], *, path: Callable[[Runtime, str], str] = local) -> list[dict]:
    """Each row's ?link once (first row wins), as a link with its ?text as the label and ?extra kept."""
    seen: dict[str, dict] = {}
    for row in rows:
        if row.get("link") and row["link"] not in seen:
            seen[row["link"]] = {
                "path": path(runtime, row["link"]),
                "label": row["text"],
                "extra": row.get("extra"),
                "iri": row["link"],
            }
    return list(seen.values())


def is_true(value: object) -> bool:
    """An xsd:boolean's lexical form (or Virtuoso's 1/0) as a Python bool."""
    return str(value).lower() in ("true", "1")
