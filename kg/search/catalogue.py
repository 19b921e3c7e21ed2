"""The materials catalogue: filters, facets, sorting and free-text search over learning materials.

Built once per dataset version from three queries (kg/sparql/queries/catalogue/), run by the build
and kept in the release (catalogue.json: a server is ready without running them) or, for a release
without that file, by the server. It answers the portfolio site's list and search requests in
memory: a CONTAINS scan over descriptions costs about 15 ms even in pyoxigraph, while an inverted
index answers in microseconds.
"""

from __future__ import annotations

import bisect
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import orjson

WORD = re.compile(r"\w+", re.UNICODE)
SORTS = ("title", "-title", "year", "-year", "relevance")


CatalogueRows = dict[str, list[dict[str, str | None]]]  # query name: rows of lexical values


LISTED = {"features": " || ", "years": " "}  # GROUP_CONCATs, in whatever order the store met the values


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


INDEX = "index"  # catalogue.json: the inverted index, kept beside the rows it was made from
TITLE_WEIGHT, BODY_WEIGHT = 5, 1
TOKENS = f"{WORD.pattern} casefold title={TITLE_WEIGHT} body={BODY_WEIGHT}"  # how the kept index was made


def write_rows(path: Path, rows: CatalogueRows) -> None:
    """The rows, in one order whatever the store's, and the inverted index made from them: a server loads
    the index instead of making it (at 100x the portfolio, 0.3 s instead of 1.5 s of a reload)."""
    kept = ordered(rows)
    postings = Catalogue.from_rows(kept["materials"], kept["countries"], kept["hashtags"]).postings
    iris = sorted({iri for found in postings.values() for iri in found})
    number = {iri: n for n, iri in enumerate(iris)}
    # each word's postings as one flat list [material number, weight, …]: 5 MiB at 100x where IRIs took 76
    flat = {word: [x for iri in sorted(found) for x in (number[iri], found[iri])] for word, found in postings.items()}
    document = {**kept, INDEX: {"tokens": TOKENS, "materials": iris, "postings": flat}}
    path.write_text(json.dumps(document, ensure_ascii=False, sort_keys=True), encoding="utf-8")


def read_catalogue(path: Path) -> Catalogue:
    """The catalogue a build kept: its rows, and its index if the file has one (else it is made now)."""
    document = orjson.loads(path.read_bytes())
    postings = None
    if document.get(INDEX, {}).get("tokens") == TOKENS:  # made as this server would make it: else made anew
        iris = document[INDEX]["materials"]
        postings = {
            word: {iris[n]: weight for n, weight in zip(flat[::2], flat[1::2], strict=True)}
            for word, flat in document[INDEX]["postings"].items()
        }
    return Catalogue.from_rows(document["materials"], document["countries"], document["hashtags"], postings)


def words(text: str) -> list[str]:
    return list(map(str.casefold, WORD.findall(text)))


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


class Catalogue:
    def __init__(self, materials: dict[str, MaterialEntry], postings: dict[str, dict[str, int]]) -> None:
        self.materials = materials
        self.by_id = {m.id: m for m in materials.values()}
        self.postings = postings  # word → material IRI → weight
        self.vocabulary = sorted(self.postings)

    @staticmethod
    def index(texts: dict[str, tuple[str, str]]) -> dict[str, dict[str, int]]:
        """The inverted index of (title, body) texts by material IRI, each word weighed by where it occurs."""
        postings: dict[str, dict[str, int]] = defaultdict(dict)
        for iri, (title, body) in texts.items():
            weights = Counter({word: count * BODY_WEIGHT for word, count in Counter(words(body)).items()})
            for word in words(title):
                weights[word] += TITLE_WEIGHT
            for word, weight in weights.items():
                postings[word][iri] = weight
        return dict(postings)

    @classmethod
    def from_rows(
        cls,
        cards: list[dict],
        countries: list[dict],
        hashtags: list[dict],
        postings: dict[str, dict[str, int]] | None = None,
    ) -> Catalogue:
        """The catalogue from its three queries' rows, with the index made from them if none is given."""
        materials: dict[str, MaterialEntry] = {}
        bodies: dict[str, list[str]] = defaultdict(list)
        for row in cards:
            entry = materials.setdefault(row["material"], MaterialEntry(row["material"], row["title"]))
            entry.years = sorted({int(y) for y in str(row.get("years") or "").split()} | set(entry.years))
            entry.categories.add(row["category"])
            entry.subcategories.add(row["subcategory"])
            if row.get("type_label"):
                entry.type_labels.add(row["type_label"])
            bodies[row["material"]] += [
                row.get("type_label") or "",
                row.get("description") or "",
                str(row.get("features") or "").replace(" || ", " "),
            ]
        for row in countries:
            if row["material"] in materials:
                materials[row["material"]].countries.add(row["code"])
        for row in hashtags:
            if row["material"] in materials:
                materials[row["material"]].hashtags.add(row["label"])
        if postings is None:
            postings = cls.index({iri: (m.title, " ".join(bodies[iri])) for iri, m in materials.items()})
        return cls(materials, postings)

    # -- search ---------------------------------------------------------------------

    def _matches(self, term: str) -> dict[str, int]:
        """Materials containing a word that starts with `term`, with summed weights."""
        found: dict[str, int] = defaultdict(int)
        start = bisect.bisect_left(self.vocabulary, term)
        for word in self.vocabulary[start:]:
            if not word.startswith(term):
                break
            for iri, weight in self.postings[word].items():
                found[iri] += weight
        return found

    def search(self, text: str) -> dict[str, int]:
        """Materials matching every word of `text` (as a prefix), with a relevance score."""
        scores: dict[str, int] | None = None
        for term in words(text):
            matched = self._matches(term)
            scores = dict(matched) if scores is None else {i: s + matched[i] for i, s in scores.items() if i in matched}
        return scores or {}

    # -- filters, facets, pages -----------------------------------------------------

    def select(self, filters: Filters) -> tuple[list[MaterialEntry], dict[str, int]]:
        scores = self.search(filters.q) if filters.q and words(filters.q) else None
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
        return selected, scores or {}

    @staticmethod
    def sort(entries: list[MaterialEntry], order: str, scores: dict[str, int]) -> list[MaterialEntry]:
        if order == "relevance":
            return sorted(entries, key=lambda e: (-scores.get(e.iri, 0), e.title.casefold()))
        if order in ("year", "-year"):
            missing = 9999 if order == "year" else -1
            ordered = sorted(entries, key=lambda e: (min(e.years) if e.years else missing, e.title.casefold()))
            return (
                ordered
                if order == "year"
                else sorted(entries, key=lambda e: (-(max(e.years) if e.years else missing), e.title.casefold()))
            )
        return sorted(entries, key=lambda e: e.title.casefold(), reverse=order == "-title")

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
