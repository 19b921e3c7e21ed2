"""The search page: ranked full-text search over the materials, with "did you mean", snippets, the things
the query names (countries, cities, organisations, hashtags), facets with names and counts, filters as
removable chips, and a choice of order. /api/materials?q= answers the same search (api.routers.resources)."""

from __future__ import annotations

import math
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.plumbing.errors import HTTPProblem
from api.plumbing.runtime import Runtime, RuntimeDep, field_text
from api.views.render import html, local, render
from kg.search.catalogue import Catalogue, Filters
from kg.search.entities import Entities

router = APIRouter(include_in_schema=False)
PER_PAGE = 20
ORDERS = {"relevance": "Relevance", "title": "Title (A–Z)", "-year": "Newest first"}
FACET_NAMES = {
    "category": "Core challenge",
    "subcategory": "Subcategory",
    "country": "Country",
    "hashtag": "Hashtag",
    "type": "Type",
    "year": "Year",
}
KIND_NAMES = {"country": "Country", "city": "City", "organisation": "Organisation", "hashtag": "Hashtag"}
UNITS = {"material": "materials", "subcategory": "subcategories"}
_entities: dict[str, Entities] = {}  # release version → the entities a query may name (one release kept)


def catalogue_of(runtime: Runtime) -> Catalogue:
    if runtime.catalogue is None:
        raise HTTPProblem(503, "Not ready", "the server is still loading the dataset", {"Retry-After": "1"})
    return runtime.catalogue


async def entities_of(runtime: Runtime, catalogue: Catalogue) -> Entities:
    """The countries, cities, organisations and hashtags of the release, made once per release."""
    found = _entities.get(runtime.version)
    if found is None:
        rows = [await runtime.rows(name) for name in ("countries", "cities", "organisations", "hashtags")]

        def make() -> Entities:  # CPU work, once per release: off the event loop
            counts = catalogue.facets(list(catalogue.materials.values()))["country"]
            countries, cities, organisations, hashtags = rows
            return Entities.from_rows(countries, cities, organisations, hashtags, counts)

        found = await runtime.cpu.run(make)
        _entities.clear()
        _entities[runtime.version] = found
    return found


async def names(runtime: Runtime, catalogue: Catalogue) -> dict[str, dict[str, str]]:
    """Each facet's values as people read them: challenge and subcategory titles, country names."""
    named: dict[str, dict[str, str]] = {"category": {}, "subcategory": {}, "country": dict(catalogue.country_names)}
    for row in await runtime.rows("categories"):
        named["category"][field_text(row, "category")] = f"{row['category']} {row['category_title']}"
        named["subcategory"][field_text(row, "subcategory")] = f"{row['subcategory']} {row['subcategory_title']}"
    for row in await runtime.rows("countries"):
        named["country"].setdefault(field_text(row, "code"), field_text(row, "name"))
    return named


async def suggestions(runtime: Runtime, catalogue: Catalogue, q: str) -> list[dict[str, object]]:
    """The things the query names, each with its page and what it offers."""
    offered: list[dict[str, object]] = []
    countries = {row["code"]: row for row in await runtime.rows("countries")}
    for entity in (await entities_of(runtime, catalogue)).match(q):
        item: dict[str, object] = {
            "kind": KIND_NAMES[entity.kind],
            "name": entity.name,
            "path": local(runtime, entity.iri),
        }
        if entity.kind == "country":
            item |= {"path": f"/country/{entity.code}", "count": entity.count, "unit": "material"}
            item["search"] = "/search?" + urlencode({"country": entity.code})
        elif entity.kind == "city" and entity.code in countries:
            country = countries[entity.code]
            item["country"] = {"name": country["name"], "path": f"/country/{entity.code}"}
            if country.get("has_profile"):
                profile = await runtime.rows("platform_profile", {"country": entity.code})
                if profile:
                    item["platform"] = {
                        "name": f"National platform of {country['name']}",
                        "path": local(runtime, field_text(profile[0], "profile")),
                    }
        elif entity.kind == "organisation":
            item |= {"count": entity.count, "unit": "material"}
        elif entity.kind == "hashtag":
            item |= {
                "count": entity.count,
                "unit": "subcategory",
                "search": "/search?" + urlencode({"hashtag": entity.name}),
            }
        if item.get("count") is not None:
            count, unit = item["count"], str(item.pop("unit"))
            item["counted"] = f"{count} {unit if count == 1 else UNITS[unit]}"
        offered.append(item)
    return offered


@router.get("/search")
async def search(
    request: Request,
    runtime: RuntimeDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(max_length=4)] = None,
    subcategory: Annotated[str | None, Query(max_length=4)] = None,
    hashtag: Annotated[str | None, Query(max_length=80)] = None,
    country: Annotated[str | None, Query(max_length=3)] = None,
    type: Annotated[str | None, Query(max_length=120)] = None,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    sort: Annotated[Literal["relevance", "title", "-year"] | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    catalogue = catalogue_of(runtime)
    q = (q or "").strip() or None
    wanted = Filters(category, subcategory, hashtag, country, type, year, year, q)
    named = await names(runtime, catalogue)
    offered = await suggestions(runtime, catalogue, q) if q else []
    filters = {
        "category": category,
        "subcategory": subcategory,
        "hashtag": hashtag,
        "country": country.upper() if country and country.isascii() else country,
        "type": type,
        "year": str(year) if year else None,
    }
    chosen = {k: v for k, v in filters.items() if v}
    kept = {**({"q": q} if q else {}), **chosen, **({"sort": sort} if sort else {})}

    def link(**change: object) -> str:
        params = {k: v for k, v in {**kept, **change}.items() if v not in (None, "")}
        return "/search?" + urlencode(params) if params else "/search"

    def name_of(facet: str, value: str) -> str:
        return named.get(facet, {}).get(value, value)

    def page_body() -> str:  # searching, counting facets and writing the page are CPU work: off the event loop
        selection = catalogue.query(wanted)
        order = sort or ("relevance" if q else "title")
        if order == "relevance" and not selection.scores:
            order = "title"
        ordered = catalogue.sort(selection.entries, order, selection.scores)
        pages = max(1, math.ceil(len(ordered) / PER_PAGE))
        shown = ordered[(page - 1) * PER_PAGE : page * PER_PAGE]
        snippets = catalogue.snippets(selection.words, shown) if selection.words else {}
        facets = [
            {
                "key": facet,
                "title": FACET_NAMES[facet],
                "values": [
                    {
                        "name": name_of(facet, value),
                        "count": count,
                        "href": link(**{facet: None if chosen.get(facet) == value else value, "page": None}),
                        "active": chosen.get(facet) == value,
                    }
                    for value, count in list(values.items())[:25]
                ],
            }
            for facet, values in catalogue.facets(selection.entries).items()
            if values
        ]
        chips = [
            {"facet": FACET_NAMES[k], "name": name_of(k, v), "href": link(**{k: None, "page": None})}
            for k, v in chosen.items()
        ]
        results = [
            entry.summary()
            | {
                "path": local(runtime, entry.iri),
                "snippet": snippets.get(entry.iri, ""),
                "subcategory_names": [name_of("subcategory", s) for s in sorted(entry.subcategories)],
                "country_names": [name_of("country", c) for c in sorted(entry.countries)],
            }
            for entry in shown
        ]
        return render(
            "search.html",
            request,
            runtime,
            q=q or "",
            sort=order,
            orders=ORDERS if q else {k: v for k, v in ORDERS.items() if k != "relevance"},
            kept={k: v for k, v in kept.items() if k not in ("q", "sort")},
            chips=chips,
            did_you_mean=selection.did_you_mean,
            suggestions=offered,
            total=len(ordered),
            results=results,
            facets=facets,
            page=page,
            pages=pages,
            previous=link(page=page - 1 if page > 2 else None) if page > 1 else None,
            next=link(page=page + 1) if page < pages else None,
            clear_all=link(**dict.fromkeys(chosen), page=None),
        )

    return html(request, runtime, await runtime.cpu.run(page_body))
