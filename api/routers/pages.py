"""Server-rendered pages for people: home, hashtags, reuse, resources, ontology (search: api.routers.search_page)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from itertools import combinations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from api.plumbing.errors import HTTPProblem
from api.plumbing.runtime import Runtime, RuntimeDep, field_int, field_text
from api.views import charts
from api.views.kinds.shared import linked_rows
from api.views.render import html, local, not_found, render
from kg.search.catalogue import Catalogue, Filters

router = APIRouter(include_in_schema=False)


def _catalogue(runtime: Runtime) -> Catalogue:
    if runtime.catalogue is None:
        raise HTTPProblem(503, "Not ready", "the server is still loading the dataset", {"Retry-After": "1"})
    return runtime.catalogue


def _group_note(rows: list[dict]) -> str:
    """Words for the country-group rule, from the largest via_group count (1 material in this edition)."""
    n = max((field_int(r, "via_group") for r in rows), default=0)
    if not n:
        return ""
    return "A material printed for the CapaCITIES Core Countries counts for each of the 15: the counts " + (
        "include 1 such material." if n == 1 else f"include {n} such materials."
    )


def _challenges(rows: list[dict], per_category: dict[str, int]) -> list[dict]:
    categories: dict[str, dict] = {}
    for row in rows:
        category = categories.setdefault(
            field_text(row, "category"),
            {"notation": row["category"], "title": row["category_title"], "subcategories": []},
        )
        category["subcategories"].append(row)
    for notation, category in categories.items():
        category["cards"] = sum(field_int(s, "cards") for s in category["subcategories"])
        category["materials"] = per_category.get(notation, 0)
    return list(categories.values())


def _overview(runtime: Runtime, challenges: list[dict]) -> tuple[Markup, Markup]:
    """The charts of materials per core challenge and per year."""
    entries = list(runtime.catalogue.materials.values()) if runtime.catalogue else []
    years = Catalogue.facets(entries)["year"]
    undated = sum(1 for e in entries if not e.years)
    by_challenge = charts.bar_chart(
        "chart-challenges",
        [charts.Bar(c["title"], c["materials"], f"/id/challenge/{c['notation']}") for c in challenges],
        "Learning materials per core challenge (a material printed under several challenges counts for each)",
        ("Core challenge", "Materials"),
    )
    by_year = charts.bar_chart(
        "chart-years",
        [charts.Bar(year, count, f"/search?year={year}") for year, count in sorted(years.items())],
        f"Learning materials per year of publication ({undated} materials give no year)",
        ("Year", "Materials"),
    )
    return by_challenge, by_year


async def _country_rows(runtime: Runtime) -> list[dict]:
    return sorted(await runtime.rows("countries"), key=lambda r: (-field_int(r, "materials"), field_text(r, "name")))


def _map(rows: list[dict], ident: str) -> Markup:
    eu = next((r for r in rows if r["code"] == "EU"), None)
    note = _group_note(rows)
    if eu:
        note += f" {field_int(eu, 'materials')} materials concern the European Union as a whole (not drawn)."
    return charts.country_map(ident, [r for r in rows if r["code"] != "EU"], "Learning materials per country", note)


@router.get("/")
async def home(request: Request, runtime: RuntimeDep) -> Response:
    entries = list(runtime.catalogue.materials.values()) if runtime.catalogue else []
    per_category = Catalogue.facets(entries)["category"]
    challenges = _challenges(await runtime.rows("categories"), per_category)
    by_challenge, by_year = _overview(runtime, challenges)
    rows = await _country_rows(runtime)
    tags = sorted(
        await runtime.rows("hashtags"), key=lambda r: (-field_int(r, "subcategories"), field_text(r, "label"))
    )
    top_tags = [t | {"path": local(runtime, field_text(t, "hashtag"))} for t in tags[:12]]
    # one row per need: one card per persona
    by_persona = {field_text(p, "persona"): p for p in reversed(await runtime.rows("personas"))}
    personas = [p | {"path": local(runtime, iri)} for iri, p in reversed(by_persona.items())]
    reused = await runtime.rows("materials_reused_across_categories")
    return html(
        request,
        runtime,
        render(
            "home.html",
            request,
            runtime,
            challenges=challenges,
            materials=len(entries),
            country_map=_map(rows, "home-map"),
            countries=len([r for r in rows if field_int(r, "materials") and r["code"] != "EU"]),
            by_challenge=by_challenge,
            by_year=by_year,
            tags=top_tags,
            personas=personas,
            reused=len(reused),
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
    titles = {field_text(r, "category"): field_text(r, "category_title") for r in await runtime.rows("categories")}
    rows = await runtime.rows("materials_reused_across_categories")
    for row in rows:
        row["path"] = local(runtime, field_text(row, "material"))
        row["challenges"] = [(c, titles.get(c, c)) for c in row["categories"]]
    shared: Counter[tuple[str, str]] = Counter()  # materials printed under both challenges of a pair
    for row in rows:
        for first, second in combinations(sorted(set(row["categories"])), 2):
            shared[first, second] += 1
            shared[second, first] += 1
    matrix_rows = await runtime.rows("countries_by_category")
    names = {field_text(r, "code"): field_text(r, "name") for r in await runtime.rows("countries")}
    countries = sorted({field_text(r, "country") for r in matrix_rows}, key=lambda c: names.get(c, c))
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
            countries=[(c, names.get(c, c)) for c in countries],
            categories=sorted(titles.items()),
            cells=cells,
            shared=shared,
            peak=peak,
            steps=[(n, charts.colour(n)) for n in (1, 2, 4, 6, 9)],
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
    rows = await _country_rows(runtime)
    return html(
        request,
        runtime,
        render(
            "countries.html",
            request,
            runtime,
            rows=rows,
            country_map=_map(rows, "countries-map"),
            note=_group_note(rows),
        ),
    )


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
