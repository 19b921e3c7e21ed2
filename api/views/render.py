"""Rendering pages: the template environment, its filters, and names for IRIs."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from api.plumbing.errors import problem
from api.plumbing.negotiation import cached_response
from api.plumbing.runtime import Runtime
from api.views import TEMPLATES_DIR

TEMPLATES = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
)


def emphasis(text: str | None) -> Markup:
    """The extraction's **bold** and *italic* marks as HTML, everything else escaped."""
    escaped = str(escape(text or ""))
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return Markup(re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", escaped))


TEMPLATES.filters["emphasis"] = emphasis


def render(name: str, request: Request, runtime: Runtime, **context: object) -> str:
    return TEMPLATES.get_template(name).render(request=request, version=runtime.version, **context)


def local(runtime: Runtime, iri: str) -> str:
    """This server's path for an IRI under the deployment base; other IRIs stay as they are."""
    return "/" + iri[len(runtime.ns.base) :] if iri.startswith(runtime.ns.base) else iri


# vocabularies whose terms pages name by prefix; links to other authorities (countries, Wikidata) stay whole
SHORT_NAMED = ("cap", "id", "skos", "dcterms", "schema", "org", "prov", "rdf", "rdfs", "owl", "foaf", "dcat")


def curie(runtime: Runtime, iri: str) -> str:
    prefixes = runtime.ns.prefixes()
    for prefix in SHORT_NAMED:
        if iri.startswith(prefixes[prefix]):
            return f"{prefix}:{iri[len(prefixes[prefix]) :]}"
    return iri


def html(request: Request, runtime: Runtime, body: str) -> Response:
    return cached_response(request, body.encode(), "text/html; charset=utf-8", runtime.version)


def not_found(request: Request, runtime: Runtime, media_type: str, path: str) -> Response:
    if media_type == "text/html":
        body = render("not_found.html", request, runtime, path=path)
        return HTMLResponse(body, status_code=404)
    return problem(404, "Not found", f"nothing is known about {path}")
