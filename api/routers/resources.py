"""REST resources for the portfolio site.

Materials, categories, hashtags, countries, organisations, cities and personas. Every route takes the
query parameters its signature declares, and `format`; each at most once. Anything else is a 400
that names the parameter: an unknown one is not ignored, a repeated one does not silently take its last value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.plumbing import jsonld
from api.plumbing.errors import HTTPProblem
from api.plumbing.respond import public_iri, respond
from api.plumbing.runtime import Runtime, RuntimeDep, field_text
from kg.search.catalogue import Catalogue, Filters, Selection
from kg.sparql.registry import GLOBAL_PARAMETERS, single_values


def _query_parameters(dependant: object) -> set[str]:
    """The query parameters a route (FastAPI's Dependant of its endpoint) declares, its dependencies' too."""
    names = {field.alias for field in getattr(dependant, "query_params", ())}
    for dependency in getattr(dependant, "dependencies", ()):
        names |= _query_parameters(dependency)
    return names


async def one_value_each(request: Request) -> None:
    """The route's own query parameters and `format`, each at most once (400 otherwise, naming it)."""
    route = request.scope.get("route")
    where = getattr(route, "path", request.url.path)
    known = GLOBAL_PARAMETERS | _query_parameters(getattr(route, "dependant", None))
    single_values(request.query_params.multi_items(), known, where=where)


router = APIRouter(prefix="/api", tags=["Portfolio resources"], dependencies=[Depends(one_value_each)])
ISO2 = re.compile(r"[A-Za-z]{2}")  # ASCII only: "ıt".upper() == "IT", and "ı" is no letter of a code

Notation = Annotated[str | None, Query(pattern=r"^(0[1-6]|[1-6]\.[1-9])$", description="e.g. 03")]
Sub = Annotated[str | None, Query(pattern=r"^[1-6]\.[1-9]$", description="a subcategory notation, e.g. 1.2")]
Country = Annotated[
    str | None, Query(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2 code (EU for EU level)")
]
Hashtag = Annotated[str | None, Query(max_length=80, description="a hashtag, with or without #")]
Text = Annotated[str | None, Query(max_length=200)]
Year = Annotated[int | None, Query(ge=1900, le=2100)]


def _catalogue(runtime: Runtime) -> Catalogue:
    if runtime.catalogue is None:
        raise HTTPProblem(503, "Not ready", "the server is still loading the dataset", {"Retry-After": "1"})
    return runtime.catalogue


def _filters(
    category: str | None,
    subcategory: str | None,
    hashtag: str | None,
    country: str | None,
    type_: str | None,
    year_from: int | None,
    year_to: int | None,
    q: str | None,
) -> Filters:
    if category and "." in category:
        raise HTTPProblem(400, "Invalid request parameter", "category: a category notation such as 03")
    return Filters(category, subcategory, hashtag, country, type_, year_from, year_to, q)


def _links(request: Request, runtime: Runtime, page: int, pages: int) -> dict[str, str]:
    base = (
        runtime.settings.public_base_url.rstrip("/") + request.url.path
        if runtime.settings.public_base_url
        else str(request.url.replace(query=""))
    )
    params = dict(request.query_params)
    links = []
    for relation, number in (("first", 1), ("prev", page - 1), ("next", page + 1), ("last", pages)):
        if 1 <= number <= pages and (relation in ("first", "last") or number != page):
            links.append(f'<{base}?{urlencode({**params, "page": number})}>; rel="{relation}"')
    return {"Link": ", ".join(links)} if links else {}


MATERIALS_DESCRIPTION = """Learning materials, filtered, searched, sorted and paginated.

With `q`: a full-text search over titles, card descriptions, type labels, key features, hashtags, and
the organisations, cities and countries the materials name (country groups count for each member
country). Words are stemmed ("webinars" finds what "webinar" finds), accents are ignored, each word
is also read as a prefix, and every word must occur. The list is ranked by BM25 (the title weighing
most) unless `sort` says otherwise; each item has a `score` (higher is better) and a `snippet`: HTML,
a passage of the material's text with its characters escaped and the matched words in `<mark>`.
If the query finds nothing and one of its words occurs nowhere, that word is corrected to the nearest
word of the index (at most two edits): the answer then lists what the corrected query finds and says
so in `did_you_mean` (the corrected query)."""


@router.get(
    "/materials", summary="Learning materials: filter, search, sort, paginate", description=MATERIALS_DESCRIPTION
)
async def materials(
    request: Request,
    runtime: RuntimeDep,
    category: Notation = None,
    subcategory: Sub = None,
    hashtag: Hashtag = None,
    country: Country = None,
    type: Text = None,
    year_from: Year = None,
    year_to: Year = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="free text over titles, descriptions, type labels, key features, hashtags, organisations, "
            "cities and countries: stemmed, ranked, typos corrected when nothing is found",
        ),
    ] = None,
    sort: Annotated[
        Literal["title", "-title", "year", "-year", "relevance"] | None,
        Query(description="relevance (the default with q), title, year (oldest first) or -year (newest first)"),
    ] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    catalogue = _catalogue(runtime)
    filters = _filters(category, subcategory, hashtag, country, type, year_from, year_to, q)

    def select() -> tuple[Selection, list]:
        found = catalogue.query(filters)
        return found, catalogue.sort(found.entries, sort or ("relevance" if found.scores else "title"), found.scores)

    selection, ordered = await runtime.cpu.run(select)  # searching is CPU work: off the event loop
    scores = selection.scores
    pages = max(1, math.ceil(len(ordered) / per_page))

    async def produce() -> object:
        start = (page - 1) * per_page
        shown = ordered[start : start + per_page]
        snippets = await runtime.cpu.run(catalogue.snippets, selection.words, shown) if selection.words else {}
        items = [
            e.summary() | ({"score": scores[e.iri], "snippet": snippets.get(e.iri, "")} if scores else {})
            for e in shown
        ]
        corrected = {"did_you_mean": selection.did_you_mean} if selection.did_you_mean else {}
        return {"total": len(ordered), "page": page, "per_page": per_page, "pages": pages, **corrected, "items": items}

    def linked(payload: dict) -> dict:
        return _page(request, runtime, payload, jsonld.MATERIAL_SUMMARY)

    headers = {"X-Total-Count": str(len(ordered)), **_links(request, runtime, page, pages)}
    return await respond(request, runtime, produce, linked=linked, headers=headers)


def _page(request: Request, runtime: Runtime, payload: dict, shape: jsonld.Shape) -> dict:
    """A page of a list as a hydra:Collection (the whole filtered list) with its hydra:PartialCollectionView."""
    params = {k: v for k, v in request.query_params.items() if k not in ("format", "page", "per_page")}
    page, pages, per_page = payload["page"], payload["pages"], payload["per_page"]

    def at(number: int) -> str:
        return public_iri(request, runtime, {**params, "page": number, "per_page": per_page})

    view = {"@id": at(page), "@type": "hydra:PartialCollectionView", "first": at(1), "last": at(pages)}
    if page > 1:
        view["previous"] = at(min(page - 1, pages))
    if page < pages:
        view["next"] = at(page + 1)
    return jsonld.collection(
        runtime.ns, public_iri(request, runtime, params), shape, payload["items"], total=payload["total"], view=view
    )


@router.get("/materials/facets", summary="Facet counts of a filtered material list")
async def material_facets(
    request: Request,
    runtime: RuntimeDep,
    category: Notation = None,
    subcategory: Sub = None,
    hashtag: Hashtag = None,
    country: Country = None,
    type: Text = None,
    year_from: Year = None,
    year_to: Year = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="free text, searched as /api/materials searches it (typos corrected)"),
    ] = None,
) -> Response:
    catalogue = _catalogue(runtime)
    entries, _ = catalogue.select(_filters(category, subcategory, hashtag, country, type, year_from, year_to, q))

    async def produce() -> object:
        return {"total": len(entries), "facets": catalogue.facets(entries)}

    def linked(payload: dict) -> dict:
        params = {k: v for k, v in request.query_params.items() if k != "format"}
        listing = public_iri(request, runtime, params).replace("/materials/facets", "/materials", 1)
        return jsonld.facets(runtime.ns, public_iri(request, runtime), listing, payload["total"], payload["facets"])

    return await respond(request, runtime, produce, linked=linked)


@router.get("/materials/{material_id}", summary="One material with all its cards side by side, and related materials")
async def material(request: Request, runtime: RuntimeDep, material_id: str) -> Response:
    entry = _catalogue(runtime).by_id.get(material_id)
    if entry is None:
        raise HTTPProblem(404, "Not found", f"there is no material {material_id!r}")

    async def produce() -> object:
        cards = await runtime.rows("material_cards", {"material": entry.iri})
        related = await runtime.rows("related_materials", {"material": entry.iri})
        return {**entry.summary(), "hashtags": sorted(entry.hashtags), "cards": cards, "related": related}

    return await respond(
        request, runtime, produce, linked=lambda payload: jsonld.resource(runtime.ns, jsonld.MATERIAL, payload)
    )


@router.get("/categories", summary="Core challenges with their subcategories")
async def categories(request: Request, runtime: RuntimeDep) -> Response:
    async def produce() -> object:
        grouped: dict[str, dict] = {}
        for row in await runtime.rows("categories"):
            category = grouped.setdefault(
                field_text(row, "category"),
                {"notation": row["category"], "title": row["category_title"], "subcategories": []},
            )
            category["subcategories"].append(
                {
                    "notation": row["subcategory"],
                    "title": row["subcategory_title"],
                    "cards": row["cards"],
                    "placeholders": row["placeholders"],
                }
            )
        return list(grouped.values())

    return await respond(request, runtime, produce, linked=_members(request, runtime, jsonld.CATEGORY))


def _members(request: Request, runtime: Runtime, shape: jsonld.Shape) -> Callable[[list], dict]:
    """A list answer read as a hydra:Collection of nodes of `shape`, named by the request's URL."""
    return lambda items: jsonld.collection(runtime.ns, public_iri(request, runtime), shape, items)


LISTINGS = {  # path → (named query, summary): routes that serve one named query's rows as they are
    "/hashtags": ("hashtags", "Hashtags with usage counts and whether the Hashtag Index lists them"),
    "/countries": ("countries", "Countries with material counts"),
    "/organisations": ("organisations", "Organisations with their materials and platform roles"),
    "/cities": ("cities", "Cities named in the national platform profiles"),
}


def _listing(query: str) -> Callable[[Request, Runtime], Awaitable[Response]]:
    async def endpoint(request: Request, runtime: RuntimeDep) -> Response:
        async def produce() -> object:
            return await runtime.rows(query)

        return await respond(request, runtime, produce, linked=_members(request, runtime, jsonld.ROWS[query]))

    endpoint.__name__ = query
    return endpoint


for _path, (_query, _summary) in LISTINGS.items():
    router.add_api_route(_path, _listing(_query), methods=["GET"], summary=_summary)


@router.get("/countries/{code}", summary="A country's materials and its national platform profile")
async def country(request: Request, runtime: RuntimeDep, code: str) -> Response:
    if not ISO2.fullmatch(code):
        raise HTTPProblem(
            404, "Not found", f"there is no country with the code {code!r} (a code is two ASCII letters, such as AT)"
        )
    code = code.upper()

    async def produce() -> object:
        known = {row["code"]: row for row in await runtime.rows("countries")}
        if code not in known:
            raise HTTPProblem(404, "Not found", f"there is no country with the code {code!r}")
        materials = await runtime.rows("materials_in_country", {"country": code})
        profile = await runtime.rows("platform_profile", {"country": code})
        return {
            **known[code],
            "materials": [
                {"material": m["material"], "title": m["title"], "counted_through": m.get("counted_through")}
                for m in materials
            ],
            "platform_profile": profile[0] if profile else None,
        }

    return await respond(
        request, runtime, produce, linked=lambda payload: jsonld.resource(runtime.ns, jsonld.COUNTRY_DETAIL, payload)
    )


@router.get("/organisations/{organisation_id}", summary="One organisation's materials and platforms")
async def organisation(request: Request, runtime: RuntimeDep, organisation_id: str) -> Response:
    iri = f"{runtime.ns.id}org/{organisation_id}"

    async def produce() -> object:
        listing = {row["organisation"]: row for row in await runtime.rows("organisations")}
        if iri not in listing:
            raise HTTPProblem(404, "Not found", f"there is no organisation {organisation_id!r}")
        rows = await runtime.rows("organisation", {"organisation": iri})
        return {
            **listing[iri],
            "materials": [{"material": r["target"], "title": r["label"]} for r in rows if r["kind"] == "material"],
            "platforms": [
                {"platform": r["target"], "name": r["label"], "role": r["role"]}
                for r in rows
                if r["kind"] == "platform"
            ],
        }

    return await respond(
        request,
        runtime,
        produce,
        linked=lambda payload: jsonld.resource(runtime.ns, jsonld.ORGANISATION_DETAIL, payload),
    )


@router.get("/personas", summary="Personas with their needs")
async def personas(request: Request, runtime: RuntimeDep) -> Response:
    async def produce() -> object:
        grouped: dict[str, dict] = {}
        for row in await runtime.rows("personas"):
            persona = grouped.setdefault(
                field_text(row, "persona"),
                {"persona": row["persona"], "name": row["name"], "description": row["description"], "needs": []},
            )
            persona["needs"].append({"text": row["need"], "quoted": row["quoted"]})
        return list(grouped.values())

    return await respond(request, runtime, produce, linked=_members(request, runtime, jsonld.PERSONA))
