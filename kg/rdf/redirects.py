"""IRIs minted before slugs transliterated letters, each replaced by the IRI minted now.

Before issue 12 a slug dropped the letters NFKD does not decompose (Łódź → `id:city/odz`, Wrocław →
`id:city/wrocaw`); now they are transliterated (`lodz`, `wroclaw`). The published IRIs stay
answering: each gets one statement `<old> dcterms:isReplacedBy <new>` in the asserted graph, and the
linked-data route answers a request for the old IRI with a 301 to the new one.
"""

from __future__ import annotations

from rdflib import URIRef

from kg.namespaces import DCTERMS
from kg.rdf.context import MappingContext


def add_redirects(ctx: MappingContext) -> None:
    """One dcterms:isReplacedBy for every minted IRI a moved slug changed (any path segment)."""
    if not ctx.moved_slugs:
        return
    before = {now: then for then, now in ctx.moved_slugs.items()}
    base = str(ctx.id)
    subjects = {s for s in ctx.graph.subjects() if isinstance(s, URIRef) and str(s).startswith(base)}
    for iri in sorted(subjects):
        path = str(iri)[len(base) :]
        old_path = "/".join(before.get(segment, segment) for segment in path.split("/"))
        old = ctx.mint(old_path)
        if old_path != path and old not in subjects:
            ctx.graph.add((old, DCTERMS.isReplacedBy, iri))
