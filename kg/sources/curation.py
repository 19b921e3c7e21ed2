"""Load the reviewed curation files under data/curation/.

Every mapping read from YAML remembers its line, so a bad entry is reported as
`file:line: problem`. The loader checks shapes of entries; whether an entry names
something the sources contain is checked where the sources are resolved (kg.resolve).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import yaml

from kg.errors import CurationError
from kg.sources.cells import normalise

LINE = "__line__"


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        mapping[LINE] = node.start_mark.line + 1
        return mapping


@dataclass
class Entry:
    """One mapping of a curation file, with its location."""

    data: dict[str, Any]
    file: str

    @property
    def line(self) -> int | None:
        return self.data.get(LINE)

    def error(self, problem: str, field_name: str | None = None) -> CurationError:
        return CurationError(problem, file=self.file, line=self.line, field=field_name)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    @overload
    def text(self, key: str, *, required: Literal[True] = True) -> str: ...

    @overload
    def text(self, key: str, *, required: bool) -> str | None: ...

    def text(self, key: str, *, required: bool = True) -> str | None:
        """The field as a text; a missing optional field is None, a missing required one an error."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(f"missing required field {key!r}", key)
            return None
        if not isinstance(value, (str, int, float)):
            raise self.error(f"field {key!r} must be a text, found {type(value).__name__}", key)
        return str(value)

    def values(self, key: str) -> list[Any]:
        """The field as a list of values; a missing field is an empty list."""
        value = self.data.get(key) or []
        if not isinstance(value, list):
            raise self.error(f"field {key!r} must be a list", key)
        return value

    def entries(self, key: str) -> list[Entry]:
        items = self.values(key)
        for item in items:
            if not isinstance(item, dict):
                raise self.error(f"every item of {key!r} must be a mapping", key)
        return [Entry(item, self.file) for item in items]

    def note(self) -> str | None:
        return self.text("note", required=False) or self.text("decision", required=False)


def load_yaml(path: Path) -> Entry:
    try:
        with path.open(encoding="utf-8") as stream:
            data = yaml.load(stream, Loader=_LineLoader)  # a SafeLoader subclass: safe
    except FileNotFoundError as exc:
        raise CurationError("curation file is missing", file=path.name) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise CurationError(f"invalid YAML: {getattr(exc, 'problem', exc)}", file=path.name, line=line) from exc
    if not isinstance(data, dict):
        raise CurationError("a curation file must be a mapping at the top level", file=path.name)
    return Entry(data, path.name)


@dataclass
class Country:
    alpha2: str
    alpha3: str
    name: str
    eu_code: str | None
    wikidata: str | None
    variants: list[str]
    is_region: bool = False


@dataclass
class Language:
    label: str
    bcp47: str
    eu_code: str


@dataclass
class Curation:
    """All curation files, indexed for lookups by normalised printed text."""

    directory: Path
    countries: dict[str, Country] = field(default_factory=dict)  # normalised printed form → country
    languages: dict[str, list[Language]] = field(default_factory=dict)  # normalised tag → languages
    files: dict[str, Entry] = field(default_factory=dict)

    def file(self, name: str) -> Entry:
        return self.files[name]

    def country(self, printed: str) -> Country | None:
        return self.countries.get(normalise(printed))

    def all_countries(self) -> list[Country]:
        unique = {c.alpha3: c for c in self.countries.values()}
        return sorted(unique.values(), key=lambda c: c.alpha3)


CURATION_FILES = (
    "countries.yaml",
    "languages.yaml",
    "glossary.yaml",
    "profiles.yaml",
    "organisations.yaml",
    "partner_lists.yaml",
    "materials.yaml",
    "hashtags.yaml",
    "links.yaml",
    "sections.yaml",
    "personas.yaml",
    "relations.yaml",
)


def load_curation(directory: Path) -> Curation:
    curation = Curation(directory)
    for name in CURATION_FILES:
        curation.files[name] = load_yaml(directory / name)
    _index_countries(curation)
    _index_languages(curation)
    return curation


def _index_countries(curation: Curation) -> None:
    root = curation.file("countries.yaml")
    for entry, is_region in [(e, False) for e in root.entries("countries")] + [
        (e, True) for e in root.entries("regions")
    ]:
        alpha3 = entry.text("alpha3")
        country = Country(
            alpha2=entry.text("alpha2", required=not is_region) or alpha3,
            alpha3=alpha3,
            name=entry.text("name"),
            eu_code=entry.text("eu_code", required=False),
            wikidata=entry.text("wikidata", required=False),
            variants=[str(v) for v in entry.values("variants")],
            is_region=is_region,
        )
        for printed in [country.name, country.alpha2, country.eu_code, *country.variants]:
            if not printed:
                continue
            key = normalise(printed)
            if key in curation.countries and curation.countries[key].alpha3 != country.alpha3:
                raise entry.error(f"{printed!r} already names {curation.countries[key].name}", "variants")
            curation.countries[key] = country


def _index_languages(curation: Curation) -> None:
    root = curation.file("languages.yaml")
    by_label: dict[str, Language] = {}
    for entry in root.entries("languages"):
        language = Language(entry.text("label"), entry.text("bcp47"), entry.text("eu_code"))
        by_label[language.label] = language
        for printed in [language.label, *entry.values("variants")]:
            curation.languages[normalise(str(printed))] = [language]
    for entry in root.entries("combined_tags"):
        tag = entry.text("tag", required=False) or entry.text("label")
        names = entry.values("languages")
        missing = [n for n in names if n not in by_label]
        if missing:
            raise entry.error(f"names languages not listed under 'languages': {missing}", "languages")
        curation.languages[normalise(tag)] = [by_label[n] for n in names]
