"""What several kinds' pages use: rows of the linked/ queries, line spans, links to pages."""

from __future__ import annotations

import pyoxigraph as ox

from api.plumbing.runtime import Runtime
from api.views.render import local
from kg.engines.protocol import encode_term


async def linked_rows(runtime: Runtime, name: str, iri: str) -> list[dict]:
    """Rows of one of the queries in kg/sparql/queries/linked/, its ?s bound to the resource."""
    return await runtime.plain_rows(runtime.registry.text(f"linked/{name}"), {"s": encode_term(ox.NamedNode(iri))})


def lines(first: object, last: object) -> str:
    return f"line {first}" if first == last else f"lines {first}–{last}"


def link(runtime: Runtime, iri: str, label: str) -> dict[str, str]:
    """A link to a page, as templates take it."""
    return {"path": local(runtime, iri), "label": label}


def source_link(runtime: Runtime, locator: str) -> dict[str, str] | None:
    """A source locator ("…/id/source/FILE#line=after,last", RFC 5147) as a link to the lines on the
    source text's page, labelled in words: {"path", "label", "first", "last"}."""
    text, _, span = locator.partition("#line=")
    after, _, last = span.partition(",")
    if not (text.startswith(f"{runtime.ns.id}source/") and after.isdigit() and last.isdigit()):
        return None
    first = int(after) + 1
    return {
        "path": f"{local(runtime, text)}?lines={first}-{last}#line-{first}",
        "label": lines(first, int(last)),
        "first": str(first),
        "last": last,
    }
