"""The materials catalogue: filters, facets, sorting and free-text search over learning materials.

Built once per dataset version from three queries (kg/sparql/queries/catalogue/), run by the build
and kept in the release as an SQLite file (catalogue.sqlite: the materials, their facets and the
full-text index), which a server opens read-only: it is ready without running the queries or
indexing anything, and the texts stay on disk. For a release without that file, the server runs the
queries and indexes in memory. It answers the portfolio site's list and search requests: a CONTAINS
scan over descriptions costs about 15 ms even in pyoxigraph, while its full-text index
(kg.search.fulltext: SQLite FTS5, stemmed, ranked by BM25, typos corrected) answers in about a
millisecond. Filters and facets run over the materials' entries, held in memory.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from kg.search.fulltext import FullText, Hits, open_index, query_words, write_index

SORTS = ("title", "-title", "year", "-year", "relevance")


CatalogueRows = dict[str, list[dict[str, str | None]]]  # query name: rows of lexical values


LISTED = {
    "features": " || ",
    "partners": " || ",
    "years": " ",
}  # GROUP_CONCATs, in whatever order the store met the values


def ordered(rows: CatalogueRows) -> CatalogueRows:
    """The rows and their listed values in one order whatever the store's: equal data, equal file."""

    def canonical(row: dict[str, str | None]) -> dict[str, str | None]:
        return {
            key: LISTED[key].join(sorted(value.split(LISTED[key]))) if key in LISTED and value else value
            for key, value in row.items()
        }

    return {
        name: sorted((canonical(row) for row in found), key=lambda row: json.dumps(row, sort_keys=True))
        for name, found in rows.items()
    }


FACETS = ("years", "countries", "categories", "subcategories", "hashtags", "type_labels")  # MaterialEntry's


def write_catalogue(path: Path, rows: CatalogueRows) -> None:
    """The catalogue of the rows, as an SQLite file: the full-text index (kg.search.fulltext.write_index), the
    materials with their facets, in document order, and the countries' names. The same rows, in whatever
    order the store gave them, give the same file."""
    kept = ordered(rows)
    materials, documents, names = _entries(kept["materials"], kept["countries"], kept["hashtags"])
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    try:
        write_index(db, (documents[iri] for iri in materials))
        db.execute(
            f"CREATE TABLE materials(number INTEGER PRIMARY KEY, iri TEXT NOT NULL, title TEXT NOT NULL, "
            f"{', '.join(f'{facet} TEXT NOT NULL' for facet in FACETS)})"
        )
        db.executemany(
            f"INSERT INTO materials VALUES ({', '.join('?' * (3 + len(FACETS)))})",
            (
                (number, entry.iri, entry.title, *(json.dumps(sorted(getattr(entry, f))) for f in FACETS))
                for number, entry in enumerate(materials.values())
            ),
        )
        db.execute("CREATE TABLE countries(code TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID")
        db.executemany("INSERT INTO countries VALUES (?, ?)", sorted(names.items()))
        db.commit()
        db.execute("VACUUM")  # no free pages left from the index's merges
    finally:
        db.close()


def open_catalogue(path: Path) -> Catalogue:
    """The catalogue a build kept: its materials read into memory, its full-text index searched on disk."""
    db = open_index(path)
    try:
        materials: dict[str, MaterialEntry] = {}
        for number, iri, title, *facets in db.execute(f"SELECT number, iri, title, {', '.join(FACETS)} FROM materials"):
            if number != len(materials):
                raise ValueError(f"{path}: material number {number} out of order")
            entry = MaterialEntry(iri, title)
            for facet, values in zip(FACETS, facets, strict=True):
                listed = json.loads(values)
                setattr(entry, facet, listed if facet == "years" else set(listed))
            materials[iri] = entry
        names = dict(db.execute("SELECT code, name FROM countries"))
        return Catalogue(materials, FullText(db), names)
    except BaseException:
        db.close()
        raise


@dataclass
class MaterialEntry:
    iri: str
    title: str
    years: list[int] = field(default_factory=list)
    countries: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    subcategories: set[str] = field(default_factory=set)
    hashtags: set[str] = field(default_factory=set)
    type_labels: set[str] = field(default_factory=set)
    sort_title: str = ""

    def __post_init__(self) -> None:
        self.sort_title = self.title.casefold()

    @property
    def id(self) -> str:
        return self.iri.rsplit("/", 1)[-1]

    def summary(self) -> dict[str, object]:
        return {
            "iri": self.iri,
            "id": self.id,
            "title": self.title,
            "years": self.years,
            "countries": sorted(self.countries),
            "categories": sorted(self.categories),
            "subcategories": sorted(self.subcategories, key=_notation_key),
            "type_labels": sorted(self.type_labels),
        }


def _notation_key(notation: str) -> tuple[int, ...]:
    return tuple(int(part) for part in notation.split("."))


@dataclass
class Filters:
    category: str | None = None
    subcategory: str | None = None
    hashtag: str | None = None
    country: str | None = None
    type: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    q: str | None = None


@dataclass
class Selection:
    """The materials a list request selects, their relevance scores when it searched, and the query searched."""

    entries: list[MaterialEntry]
    scores: dict[str, int]
    words: list[str] = field(default_factory=list)
    did_you_mean: str | None = None


class Catalogue:
    def __init__(self, materials: dict[str, MaterialEntry], text: FullText, country_names: dict[str, str]) -> None:
        """`materials` in the order of `text`'s documents."""
        self.materials = materials
        self.by_id = {m.id: m for m in materials.values()}
        self.numbers = list(materials)  # document number → material IRI
        self.number = {iri: n for n, iri in enumerate(self.numbers)}
        self.text = text
        self.country_names = country_names

    @classmethod
    def from_rows(cls, cards: list[dict], countries: list[dict], hashtags: list[dict]) -> Catalogue:
        """The catalogue from its three queries' rows, and its full-text index made from them, in memory."""
        materials, documents, names = _entries(cards, countries, hashtags)
        return cls(materials, FullText.in_memory(documents[iri] for iri in materials), names)

    def close(self) -> None:
        """Give back its full-text index's file (sqlite3 connections sit in reference cycles: without this, only
        a full garbage collection would close it, and a pruned release's disk space would stay taken)."""
        self.text.close()

    # -- search ---------------------------------------------------------------------

    def search(self, text: str) -> Hits:
        return self.text.search(text)

    def snippets(self, words: list[str], entries: list[MaterialEntry]) -> dict[str, str]:
        """HTML passages around the matched words (escaped, matches in <mark>) of the given materials."""
        found = self.text.snippets(words, (self.number[e.iri] for e in entries))
        return {self.numbers[n]: passage for n, passage in found.items()}

    # -- filters, facets, pages -----------------------------------------------------

    def select(self, filters: Filters) -> tuple[list[MaterialEntry], dict[str, int]]:
        selection = self.query(filters)
        return selection.entries, selection.scores

    def query(self, filters: Filters) -> Selection:
        """The materials passing every filter and holding the words of q (corrected if they found nothing)."""
        hits = self.search(filters.q) if filters.q and query_words(filters.q) else None
        scores = {self.numbers[n]: score for n, score in hits.scores.items()} if hits is not None else None
        hashtag = filters.hashtag.casefold().lstrip("#") if filters.hashtag else None
        kind = filters.type.casefold() if filters.type else None
        selected = []
        for entry in self.materials.values():
            if scores is not None and entry.iri not in scores:
                continue
            if filters.category and filters.category not in entry.categories:
                continue
            if filters.subcategory and filters.subcategory not in entry.subcategories:
                continue
            if filters.country and not (filters.country.isascii() and filters.country.upper() in entry.countries):
                continue
            if hashtag and hashtag not in {h.casefold().lstrip("#") for h in entry.hashtags}:
                continue
            if kind and kind not in {label.casefold() for label in entry.type_labels}:
                continue
            if (filters.year_from is not None or filters.year_to is not None) and not any(
                (filters.year_from is None or y >= filters.year_from)
                and (filters.year_to is None or y <= filters.year_to)
                for y in entry.years
            ):
                continue
            selected.append(entry)
        if hits is None:
            return Selection(selected, {})
        return Selection(selected, scores or {}, hits.words, hits.did_you_mean)

    @staticmethod
    def sort(entries: list[MaterialEntry], order: str, scores: dict[str, int]) -> list[MaterialEntry]:
        if order == "relevance":
            return sorted(entries, key=lambda e: (-scores.get(e.iri, 0), e.sort_title))
        if order in ("year", "-year"):
            missing = 9999 if order == "year" else -1
            ordered = sorted(entries, key=lambda e: (min(e.years) if e.years else missing, e.sort_title))
            return (
                ordered
                if order == "year"
                else sorted(entries, key=lambda e: (-(max(e.years) if e.years else missing), e.sort_title))
            )
        return sorted(entries, key=lambda e: e.sort_title, reverse=order == "-title")

    @staticmethod
    def facets(entries: list[MaterialEntry]) -> dict[str, dict[str, int]]:
        counters: dict[str, Counter[str]] = {
            name: Counter() for name in ("category", "subcategory", "hashtag", "country", "type", "year")
        }
        for entry in entries:
            counters["category"].update(entry.categories)
            counters["subcategory"].update(entry.subcategories)
            counters["hashtag"].update(entry.hashtags)
            counters["country"].update(entry.countries)
            counters["type"].update(entry.type_labels)
            counters["year"].update(str(y) for y in entry.years)
        return {
            name: dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))) for name, counter in counters.items()
        }


Documents = dict[str, tuple[str, str, str, str]]  # material IRI: title, body, hashtags, places (kg.search.fulltext)


def _entries(
    cards: list[dict], countries: list[dict], hashtags: list[dict]
) -> tuple[dict[str, MaterialEntry], Documents, dict[str, str]]:
    """The materials (in the order the rows first name them), their documents, and the countries' names."""
    materials: dict[str, MaterialEntry] = {}
    bodies: dict[str, dict[str, None]] = defaultdict(dict)  # distinct texts, in the order met
    places: dict[str, dict[str, None]] = defaultdict(dict)
    for row in cards:
        entry = materials.setdefault(row["material"], MaterialEntry(row["material"], row["title"]))
        entry.years = sorted({int(y) for y in str(row.get("years") or "").split()} | set(entry.years))
        entry.categories.add(row["category"])
        entry.subcategories.add(row["subcategory"])
        if row.get("type_label"):
            entry.type_labels.add(row["type_label"])
        for text in (row.get("type_label"), row.get("description"), *str(row.get("features") or "").split(" || ")):
            if text:
                bodies[row["material"]][text] = None
        for partner in str(row.get("partners") or "").split(" || "):
            if partner:
                places[row["material"]][partner] = None
    names: dict[str, str] = {}
    for row in countries:
        if row["material"] in materials:
            materials[row["material"]].countries.add(row["code"])
            if row.get("name"):
                places[row["material"]][str(row["name"])] = None
                names.setdefault(row["code"], str(row["name"]))
    for row in hashtags:
        if row["material"] in materials:
            materials[row["material"]].hashtags.add(row["label"])
    documents = {
        iri: (
            entry.title,
            "\n".join(bodies[iri]),
            " ".join(sorted(entry.hashtags)),
            "\n".join(places[iri]),
        )
        for iri, entry in materials.items()
    }
    return materials, documents, names
