"""The REST API's vocabulary (api/vocabulary.ttl) at its namespace document: <base>api, served at /api.

`api:` terms name what /api's JSON-LD says that neither the ontology nor a standard vocabulary does
(docs/api-jsonld.md). /api answers a page for people, Turtle or JSON-LD for machines, and the JSON-LD
to clients that ask for JSON (format=html|turtle|jsonld|json overrides Accept).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from rdflib import RDF, RDFS, Graph, URIRef

from api.plumbing.negotiation import cached_response, choose
from api.plumbing.runtime import RuntimeDep
from api.views.render import render
from kg.namespaces import ProjectNamespaces
from kg.sparql.registry import GLOBAL_PARAMETERS, single_values

VOCABULARY_FILE = Path(__file__).resolve().parent.parent / "vocabulary.ttl"
OFFERS = ["text/html", "text/turtle", "application/ld+json", "application/json"]
ALIASES = {
    "html": "text/html",
    "turtle": "text/turtle",
    "ttl": "text/turtle",
    "jsonld": "application/ld+json",
    "json": "application/json",
}

router = APIRouter(tags=["API vocabulary"])


@lru_cache(maxsize=4)
def vocabulary(ns: ProjectNamespaces) -> Graph:
    """The vocabulary under this deployment's base."""
    graph = Graph()
    graph.parse(data=ns.rebase(VOCABULARY_FILE.read_text(encoding="utf-8")), format="turtle")
    return graph


@lru_cache(maxsize=4)
def _serialized(ns: ProjectNamespaces, media_type: str) -> bytes:
    graph = vocabulary(ns)
    if media_type == "text/turtle":
        return graph.serialize(format="turtle").encode()
    prefixes = ns.prefixes()
    context = {
        "api": str(ns.api),
        "rdfs": prefixes["rdfs"],
        "rdf": prefixes["rdf"],
        "xsd": prefixes["xsd"],
        "cap": str(ns.cap),
        "dcterms": prefixes["dcterms"],
        "owl": prefixes["owl"],
        "hydra": "http://www.w3.org/ns/hydra/core#",
        "euvoc": prefixes["euvoc"],
        "vann": "http://purl.org/vocab/vann/",
    }
    return graph.serialize(format="json-ld", context=context, auto_compact=True).encode()


def _terms(graph: Graph, kind: URIRef, ns: ProjectNamespaces) -> list[dict[str, str]]:
    def short(node: object) -> str:
        for prefix, iri in {"api": str(ns.api), **ns.prefixes(), "hydra": "http://www.w3.org/ns/hydra/core#"}.items():
            if str(node).startswith(iri):
                return f"{prefix}:{str(node)[len(iri) :]}"
        return str(node)

    return sorted(
        (
            {
                "name": short(term),
                "anchor": str(term).rsplit("#", 1)[-1],
                "label": str(graph.value(term, RDFS.label) or ""),
                "comment": str(graph.value(term, RDFS.comment) or ""),
                "domain": short(graph.value(term, RDFS.domain)) if graph.value(term, RDFS.domain) else "",
                "range": short(graph.value(term, RDFS.range)) if graph.value(term, RDFS.range) else "",
            }
            for term in graph.subjects(RDF.type, kind)
        ),
        key=lambda t: t["name"].casefold(),
    )


def _entry_points(request: Request) -> list[dict[str, object]]:
    """The API's GET operations with their summaries, as its OpenAPI description lists them."""
    paths = request.app.openapi().get("paths", {})
    return [
        {"path": path, "summary": operations["get"].get("summary", ""), "link": "{" not in path}
        for path, operations in sorted(paths.items())
        if path.startswith("/api/") and "get" in operations
    ]


@router.get("/api", summary="The API's vocabulary (api:): a page for people, Turtle or JSON-LD for machines")
async def api_vocabulary(request: Request, runtime: RuntimeDep) -> Response:
    single_values(request.query_params.multi_items(), GLOBAL_PARAMETERS, where="/api")
    media_type = choose(request, OFFERS, override=request.query_params.get("format"), aliases=ALIASES)
    headers = {"Vary": "Accept"}
    if media_type == "text/html":
        graph = vocabulary(runtime.ns)
        body = render(
            "vocabulary.html",
            request,
            runtime,
            namespace=str(runtime.ns.api),
            entry_points=_entry_points(request),
            classes=_terms(graph, RDFS.Class, runtime.ns),
            properties=_terms(graph, RDF.Property, runtime.ns),
        ).encode()
        return cached_response(request, body, "text/html; charset=utf-8", runtime.version, headers=headers)
    body = _serialized(runtime.ns, "text/turtle" if media_type == "text/turtle" else "application/ld+json")
    charset = "; charset=utf-8" if media_type == "text/turtle" else ""
    return cached_response(request, body, media_type + charset, runtime.version, headers=headers)
