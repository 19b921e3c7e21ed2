"""Things a search names: countries, cities, organisations and hashtags, offered above the materials found.

A query matches an entity when, casefolded and without accents, the entity's name starts with it
("hels" → Helsinki) or the query holds the name as whole words ("webinars in Greece" → Greece). The
entities come from the kept answers of the named queries countries, cities, organisations and
hashtags; a country's material count follows the catalogue's rule (a material printed for a country
group, such as the CapaCITIES Core Countries, counts for each member country).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kg.search.fulltext import fold

MIN_PREFIX = 3  # a query shorter than this offers nothing: "gr" would name half the portfolio
LIMIT = 6


@dataclass(frozen=True)
class Entity:
    kind: str  # country, city, organisation, hashtag
    name: str
    iri: str
    code: str = ""  # a country's alpha-2 code; a city's country's
    count: int | None = None  # materials (countries, organisations), subcategories (hashtags)
    folded: str = ""


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", fold(text)))


class Entities:
    def __init__(self, entities: Sequence[Entity]) -> None:
        unique: dict[tuple[str, str], Entity] = {}
        for entity in entities:  # one entity of a kind and name: copies of a dataset share their names
            unique.setdefault((entity.kind, entity.folded), entity)
        self.entities = sorted(unique.values(), key=lambda e: (e.folded, e.kind))

    @classmethod
    def from_rows(
        cls,
        countries: Sequence[Mapping[str, object]],
        cities: Sequence[Mapping[str, object]],
        organisations: Sequence[Mapping[str, object]],
        hashtags: Sequence[Mapping[str, object]],
        country_counts: Mapping[str, int],
    ) -> Entities:
        found: list[Entity] = []
        for row in countries:
            code = str(row["code"])
            found.append(
                Entity("country", str(row["name"]), str(row["country"]), code, country_counts.get(code, 0), "")
            )
        for row in cities:
            found.append(Entity("city", str(row["name"]), str(row["city"]), str(row.get("country") or "")))
        for row in organisations:
            count = row.get("materials")
            found.append(
                Entity(
                    "organisation",
                    str(row["name"]),
                    str(row["organisation"]),
                    str(row.get("country") or ""),
                    int(str(count)) if count is not None else None,
                )
            )
        for row in hashtags:
            count = row.get("subcategories")
            found.append(
                Entity("hashtag", str(row["label"]), str(row["hashtag"]), "", int(str(count)) if count else None)
            )
        return cls([Entity(e.kind, e.name, e.iri, e.code, e.count, _words(e.name)) for e in found])

    def match(self, query: str) -> list[Entity]:
        """The entities the query names: exact names first, then names it begins, then names inside it."""
        wanted = _words(query)
        if len(wanted.replace(" ", "")) < MIN_PREFIX:
            return []
        padded = f" {wanted} "
        ranked = []
        for entity in self.entities:
            name = entity.folded.lstrip("#") if entity.kind == "hashtag" else entity.folded
            if not name:
                continue
            if name == wanted:
                ranked.append((0, entity))
            elif name.startswith(wanted):
                ranked.append((1, entity))
            elif len(name) >= 4 and f" {name} " in padded:
                ranked.append((2, entity))
        order = {"country": 0, "city": 1, "organisation": 2, "hashtag": 3}
        ranked.sort(key=lambda pair: (pair[0], order[pair[1].kind], pair[1].folded))
        return [entity for _, entity in ranked[:LIMIT]]
