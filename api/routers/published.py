"""The source texts at their provenance IRIs, and the SHACL shapes at <base>shapes, by content negotiation.

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
from collections import defaultdict
from typing import Any

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.plumbing.errors import problem
from api.plumbing.negotiation import cached_response, choose
from api.plumbing.runtime import Runtime, RuntimeDep
from api.routers.linked_data import FORMAT_ALIASES, OFFERS, _rdf, alternates, describe_resource
from api.views.render import curie, not_found, render
from kg.release.layout import SHAPES_FILE, SOURCE_TEXT_PREFIX
from kg.sparql.results import GRAPH_FORMATS

router = APIRouter(tags=["Linked data"])
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
    page = render(
        "source_text.html",
        request,
        runtime,
        iri=iri,
        file_name=name,
        title=title,
        rights=rights,
        lines=list(enumerate(lines, start=1)),
        first=first,
        last=last,
    )
    return cached_response(request, page.encode(), "text/html; charset=utf-8", runtime.version, headers=headers)


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
