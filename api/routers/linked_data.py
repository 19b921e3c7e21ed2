"""Dereferenceable IRIs: /id/…, /ontology, /.well-known/void and /dumps/…, by content negotiation.

The deployment base (https://w3id.org/capacities/lp/ by default) maps to this server's root, so
`<base>id/material/greek-moc` answers at /id/material/greek-moc: an HTML page for a browser,
Turtle, N-Triples, JSON-LD or RDF/XML for a machine (Accept, or `format=`).
"""

from __future__ import annotations

import re

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.plumbing.errors import HTTPProblem
from api.plumbing.negotiation import cached_response, choose
from api.plumbing.runtime import Runtime, RuntimeDep
from api.views.render import not_found
from api.views.resource import resource_page
from kg.engines.protocol import EncodedTriple, QueryJob, decode_triple, encode_term
from kg.release.layout import EXPORT_FORMATS, MEDIA_TYPES, ONTOLOGY_PAGE, VOID_FILE, dump_name
from kg.sparql.registry import iri_node
from kg.sparql.results import GRAPH_FORMATS, SHORT_NAMES

router = APIRouter(tags=["Linked data"])
OFFERS = ["text/html", "text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"]
FORMAT_ALIASES = {**SHORT_NAMES, "html": "text/html"}
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


IS_REPLACED_BY = "http://purl.org/dc/terms/isReplacedBy"


def replaced_by(rows: list[EncodedTriple], iri: str, base: str) -> str | None:
    """The path under /id/ of the IRI that replaced `iri`, when all the graph says of it is that (kg.rdf.redirects)."""
    said = [(predicate[1], value) for subject, predicate, value in rows if subject[1] == iri]
    if len(said) == 1 and said[0][0] == IS_REPLACED_BY and said[0][1][1].startswith(base):
        return said[0][1][1][len(base) :]
    return None


TURTLE_PREFIXES = ("cap", "id", "skos", "dcterms", "schema", "org", "prov", "xsd")


def _rdf(rows: list[EncodedTriple], media_type: str, runtime: Runtime) -> bytes:
    triples = [decode_triple(row) for row in rows]
    prefixes = {prefix: iri for prefix, iri in runtime.ns.prefixes().items() if prefix in TURTLE_PREFIXES}
    if media_type == "text/turtle":
        return ox.serialize(triples, format=GRAPH_FORMATS[media_type], prefixes=prefixes) or b""
    return ox.serialize(triples, format=GRAPH_FORMATS[media_type]) or b""


async def _negotiate(request: Request) -> str:
    return choose(request, OFFERS, override=request.query_params.get("format"), aliases=FORMAT_ALIASES)


@router.get("/id/{path:path}", summary="Dereference an instance IRI (HTML or RDF by content negotiation)")
async def instance(request: Request, runtime: RuntimeDep, path: str) -> Response:
    media_type = await _negotiate(request)
    if not SEGMENT.match(path):
        return not_found(request, runtime, media_type, f"/id/{path}")
    iri = f"{runtime.ns.id}{path}"
    rows = await describe_resource(runtime, iri)
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
