"""The SPARQL 1.1 Protocol endpoint at /sparql: read-only, budgeted, with a service description."""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.plumbing.errors import HTTPProblem
from api.plumbing.negotiation import choose, etag_for, not_modified, parse_accept
from api.plumbing.runtime import Runtime, RuntimeDep
from kg.engines.protocol import Explanation, QueryJob
from kg.errors import KGError, QueryRefused, QuerySyntaxError
from kg.sparql.guard import VERDICTS, check_query, recall_verdict
from kg.sparql.prefixes import Prefixed, declare_needed
from kg.sparql.results import GRAPH_FORMATS, GRAPH_NAMES, SELECT_FORMATS, SHORT_NAMES

router = APIRouter(tags=["SPARQL"])

SELECT_OFFERS = [
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
    "application/json",
    "application/xml",
    "text/plain",
]
GRAPH_OFFERS = [
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "application/n-quads",
    "application/trig",
    "text/n3",
    "text/plain",
]
# A client that asks a CONSTRUCT for a results format (or a SELECT for an RDF format) gets the nearest
# format of the query's form instead of a 406, as Fuseki and Virtuoso answer: no format we list is refused.
NEAREST = {
    "application/sparql-results+json": "application/ld+json",
    "application/json": "application/ld+json",
    "application/sparql-results+xml": "application/rdf+xml",
    "application/xml": "application/rdf+xml",
    "application/ld+json": "application/sparql-results+json",
    "application/rdf+xml": "application/sparql-results+xml",
}
# The guard's check is linear in the query's length but a query may be long: it runs here, off the event
# loop, two at a time at most (it holds the GIL while it runs: more threads would only crowd the loop out).
GUARD = ThreadPoolExecutor(2, thread_name_prefix="sparql-guard")


class QueryTooLarge(KGError):
    """A query text over KG_MAX_QUERY_BYTES: refused before anything reads it."""

    exit_code = 2
    http_status = 413
    title = "Query too large"


async def _parameters(request: Request) -> tuple[str | None, list[str], list[str], str | None]:
    """query, default-graph-uri, named-graph-uri and format from the URL and, for POST, the body."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():  # parsed once by Starlette, cached on the request
        params.setdefault(key, []).append(value)
    query: str | None = params["query"][0] if params.get("query") else None
    if request.method == "POST":
        content_type, _, options = request.headers.get("content-type", "").partition(";")
        content_type = content_type.strip().lower()
        charset = re.search(r"charset\s*=\s*\"?([\w-]+)", options, re.IGNORECASE)
        if charset and charset.group(1).lower().replace("-", "") != "utf8":
            raise HTTPProblem(415, "Unsupported media type", f"the body must be UTF-8, not {charset.group(1)}")
        body = await request.body()
        if content_type == "application/sparql-update":
            raise QueryRefused("this endpoint is read-only: SPARQL Update requests are not accepted", field="update")
        if content_type == "application/x-www-form-urlencoded":
            try:
                form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError as exc:
                raise HTTPProblem(400, "Invalid request body", "the form is not UTF-8") from exc
            if "update" in form:
                raise QueryRefused(
                    "this endpoint is read-only: SPARQL Update requests are not accepted", field="update"
                )
            for key, values in form.items():
                params.setdefault(key, []).extend(values)
            if form.get("query"):
                query = form["query"][0]
        elif content_type == "application/sparql-query":
            if query is not None:
                raise HTTPProblem(400, "Invalid SPARQL request", "a query was sent both in the URL and in the body")
            try:
                query = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise HTTPProblem(400, "Invalid request body", "the query is not UTF-8") from exc
        else:
            raise HTTPProblem(
                415,
                "Unsupported media type",
                "POST a query as application/sparql-query or application/x-www-form-urlencoded",
            )
    if "update" in params:
        raise QueryRefused("this endpoint is read-only: SPARQL Update requests are not accepted", field="update")
    if len(params.get("query", [])) > 1:
        raise HTTPProblem(400, "Invalid SPARQL request", "more than one query parameter")
    # format= (Virtuoso, SPARQLWrapper) or output= (Fuseki), in the URL or in the posted form
    formats = params.get("format", []) or params.get("output", [])
    return (
        query,
        params.get("default-graph-uri", []),
        params.get("named-graph-uri", []),
        formats[0] if formats else None,
    )


async def _answer(request: Request, runtime: RuntimeDep) -> Response:
    query, default_graphs, named_graphs, override = await _parameters(request)
    if query is None:
        return service_description(request, runtime, override)
    limit = runtime.settings.max_query_bytes
    if len(query) > limit or len(query.encode("utf-8", "surrogatepass")) > limit:
        raise QueryTooLarge(f"the query is over {limit} bytes (UTF-8), the most this endpoint accepts", field="query")
    allowed = set(runtime.graphs)
    for graph in (*default_graphs, *named_graphs):
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>\"{}|\\^`]*$", graph):
            raise HTTPProblem(400, "Invalid SPARQL request", f"{graph!r} is not an IRI")
    # Protocol graph parameters only name graphs of the store (an unknown name is an empty graph);
    # nothing is ever dereferenced. FROM clauses in the query text are held to the dataset's graphs.
    VERDICTS.resize(runtime.settings.guard_cache_bytes)
    dataset_given = bool(default_graphs or named_graphs)
    predeclared = runtime.ns.prefixes()  # a query may use any of them without declaring it (kg.sparql.prefixes)
    loop = asyncio.get_running_loop()
    shape = recall_verdict(query, allowed, dataset_given=dataset_given, predeclared=predeclared)  # a look-up
    if shape is None:
        check = partial(check_query, query, allowed, dataset_given=dataset_given, predeclared=predeclared)
        shape = await loop.run_in_executor(GUARD, check)
    prefixed = declare_needed(query, predeclared, shape.prefixes)  # the guard found the names: no second pass
    media_type = _result_type(request, shape.form in {"CONSTRUCT", "DESCRIBE"}, override)
    job = QueryJob(
        prefixed.text,
        select_format=SELECT_FORMATS.get(media_type, "json"),
        graph_format=media_type if media_type in GRAPH_FORMATS else "text/turtle",
        default_graphs=default_graphs or None,
        named_graphs=named_graphs or None,
        # the default graph is the union of the dataset's graphs unless the request or the query
        # (FROM / FROM NAMED) says which graphs to use
        union_default_graph=not (default_graphs or named_graphs or shape.has_dataset_clause),
        prefixes={p: str(n) for p, n in _prefixes(runtime).items()},
        base_iri=_endpoint_url(request, runtime),
    )
    charset = "; charset=utf-8" if media_type.startswith("text/") else ""
    if request.method == "GET":
        # GET answers depend only on the URL, the negotiated type and the dataset version
        # the base IRI (relative IRIs in the query resolve against it) may come from the Host header
        etag = etag_for(runtime.version, request.url.query, media_type, job.base_iri or "")
        caching = {"ETag": etag, "Cache-Control": "public, max-age=300", "Vary": "Accept"}
        if not_modified(request, etag):
            return Response(status_code=304, headers=caching)
    else:
        caching = {"Cache-Control": "no-store", "Vary": "Accept"}
    try:
        outcome = await runtime.engine.run(job)
    except QuerySyntaxError as exc:
        raise await _explained(runtime, query, prefixed, exc, predeclared) from None
    return Response(
        outcome.body, media_type=media_type + charset, headers={**caching, "X-Result-Count": str(outcome.count)}
    )


def _result_type(request: Request, graph_form: bool, override: str | None) -> str:
    """The media type of the answer: asked by format=/output= or Accept; a format of the other query form
    asked for is answered in the nearest format of this one (the form's default if none is near)."""
    offers, aliases = (GRAPH_OFFERS, GRAPH_NAMES) if graph_form else (SELECT_OFFERS, SHORT_NAMES)
    other_offers, other_aliases = (SELECT_OFFERS, SHORT_NAMES) if graph_form else (GRAPH_OFFERS, GRAPH_NAMES)
    try:
        return choose(request, offers, override=override, aliases=aliases)
    except HTTPProblem:
        if override:
            asked = [other_aliases.get(override.lower(), override.lower())]
        else:
            asked = [media for media, quality in parse_accept(request.headers.get("accept")) if quality > 0]
        listed = [media for media in asked if media in other_offers]
        if not listed:
            raise
        return NEAREST.get(listed[0], offers[0])


async def _explained(
    runtime: Runtime, query: str, prefixed: Prefixed, exc: QuerySyntaxError, prefixes: dict[str, str]
) -> KGError:
    """The parser's complaint about the text run, in words and at its line and column in the client's text.

    Worked out in the engine's worker processes: on a long text it is a few hundred milliseconds of Python,
    which in this process would take turns with the event loop for the interpreter lock. If no worker can
    (all busy past the budget, restarting), the parser's own words are the answer."""
    explanation = Explanation(query, exc.problem, prefixed.shift, tuple(sorted(prefixes.items())))
    try:
        found = await runtime.engine.explain(explanation, timeout=runtime.settings.query_timeout)
    except KGError:
        return QuerySyntaxError(exc.problem, field="query")
    return QuerySyntaxError(found.message, field="query", line=found.line, column=found.column)


def _endpoint_url(request: Request, runtime: Runtime) -> str:
    if runtime.settings.public_base_url:
        return runtime.settings.public_base_url.rstrip("/") + "/sparql"
    return str(request.url.replace(query="", fragment=""))


ANSWER_PREFIXES = ("cap", "id", "skos", "dcterms", "schema", "org", "prov", "rdfs")


def _prefixes(runtime: Runtime) -> dict[str, str]:
    """Prefixes a Turtle answer is written with."""
    return {prefix: iri for prefix, iri in runtime.ns.prefixes().items() if prefix in ANSWER_PREFIXES}


QUERY_DOC = (
    "A SPARQL 1.1 query. Without it, GET returns the service description. Results: JSON (default), XML, CSV, "
    "TSV, a text table for SELECT/ASK; Turtle (default), N-Triples, JSON-LD, RDF/XML, N-Quads, TriG, N3 for "
    "CONSTRUCT/DESCRIBE, chosen by Accept or format= (output= too)."
)


@router.get("/sparql", summary="SPARQL 1.1 query (GET) or service description", description=QUERY_DOC)
async def sparql_get(request: Request, runtime: RuntimeDep) -> Response:
    return await _answer(request, runtime)


@router.post("/sparql", summary="SPARQL 1.1 query (POST form or application/sparql-query)", description=QUERY_DOC)
async def sparql_post(request: Request, runtime: RuntimeDep) -> Response:
    return await _answer(request, runtime)


def service_description(request: Request, runtime: RuntimeDep, override: str | None) -> Response:
    """SPARQL 1.1 Service Description of this endpoint, in the RDF format the client asks for."""
    import pyoxigraph as ox

    ranges = parse_accept(", ".join(request.headers.getlist("accept")) or None)
    if not override and ranges[0][0] == "text/html" and ranges[0][1] > 0:  # a browser, asking for a page by name
        return RedirectResponse("/editor", status_code=303, headers={"Vary": "Accept"})  # the query editor
    media_type = choose(request, GRAPH_OFFERS, override=override, aliases=SHORT_NAMES)
    endpoint = _endpoint_url(request, runtime)
    sd = "http://www.w3.org/ns/sparql-service-description#"
    void = "http://rdfs.org/ns/void#"
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    service, dataset, default_graph = ox.BlankNode("service"), ox.BlankNode("dataset"), ox.BlankNode("default")
    triples = [
        ox.Triple(service, rdf_type, ox.NamedNode(sd + "Service")),
        ox.Triple(service, ox.NamedNode(sd + "endpoint"), ox.NamedNode(endpoint)),
        ox.Triple(service, ox.NamedNode(sd + "supportedLanguage"), ox.NamedNode(sd + "SPARQL11Query")),
        ox.Triple(service, ox.NamedNode(sd + "feature"), ox.NamedNode(sd + "UnionDefaultGraph")),
        ox.Triple(service, ox.NamedNode(sd + "defaultDataset"), dataset),
        ox.Triple(dataset, rdf_type, ox.NamedNode(sd + "Dataset")),
        ox.Triple(dataset, ox.NamedNode(sd + "defaultGraph"), default_graph),
        ox.Triple(default_graph, rdf_type, ox.NamedNode(sd + "Graph")),
        ox.Triple(
            default_graph,
            ox.NamedNode(void + "triples"),
            ox.Literal(
                str(sum(runtime.graphs.values())), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
            ),
        ),
    ]
    for media in [*SELECT_OFFERS[:4], *GRAPH_OFFERS[:-1]]:  # text/plain has no IRI in the W3C's formats
        triples.append(
            ox.Triple(
                service,
                ox.NamedNode(sd + "resultFormat"),
                ox.NamedNode("http://www.w3.org/ns/formats/" + _FORMAT_NAMES[media]),
            )
        )
    # The predeclared prefixes, in the vocabulary SHACL-SPARQL declares the prefixes of its queries with
    # (https://www.w3.org/TR/shacl/#sparql-prefixes: sh:declare [ sh:prefix "cap" ; sh:namespace "…"^^xsd:anyURI ]),
    # attached to the sd:Service node: the prefixes every query on this endpoint may use undeclared.
    for name, namespace in runtime.ns.prefixes().items():
        declaration = ox.BlankNode(f"prefix-{name}")
        triples += [
            ox.Triple(service, ox.NamedNode(SH + "declare"), declaration),
            ox.Triple(declaration, ox.NamedNode(SH + "prefix"), ox.Literal(name)),
            ox.Triple(
                declaration,
                ox.NamedNode(SH + "namespace"),
                ox.Literal(namespace, datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#anyURI")),
            ),
        ]
    for number, (graph, count) in enumerate(sorted(runtime.graphs.items())):
        named, description = ox.BlankNode(f"named{number}"), ox.BlankNode(f"graph{number}")
        triples += [
            ox.Triple(dataset, ox.NamedNode(sd + "namedGraph"), named),
            ox.Triple(named, rdf_type, ox.NamedNode(sd + "NamedGraph")),
            ox.Triple(named, ox.NamedNode(sd + "name"), ox.NamedNode(graph)),
            ox.Triple(named, ox.NamedNode(sd + "graph"), description),
            ox.Triple(description, rdf_type, ox.NamedNode(sd + "Graph")),
            ox.Triple(
                description,
                ox.NamedNode(void + "triples"),
                ox.Literal(str(count), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
            ),
        ]
    body = (
        ox.serialize(
            triples,
            format=GRAPH_FORMATS[media_type],
            prefixes={"sd": sd, "void": void, "sh": SH} if media_type == "text/turtle" else None,
        )
        or b""
    )
    return Response(body, media_type=media_type, headers={"Vary": "Accept"})


SH = "http://www.w3.org/ns/shacl#"
_FORMAT_NAMES = {
    "application/sparql-results+json": "SPARQL_Results_JSON",
    "application/sparql-results+xml": "SPARQL_Results_XML",
    "text/csv": "SPARQL_Results_CSV",
    "text/tab-separated-values": "SPARQL_Results_TSV",
    "text/turtle": "Turtle",
    "application/n-triples": "N-Triples",
    "application/ld+json": "JSON-LD",
    "application/rdf+xml": "RDF_XML",
    "application/n-quads": "N-Quads",
    "application/trig": "TriG",
    "text/n3": "N3",
}


COMPLETIONS: dict[str, bytes] = {}  # release version → the editor's completions (the last two releases)
LOCAL_NAME = re.compile(r"^[A-Za-z_][\w\-]*$")


@router.get(
    "/sparql/completions.json",
    summary="What the SPARQL editor completes: predeclared prefixes, classes and properties with their labels",
)
async def completions(request: Request, runtime: RuntimeDep) -> Response:
    """Derived once per release from the ontology graph and the terms the data uses; served from here, so that
    the editor asks nothing of any other site."""
    etag = etag_for(runtime.version, "completions")
    caching = {"ETag": etag, "Cache-Control": "public, max-age=300"}
    if not_modified(request, etag):
        return Response(status_code=304, headers=caching)
    body = COMPLETIONS.get(runtime.version)
    if body is None:
        rows = await runtime.plain_rows(runtime.registry.text("editor/terms"))
        prefixes = runtime.ns.prefixes()
        terms: dict[str, list[dict[str, str]]] = {"class": [], "property": []}
        for row in rows:
            iri, kind = str(row["term"]), str(row["kind"])
            terms[kind].append({"name": _short(iri, prefixes), "iri": iri, "label": str(row.get("label") or "")})
        body = json.dumps(
            {"prefixes": prefixes, "classes": terms["class"], "properties": terms["property"]}, ensure_ascii=False
        ).encode("utf-8")
        while len(COMPLETIONS) >= 2:
            COMPLETIONS.pop(next(iter(COMPLETIONS)))
        COMPLETIONS[runtime.version] = body
    return Response(body, media_type="application/json", headers=caching)


def _short(iri: str, prefixes: dict[str, str]) -> str:
    """`iri` as a prefixed name with the longest matching namespace, or <iri>."""
    best = ""
    for name, namespace in prefixes.items():
        local = iri[len(namespace) :]
        if iri.startswith(namespace) and LOCAL_NAME.match(local) and len(namespace) > len(prefixes.get(best, "")):
            best = name
    return f"{best}:{iri[len(prefixes[best]) :]}" if best else f"<{iri}>"
