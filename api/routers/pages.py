"""Server-rendered pages for people: home, hashtags, reuse, resources, ontology (search: api.routers.search_page)."""

from __future__ import annotations

import json
from collections import defaultdict

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.plumbing.errors import HTTPProblem
from api.plumbing.runtime import Runtime, RuntimeDep, field_int, field_text
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
    entries, _ = _catalogue(runtime).select(Filters(country=alpha2))
    by_category: dict[str, list[dict]] = defaultdict(list)
    for entry in sorted(entries, key=lambda e: e.title.casefold()):
        for category in sorted(entry.categories):
            by_category[category].append({"title": entry.title, "path": local(runtime, entry.iri)})
    profile = (await runtime.rows("platform_profile", {"country": alpha2})) if record.get("has_profile") else []
    cities = [
        c | {"path": local(runtime, field_text(c, "city"))}
        for c in await runtime.rows("cities")
        if c["country"] == alpha2
    ]
    return html(
        request,
        runtime,
        render(
            "country.html",
            request,
            runtime,
            country=record,
            by_category=sorted(by_category.items()),
            profile=profile[0] if profile else None,
            profile_path=local(runtime, field_text(profile[0], "profile")) if profile else "",
            cities=cities,
        ),
    )
