"""Server-rendered pages for people: home, search with facets, hashtags, reuse, resources, ontology."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from api.errors import HTTPProblem, problem
from api.negotiation import cached_response
from api.runtime import Runtime, RuntimeDep
from kg.catalogue import Catalogue, Filters

router = APIRouter(include_in_schema=False)
TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def _emphasis(text: str | None) -> Markup:
    """The extraction's **bold** and *italic* marks as HTML, everything else escaped."""
    escaped = str(escape(text or ""))
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return Markup(re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", escaped))


TEMPLATES.filters["emphasis"] = _emphasis
LABELS = ("http://www.w3.org/2004/02/skos/core#prefLabel", "http://purl.org/dc/terms/title",
          "http://schema.org/name", "http://www.w3.org/2000/01/rdf-schema#label")
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
NAMESPACES = {
    "http://www.w3.org/2004/02/skos/core#": "skos:", "http://purl.org/dc/terms/": "dcterms:",
    "http://schema.org/": "schema:", "http://www.w3.org/ns/org#": "org:", "http://www.w3.org/ns/prov#": "prov:",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf:", "http://www.w3.org/2000/01/rdf-schema#": "rdfs:",
    "http://www.w3.org/2002/07/owl#": "owl:", "http://xmlns.com/foaf/0.1/": "foaf:",
    "http://www.w3.org/ns/dcat#": "dcat:",
}


def render(name: str, request: Request, runtime: Runtime, **context: object) -> str:
    return TEMPLATES.get_template(name).render(request=request, version=runtime.version, **context)


def local(runtime: Runtime, iri: str) -> str:
    """This server's path for an IRI under the deployment base; other IRIs stay as they are."""
    return "/" + iri[len(runtime.ns.base):] if iri.startswith(runtime.ns.base) else iri


def curie(runtime: Runtime, iri: str) -> str:
    namespaces = {str(runtime.ns.cap): "cap:", str(runtime.ns.id): "id:", **NAMESPACES}
    for namespace, prefix in namespaces.items():
        if iri.startswith(namespace):
            return prefix + iri[len(namespace):]
    return iri


def _catalogue(runtime: Runtime) -> Catalogue:
    if runtime.catalogue is None:
        raise HTTPProblem(503, "Not ready", "the server is still loading the dataset", {"Retry-After": "1"})
    return runtime.catalogue


def html(request: Request, runtime: Runtime, body: str) -> Response:
    return cached_response(request, body.encode(), "text/html; charset=utf-8", runtime.version)


def not_found(request: Request, runtime: Runtime, media_type: str, path: str) -> Response:
    if media_type == "text/html":
        body = render("not_found.html", request, runtime, path=path)
        return HTMLResponse(body, status_code=404)
    return problem(404, "Not found", f"nothing is known about {path}")


@router.get("/")
async def home(request: Request, runtime: RuntimeDep) -> Response:
    categories: dict[str, dict] = {}
    for row in await runtime.rows("categories"):
        category = categories.setdefault(row["category"], {"notation": row["category"], "title": row["category_title"],
                                                           "subcategories": []})
        category["subcategories"].append(row)
    for category in categories.values():
        category["cards"] = sum(s["cards"] for s in category["subcategories"])
    catalogue = runtime.catalogue
    counts = {"materials": len(catalogue.materials) if catalogue else 0,
              "triples": sum(runtime.graphs.values())}
    return html(request, runtime, render("home.html", request, runtime, categories=list(categories.values()),
                                         counts=counts))


@router.get("/search")
async def search(request: Request, runtime: RuntimeDep,
                 q: Annotated[str | None, Query(max_length=200)] = None,
                 category: Annotated[str | None, Query(max_length=4)] = None,
                 subcategory: Annotated[str | None, Query(max_length=4)] = None,
                 hashtag: Annotated[str | None, Query(max_length=80)] = None,
                 country: Annotated[str | None, Query(max_length=3)] = None,
                 type: Annotated[str | None, Query(max_length=120)] = None,  # noqa: A002
                 year: Annotated[int | None, Query(ge=1900, le=2100)] = None) -> Response:
    catalogue = _catalogue(runtime)
    filters = Filters(category, subcategory, hashtag, country, type, year, year, q)
    entries, scores = catalogue.select(filters)
    ordered = catalogue.sort(entries, "relevance" if q else "title", scores)
    chosen = {k: v for k, v in {"q": q, "category": category, "subcategory": subcategory, "hashtag": hashtag,
                                "country": country, "type": type, "year": year}.items() if v}
    facets = catalogue.facets(entries)

    def link(**change: object) -> str:
        params = {k: v for k, v in {**chosen, **change}.items() if v not in (None, "")}
        return "/search?" + urlencode(params) if params else "/search"

    facet_links = {name: [(value, count, link(**{name: value}), chosen.get(name) == value)
                          for value, count in list(values.items())[:25]] for name, values in facets.items()}
    return html(request, runtime, render("search.html", request, runtime, q=q or "", chosen=chosen,
                                         results=[e.summary() | {"path": local(runtime, e.iri)} for e in ordered],
                                         facets=facet_links, clear={k: link(**{k: None}) for k in chosen}))


@router.get("/hashtags")
async def hashtags(request: Request, runtime: RuntimeDep) -> Response:
    rows = await runtime.rows("hashtags")
    for row in rows:
        row["path"] = local(runtime, row["hashtag"])
    indexed = sorted((r for r in rows if r["in_index"]), key=lambda r: r["label"].casefold())
    return html(request, runtime, render("hashtags.html", request, runtime, indexed=indexed, rows=rows))


@router.get("/reused")
async def reused(request: Request, runtime: RuntimeDep) -> Response:
    rows = await runtime.rows("materials_reused_across_categories")
    for row in rows:
        row["path"] = local(runtime, row["material"])
    matrix_rows = await runtime.rows("countries_by_category")
    countries = sorted({r["country"] for r in matrix_rows})
    cells = {(r["country"], r["category"]): r["materials"] for r in matrix_rows}
    peak = max(cells.values(), default=1)
    return html(request, runtime, render("reused.html", request, runtime, rows=rows, countries=countries,
                                         categories=["01", "02", "03", "04", "05", "06"], cells=cells, peak=peak))


EXAMPLES = Path(__file__).resolve().parent.parent / "kg" / "queries" / "examples"


def examples() -> list[dict[str, str]]:
    """The example questions: file name, the question (first comment line) and the query."""
    items = []
    for path in sorted(EXAMPLES.glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        items.append({"name": path.stem, "title": text.splitlines()[0].lstrip("# ").strip(), "query": text})
    return items


@router.get("/editor")
async def editor(request: Request, runtime: RuntimeDep) -> Response:
    items = [{**item, "query": runtime.ns.rebase(item["query"])} for item in examples()]
    payload = json.dumps(items, ensure_ascii=False).replace("</", "<\\/")
    return html(request, runtime, render("editor.html", request, runtime, examples=items, examples_json=payload))


@router.get("/countries")
async def countries(request: Request, runtime: RuntimeDep) -> Response:
    rows = sorted(await runtime.rows("countries"), key=lambda r: (-r["materials"], r["name"]))
    return html(request, runtime, render("countries.html", request, runtime, rows=rows))


@router.get("/country/{code}")
async def country(request: Request, runtime: RuntimeDep, code: str) -> Response:
    rows = {row["code"]: row for row in await runtime.rows("countries")}
    by_alpha3 = {row["country"].rsplit("/", 1)[-1]: row for row in rows.values()}
    record = rows.get(code.upper()) or by_alpha3.get(code.upper())
    if record is None:
        return not_found(request, runtime, "text/html", f"/country/{code}")
    alpha2 = record["code"]
    entries, _ = _catalogue(runtime).select(Filters(country=alpha2))
    by_category: dict[str, list[dict]] = defaultdict(list)
    for entry in sorted(entries, key=lambda e: e.title.casefold()):
        for category in sorted(entry.categories):
            by_category[category].append({"title": entry.title, "path": local(runtime, entry.iri)})
    profile = (await runtime.rows("platform_profile", {"country": alpha2})) if record.get("has_profile") else []
    cities = [c | {"path": local(runtime, c["city"])} for c in await runtime.rows("cities") if c["country"] == alpha2]
    return html(request, runtime, render(
        "country.html", request, runtime, country=record, by_category=sorted(by_category.items()),
        profile=profile[0] if profile else None, profile_path=local(runtime, profile[0]["profile"]) if profile else "",
        cities=cities))


async def resource_page(request: Request, runtime: Runtime, iri: str, rows: list[list]) -> str:
    labels: dict[str, str] = {}
    outgoing: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    incoming: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    types = []
    for subject, predicate, value in rows:
        if predicate[1] in LABELS and value[0] == "literal" and (value[3] in (None, "en") or subject[1] not in labels):
            labels.setdefault(subject[1], value[1])
    for subject, predicate, value in rows:
        if subject[1] == iri:
            if predicate[1] == RDF_TYPE:
                types.append(value[1])
            outgoing[predicate[1]].append(_value(runtime, value, labels))
        elif value[1] == iri:
            incoming[predicate[1]].append(_value(runtime, subject, labels))
    title = labels.get(iri, iri.rsplit("/", 1)[-1])
    extra: dict[str, object] = {}
    cap = str(runtime.ns.cap)
    if cap + "LearningMaterial" in types:
        cards = await runtime.rows("material_cards", {"material": iri})
        for card in cards:
            card["path"] = local(runtime, card["card"])
        related = await runtime.rows("related_materials", {"material": iri})
        for row in related:
            row["path"] = local(runtime, row["related"])
        extra = {"cards": cards, "related": related[:8]}
    if cap + "ProblemStatement" in types:
        details: dict[str, list] = defaultdict(list)
        for row in await _linked_rows(runtime, "subcategory", iri):
            details[row["kind"]].append(row | {"path": local(runtime, row["link"]) if row.get("link") else None})
        extra = {"details": details}
    if cap + "Persona" in types:
        needs: dict[str, dict] = {}
        for row in await _linked_rows(runtime, "persona", iri):
            need = needs.setdefault(row["need"], {"text": row["text"], "quoted": row["quoted"], "answers": []})
            if row.get("sub"):
                need["answers"].append({"path": local(runtime, row["sub"]), "label": f"{row['notation']} {row['title']}"})
        extra = {"needs": list(needs.values())}
    properties = sorted(((curie(runtime, p), values) for p, values in outgoing.items()), key=lambda item: item[0])
    inverse = sorted(((curie(runtime, p), values) for p, values in incoming.items()), key=lambda item: item[0])
    return render("resource.html", request, runtime, iri=iri, title=title,
                  types=[(curie(runtime, t), local(runtime, t)) for t in types], properties=properties,
                  incoming=inverse, **extra)


async def _linked_rows(runtime: Runtime, name: str, iri: str) -> list[dict]:
    """Rows of an internal query in kg/queries/linked/, its ?s bound to the resource."""
    import pyoxigraph as ox

    from api.linked_data import LINKED_QUERIES
    from kg.engine import QueryJob, encode_term

    text = runtime.ns.rebase((LINKED_QUERIES / f"{name}.rq").read_text(encoding="utf-8"))
    outcome = await runtime.engine.run(QueryJob(text, select_format="rows", max_rows=100_000,
                                                substitutions={"s": encode_term(ox.NamedNode(iri))}))
    return [{var: (term[1] if term else None) for var, term in zip(outcome.variables, row, strict=True)}
            for row in outcome.rows or []]


EU_COUNTRY = "http://publications.europa.eu/resource/authority/country/"


def _value(runtime: Runtime, term: tuple, labels: dict[str, str]) -> tuple[str, str | None]:
    kind, value, _, language = term
    if kind == "iri":
        href = f"/country/{value[len(EU_COUNTRY):]}" if value.startswith(EU_COUNTRY) else local(runtime, value)
        return labels.get(value, curie(runtime, value)), href
    return (value + (f" @{language}" if language and language != "en" else "")), None
