"""Server-rendered pages for people: home, search with facets, hashtags, reuse, resources, ontology."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.plumbing.errors import HTTPProblem
from api.plumbing.runtime import Runtime, RuntimeDep, field_int, field_text
from api.views.kinds.shared import linked_rows
from api.views.render import html, local, not_found, render
from kg.search.catalogue import Catalogue, Filters

router = APIRouter(include_in_schema=False)


def _catalogue(runtime: Runtime) -> Catalogue:
    if runtime.catalogue is None:
        raise HTTPProblem(503, "Not ready", "the server is still loading the dataset", {"Retry-After": "1"})
    return runtime.catalogue


@router.get("/")
async def home(request: Request, runtime: RuntimeDep) -> Response:
    categories: dict[str, dict] = {}
    for row in await runtime.rows("categories"):
        category = categories.setdefault(
            field_text(row, "category"),
            {"notation": row["category"], "title": row["category_title"], "subcategories": []},
        )
        category["subcategories"].append(row)
    for category in categories.values():
        category["cards"] = sum(s["cards"] for s in category["subcategories"])
    catalogue = runtime.catalogue
    counts = {"materials": len(catalogue.materials) if catalogue else 0, "triples": sum(runtime.graphs.values())}
    return html(
        request, runtime, render("home.html", request, runtime, categories=list(categories.values()), counts=counts)
    )


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
) -> Response:
    catalogue = _catalogue(runtime)
    filters = Filters(category, subcategory, hashtag, country, type, year, year, q)
    entries, scores = catalogue.select(filters)
    ordered = catalogue.sort(entries, "relevance" if q else "title", scores)
    chosen = {
        k: v
        for k, v in {
            "q": q,
            "category": category,
            "subcategory": subcategory,
            "hashtag": hashtag,
            "country": country,
            "type": type,
            "year": year,
        }.items()
        if v
    }
    facets = catalogue.facets(entries)

    def link(**change: object) -> str:
        params = {k: v for k, v in {**chosen, **change}.items() if v not in (None, "")}
        return "/search?" + urlencode(params) if params else "/search"

    facet_links = {
        name: [
            (value, count, link(**{name: value}), chosen.get(name) == value)
            for value, count in list(values.items())[:25]
        ]
        for name, values in facets.items()
    }
    return html(
        request,
        runtime,
        render(
            "search.html",
            request,
            runtime,
            q=q or "",
            chosen=chosen,
            results=[e.summary() | {"path": local(runtime, e.iri)} for e in ordered],
            facets=facet_links,
            clear={k: link(**{k: None}) for k in chosen},
        ),
    )


@router.get("/hashtags")
async def hashtags(request: Request, runtime: RuntimeDep) -> Response:
    rows = await runtime.rows("hashtags")
    for row in rows:
        row["path"] = local(runtime, field_text(row, "hashtag"))
    indexed = sorted((r for r in rows if r["in_index"]), key=lambda r: field_text(r, "label").casefold())
    return html(request, runtime, render("hashtags.html", request, runtime, indexed=indexed, rows=rows))


@router.get("/reused")
async def reused(request: Request, runtime: RuntimeDep) -> Response:
    rows = await runtime.rows("materials_reused_across_categories")
    for row in rows:
        row["path"] = local(runtime, field_text(row, "material"))
    matrix_rows = await runtime.rows("countries_by_category")
    countries = sorted({field_text(r, "country") for r in matrix_rows})
    cells = {(r["country"], r["category"]): field_int(r, "materials") for r in matrix_rows}
    peak = max(cells.values(), default=1)
    return html(
        request,
        runtime,
        render(
            "reused.html",
            request,
            runtime,
            rows=rows,
            countries=countries,
            categories=["01", "02", "03", "04", "05", "06"],
            cells=cells,
            peak=peak,
        ),
    )


def examples(runtime: Runtime) -> list[dict[str, str]]:
    """The example questions: file name, the question (first comment line) and the query."""
    return [
        {"name": name, "title": text.splitlines()[0].lstrip("# ").strip(), "query": text}
        for name, text in runtime.registry.folder("examples").items()
    ]


@router.get("/editor")
async def editor(request: Request, runtime: RuntimeDep) -> Response:
    items = examples(runtime)
    payload = json.dumps(items, ensure_ascii=False).replace("</", "<\\/")
    return html(request, runtime, render("editor.html", request, runtime, examples=items, examples_json=payload))


@router.get("/countries")
async def countries(request: Request, runtime: RuntimeDep) -> Response:
    rows = sorted(await runtime.rows("countries"), key=lambda r: (-field_int(r, "materials"), field_text(r, "name")))
    return html(request, runtime, render("countries.html", request, runtime, rows=rows))


@router.get("/country/{code}")
async def country(request: Request, runtime: RuntimeDep, code: str) -> Response:
    rows = {row["code"]: row for row in await runtime.rows("countries")}
    by_alpha3 = {field_text(row, "country").rsplit("/", 1)[-1]: row for row in rows.values()}
    key = code.upper() if code.isascii() else code  # "ıt".upper() == "IT": only ASCII letters are codes
    record = rows.get(key) or by_alpha3.get(key)
    if record is None:
        return not_found(request, runtime, "text/html", f"/country/{code}")
    alpha2 = field_text(record, "code")
    country_iri = field_text(record, "country")
    catalogue = _catalogue(runtime)
    entries, _ = catalogue.select(Filters(country=alpha2))
    # the site's counting rule: a material printed for a group of countries ("CapaCITIES Core Countries")
    # counts for each member of the group, and the page says so
    grouped = {
        row["material"]: row
        for row in await linked_rows(runtime, "country_groups", country_iri)
        if row["material"] in catalogue.materials
    }
    own = {entry.iri for entry in entries}
    entries = list(entries) + [catalogue.materials[iri] for iri in grouped if iri not in own]
    names = {field_text(row, "category"): field_text(row, "category_title") for row in await runtime.rows("categories")}
    by_category: dict[str, list[dict]] = defaultdict(list)
    for entry in sorted(entries, key=lambda e: e.title.casefold()):
        group = grouped.get(entry.iri)
        for category in sorted(entry.categories):
            by_category[category].append(
                {
                    "title": entry.title,
                    "path": local(runtime, entry.iri),
                    "group": group["group_name"] if group else None,
                }
            )
    challenges = [
        {
            "notation": category,
            "name": names.get(category, category),
            "path": local(runtime, f"{runtime.ns.id}challenge/{category}"),
            "materials": items,
            "for_group": sum(1 for m in items if m["group"]),
        }
        for category, items in sorted(by_category.items())
    ]
    group_names = sorted({str(row["group_name"]) for row in grouped.values()})
    profile = (await runtime.rows("platform_profile", {"country": alpha2})) if record.get("has_profile") else []
    platforms = await linked_rows(runtime, "country_platform", country_iri)
    cities: dict[str, dict] = {}
    for row in await runtime.rows("cities"):
        if row["country"] == alpha2:
            city = cities.setdefault(
                field_text(row, "city"),
                {
                    "name": row["name"],
                    "path": local(runtime, field_text(row, "city")),
                    "roles": [],
                    "mission": row["mission_city"],
                },
            )
            if row.get("role") and row["role"] not in city["roles"]:
                city["roles"].append(row["role"])
    return html(
        request,
        runtime,
        render(
            "country.html",
            request,
            runtime,
            country=record,
            challenges=challenges,
            total=len(entries),
            for_groups=len(grouped),
            group_names=group_names,
            profile=profile[0] if profile else None,
            profile_path=local(runtime, field_text(profile[0], "profile")) if profile else "",
            platforms=[{"name": p["platform_name"], "path": local(runtime, p["platform"])} for p in platforms],
            cities=sorted(cities.values(), key=lambda c: str(c["name"]).casefold()),
        ),
    )
