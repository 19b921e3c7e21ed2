"""Dereferenceable IRIs: /id/…, /ontology, /.well-known/void and /dumps/…, by content negotiation.

The deployment base (https://w3id.org/capacities/lp/ by default) maps to this server's root, so
`<base>id/material/greek-moc` answers at /id/material/greek-moc: an HTML page for a browser,
Turtle, N-Triples, JSON-LD or RDF/XML for a machine (Accept, or `format=`).

What an IRI is comes from the store and from the release's dataset description (void.ttl): the
catalogue, the dataset, its distributions, partitions and link sets, the named graphs and the publisher
are described there only, and answer here like any other resource.

The source texts at their provenance IRIs, and the SHACL shapes at <base>shapes, by content negotiation.

Every resource's `cap:sourceLocator` is `<base>id/source/<file>#line=a,b` (an RFC 5147 fragment: line
positions a and b, so lines a+1 to b). Fragments never reach a server, so /id/source/<file> answers:
`text/plain` with the text exactly as the build read it; an HTML page with numbered lines, each an anchor
(`#line-464`), the lines of `?lines=464-474` highlighted (a small local script also reads `#line=463,474`
from the address); and the text's RDF description for RDF media types.
/shapes answers the shapes the build validated with: Turtle and the other RDF formats, or a page.
Both come from the release's own copies (kg.release.published), so they match the data served.
"""

from __future__ import annotations

import re
from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from rdflib import RDF

from api.plumbing.described import description_rows
from api.plumbing.errors import HTTPProblem, problem
from api.plumbing.negotiation import cached_response, choose, parse_accept
from api.plumbing.runtime import Runtime, RuntimeDep
from api.views.render import curie, local, not_found, render
from api.views.resource import resource_page
from kg.engines.protocol import EncodedTriple, QueryJob, decode_triple, encode_term
from kg.release.layout import (
    EXPORT_FORMATS,
    MEDIA_TYPES,
    ONTOLOGY_PAGE,
    SHAPES_FILE,
    SOURCE_TEXT_PREFIX,
    VOID_FILE,
    dump_name,
)
from kg.sparql.registry import iri_node
from kg.sparql.results import GRAPH_FORMATS, SHORT_NAMES

router = APIRouter(tags=["Linked data"])
OFFERS = ["text/html", "text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"]
FORMAT_ALIASES = {**SHORT_NAMES, "html": "text/html"}
DATASET_PAGE = "id/dataset/lp-kg"  # kg.release.describe.Iris.dataset, under this server's root
SEGMENT = re.compile(r"^[A-Za-z0-9._~%!$&'()*+,;=:@/-]+$")


def alternates(request: Request) -> dict[str, str]:
    base = str(request.url.replace(query="", fragment=""))
    links = [
        f'<{base}?format={name}>; rel="alternate"; type="{media}"'
        for name, media in (
            ("html", "text/html"),
            ("turtle", "text/turtle"),
            ("ntriples", "application/n-triples"),
            ("jsonld", "application/ld+json"),
            ("rdfxml", "application/rdf+xml"),
        )
    ]
    return {"Link": ", ".join(links), "Vary": "Accept"}


async def describe_resource(runtime: Runtime, iri: str, field: str = "path") -> list[EncodedTriple]:
    """The triples about `iri`; one that is not a valid IRI is a 400 naming `field`."""
    text = runtime.registry.text("linked/resource")
    subject = encode_term(iri_node(iri, field=field))
    outcome = await runtime.engine.run(
        QueryJob(text, graph_format="triples", max_rows=100_000, substitutions={"s": subject})
    )
    return outcome.triples()


TURTLE_PREFIXES = ("cap", "id", "skos", "dcterms", "schema", "org", "prov", "xsd", "dcat", "void")


IS_REPLACED_BY = "http://purl.org/dc/terms/isReplacedBy"


def replaced_by(rows: list[EncodedTriple], iri: str, base: str) -> str | None:
    """The path under /id/ of the IRI that replaced `iri`, when all the graph says of it is that (kg.rdf.redirects)."""
    said = [(predicate[1], value) for subject, predicate, value in rows if subject[1] == iri]
    if len(said) == 1 and said[0][0] == IS_REPLACED_BY and said[0][1][1].startswith(base):
        return said[0][1][1][len(base) :]
    return None


def _rdf(rows: list[EncodedTriple], media_type: str, runtime: Runtime) -> bytes:
    triples = [decode_triple(row) for row in rows]
    prefixes = {prefix: iri for prefix, iri in runtime.ns.prefixes().items() if prefix in TURTLE_PREFIXES}
    if media_type == "text/turtle":
        return ox.serialize(triples, format=GRAPH_FORMATS[media_type], prefixes=prefixes) or b""
    return ox.serialize(triples, format=GRAPH_FORMATS[media_type]) or b""


async def _negotiate(request: Request) -> str:
    return choose(request, OFFERS, override=request.query_params.get("format"), aliases=FORMAT_ALIASES)


FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$")
LINES = re.compile(r"^(\d{1,7})(?:-(\d{1,7}))?$")
SOURCE_OFFERS = ["text/html", "text/plain", *OFFERS[1:]]
SH = "http://www.w3.org/ns/shacl#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
TITLE = "http://purl.org/dc/terms/title"
RIGHTS = "http://purl.org/dc/terms/rights"


@router.get("/id/source/{name}", summary="A source text: plain text, a page with numbered lines, or its RDF")
async def source_text(request: Request, runtime: RuntimeDep, name: str) -> Response:
    media_type = choose(
        request,
        SOURCE_OFFERS,
        override=request.query_params.get("format"),
        aliases={**FORMAT_ALIASES, "text": "text/plain", "txt": "text/plain"},
    )
    path = runtime.build_dir / (SOURCE_TEXT_PREFIX + name)
    if not FILE_NAME.match(name) or ".." in name or not path.is_file():
        return not_found(request, runtime, media_type, f"/id/source/{name}")
    iri = f"{runtime.ns.id}source/{name}"
    headers = alternates(request)
    if media_type == "text/plain":
        body = path.read_bytes()
        return cached_response(request, body, "text/plain; charset=utf-8", runtime.version, headers=headers)
    rows = await describe_resource(runtime, iri)
    if media_type != "text/html":
        return cached_response(request, _rdf(rows, media_type, runtime), _with_charset(media_type), runtime.version)
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line starts no line of its own
    if len(request.query_params.getlist("lines")) > 1:
        return problem(400, "Bad request", "lines= is given more than once: give one range", field="lines")
    wanted = request.query_params.get("lines")
    first, last = 0, -1
    if wanted is not None:
        match = LINES.match(wanted.strip())
        if not match:
            return problem(
                400,
                "Bad request",
                f"lines={wanted!r} is not a line range: write lines=464-474 (first and last line, from 1) or lines=464",
                field="lines",
            )
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if not 1 <= first <= last <= len(lines):
            return problem(
                400,
                "Bad request",
                f"lines={wanted!r} is outside the text: {name} has lines 1 to {len(lines)}, and the first "
                "line of a range comes before its last",
                field="lines",
            )
    values = {(p[1], o[1]) for s, p, o in rows if s[1] == iri}
    title = next((v for p, v in values if p == TITLE), name)
    rights = next((v for p, v in values if p == RIGHTS), None)
    key = (runtime.build_dir, name, first, last)
    page = _SOURCE_PAGES.get(key)
    if page is None:  # the portfolio's page is 650 KB of HTML: written off the event loop, the last few kept
        page = await runtime.cpu.run(_source_page, request, runtime, iri, name, title, rights, lines, first, last)
        _SOURCE_PAGES[key] = page
        while len(_SOURCE_PAGES) > 8:
            _SOURCE_PAGES.popitem(last=False)
    _SOURCE_PAGES.move_to_end(key)
    return cached_response(request, page, "text/html; charset=utf-8", runtime.version, headers=headers)


_SOURCE_PAGES: OrderedDict[tuple[Path, str, int, int], bytes] = OrderedDict()


def _source_page(
    request: Request,
    runtime: Runtime,
    iri: str,
    name: str,
    title: str,
    rights: str | None,
    lines: list[str],
    first: int,
    last: int,
) -> bytes:
    numbered = list(enumerate(lines, start=1))
    context = {"iri": iri, "file_name": name, "title": title, "rights": rights, "lines": numbered}
    return render("source_text.html", request, runtime, **context, first=first, last=last).encode()


@router.get("/shapes", summary="The SHACL shapes the data is validated with (HTML or RDF by content negotiation)")
async def shapes(request: Request, runtime: RuntimeDep) -> Response:
    media_type = choose(request, OFFERS, override=request.query_params.get("format"), aliases=FORMAT_ALIASES)
    source = (runtime.build_dir / SHAPES_FILE).read_bytes()
    headers = alternates(request)
    if media_type == "text/turtle":
        return cached_response(request, source, "text/turtle; charset=utf-8", runtime.version, headers=headers)
    triples = list(ox.parse(source, format=ox.RdfFormat.TURTLE))
    if media_type != "text/html":
        body = ox.serialize(triples, format=GRAPH_FORMATS[media_type]) or b""
        return cached_response(request, body, _with_charset(media_type), runtime.version, headers=headers)
    page = render("shapes.html", request, runtime, shapes=_shape_list(triples, runtime))
    return cached_response(request, page.encode(), "text/html; charset=utf-8", runtime.version, headers=headers)


def _shape_list(triples: list[ox.Triple], runtime: Runtime) -> list[dict[str, Any]]:
    """The node shapes of the shapes graph, each with its targets and its property shapes, for the page."""
    about: dict[object, dict[str, list[object]]] = defaultdict(lambda: defaultdict(list))
    for triple in triples:
        about[triple.subject][triple.predicate.value].append(triple.object)

    def text(node: object) -> str:
        if isinstance(node, ox.NamedNode):
            return curie(runtime, node.value)
        return node.value if isinstance(node, ox.Literal) else "(a path expression)"

    listed: list[dict[str, Any]] = []
    base = runtime.ns.base + "shapes#"
    for node, fields in about.items():
        if not isinstance(node, ox.NamedNode) or ox.NamedNode(SH + "NodeShape") not in fields.get(RDF_TYPE, []):
            continue
        properties = []
        for shape in fields.get(SH + "property", []):
            detail = about.get(shape, {})
            properties.append(
                {
                    "path": ", ".join(text(p) for p in detail.get(SH + "path", [])),
                    "message": " ".join(str(getattr(m, "value", m)) for m in detail.get(SH + "message", [])),
                    "severity": ", ".join(text(s) for s in detail.get(SH + "severity", [])),
                }
            )
        listed.append(
            {
                "anchor": node.value[len(base) :] if node.value.startswith(base) else None,
                "name": curie(runtime, node.value),
                "label": " ".join(
                    text(v)
                    for key in ("http://www.w3.org/2000/01/rdf-schema#label", SH + "name")
                    for v in fields.get(key, [])
                ),
                "comment": " ".join(
                    text(v)
                    for key in ("http://www.w3.org/2000/01/rdf-schema#comment", SH + "description")
                    for v in fields.get(key, [])
                ),
                "targets": [
                    text(t)
                    for key in ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf")
                    for t in fields.get(SH + key, [])
                ],
                "properties": sorted(properties, key=lambda p: str(p["path"])),
            }
        )
    return sorted(listed, key=lambda s: str(s["name"]))


def _with_charset(media_type: str) -> str:
    return media_type + ("; charset=utf-8" if media_type.startswith("text/") else "")


@router.get("/id/{path:path}", summary="Dereference an instance IRI (HTML or RDF by content negotiation)")
async def instance(request: Request, runtime: RuntimeDep, path: str) -> Response:
    media_type = await _negotiate(request)
    if not SEGMENT.match(path):
        return not_found(request, runtime, media_type, f"/id/{path}")
    iri = f"{runtime.ns.id}{path}"
    rows = await describe_resource(runtime, iri)
    known = {tuple(tuple(term) for term in row) for row in rows}  # terms as tuples, however an engine sent them
    rows += [row for row in description_rows(runtime, iri) if row not in known]
    if not rows and path.startswith(PROOF_NODES):
        return await _proof_node(request, runtime, iri, media_type)
    if not rows:
        return not_found(request, runtime, media_type, f"/id/{path}")
    if moved := replaced_by(rows, iri, str(runtime.ns.id)):  # an IRI published before slugs transliterated
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/id/{moved}{query}", status_code=301, headers={"Vary": "Accept"})
    if media_type == "text/html":
        body = (await resource_page(request, runtime, iri, rows)).encode()
    else:
        body = _rdf(rows, media_type, runtime)
    return cached_response(
        request,
        body,
        media_type + ("; charset=utf-8" if media_type.startswith("text/") else ""),
        runtime.version,
        headers=alternates(request),
    )


PROOF_NODES = ("justification/", "statement/")  # kg.reasoning.justify: the nodes of the justification graph


async def _proof_node(request: Request, runtime: Runtime, iri: str, media_type: str) -> Response:
    """A justification or a premise statement: for machines its triples; for people the explanation of the
    triple it stands for (303 to /explain), when that triple's terms are IRIs, else its subject's page."""
    outcome = await runtime.engine.run(
        QueryJob(
            runtime.registry.text("linked/justification"),
            graph_format="triples",
            max_rows=10_000,
            substitutions={"s": encode_term(iri_node(iri, field="path"))},
        )
    )
    rows = outcome.triples()
    if not rows:
        return not_found(request, runtime, media_type, local(runtime, iri))
    if media_type == "text/html":
        said = {predicate[1]: value for _, predicate, value in rows}
        stands_for = {name: said.get(str(RDF[name])) for name in ("subject", "predicate", "object")}
        if all(term is not None and term[0] == "iri" for term in stands_for.values()):
            query = urlencode({name: term[1] for name, term in stands_for.items()})  # type: ignore[index]
            return RedirectResponse(f"/explain?{query}", status_code=303, headers={"Vary": "Accept"})
        subject = stands_for["subject"]
        if subject is not None and subject[0] == "iri":  # an axiom about a list (a property chain): its term's page
            return RedirectResponse(local(runtime, subject[1]), status_code=303, headers={"Vary": "Accept"})
        body = (await resource_page(request, runtime, iri, rows)).encode()
    else:
        body = _rdf(rows, media_type, runtime)
    return cached_response(request, body, _with_charset(media_type), runtime.version, headers=alternates(request))


@router.get("/ontology", summary="The ontology: documentation for people, Turtle and friends for machines")
async def ontology(request: Request, runtime: RuntimeDep) -> Response:
    media_type = await _negotiate(request)
    if media_type == "text/html":  # pyLODE's documentation, made at build time
        return cached_response(
            request,
            (runtime.build_dir / ONTOLOGY_PAGE).read_bytes(),
            "text/html; charset=utf-8",
            runtime.version,
            headers=alternates(request),
        )
    text = runtime.registry.text("linked/ontology")
    outcome = await runtime.engine.run(QueryJob(text, graph_format="triples", max_rows=1_000_000))
    body = _rdf(outcome.triples(), media_type, runtime)
    return cached_response(
        request,
        body,
        media_type + ("; charset=utf-8" if media_type.startswith("text/") else ""),
        runtime.version,
        headers=alternates(request),
    )


@router.get("/.well-known/void", summary="Dataset description (VoID and DCAT): counts, link sets, dumps")
async def void(request: Request, runtime: RuntimeDep) -> Response:
    ranges = parse_accept(", ".join(request.headers.getlist("accept")) or None)
    browser = ranges[0][0] == "text/html" and ranges[0][1] > 0  # a page asked for by name: the dataset's page
    if browser and request.query_params.get("format") in (None, "html"):
        return RedirectResponse(f"/{DATASET_PAGE}", status_code=303, headers={"Vary": "Accept"})
    media_type = choose(request, OFFERS[1:], override=request.query_params.get("format"), aliases=FORMAT_ALIASES)
    source = (runtime.build_dir / VOID_FILE).read_bytes()
    if media_type == "text/turtle":
        body = source
    else:
        # blank nodes labelled canonically (RDFC-1.0), not afresh by each parse: one version, one body
        dataset = ox.Dataset(ox.parse(source, format=ox.RdfFormat.TURTLE))
        dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        triples = sorted((quad.triple for quad in dataset), key=str)
        body = ox.serialize(triples, format=GRAPH_FORMATS[media_type]) or b""
    return cached_response(request, body, media_type, runtime.version, headers={"Vary": "Accept"})


@router.get("/dumps/{name}", summary="Download a versioned dump of the dataset")
async def dump(request: Request, runtime: RuntimeDep, name: str) -> Response:
    files = {dump_name(file_name, runtime.version): file_name for _, file_name in EXPORT_FORMATS.values()}
    if name not in files:
        raise HTTPProblem(
            404,
            "Not found",
            f"there is no dump {name!r}; /.well-known/void lists the dumps of version {runtime.version}",
        )
    suffix = "." + name.rsplit(".", 1)[1]
    return FileResponse(
        runtime.build_dir / files[name],
        media_type=MEDIA_TYPES[suffix],
        filename=name,
        headers={"Cache-Control": "public, max-age=86400, immutable"},
    )
