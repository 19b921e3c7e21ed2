"""JSON or JSON-LD responses for the REST API, with ETags tied to the dataset version."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from fastapi import Request
from fastapi.responses import Response

from api.plumbing.negotiation import cached_response, choose
from api.plumbing.runtime import Runtime
from kg.namespaces import ProjectNamespaces

JSON_TYPES = ["application/json", "application/ld+json"]
CONTEXT_PREFIXES = ("cap", "schema", "skos", "dcterms", "org")
# JSON field → term, for JSON-LD; fields holding IRIs are typed @id.
FIELD_TERMS = {
    "title": "dcterms:title",
    "name": "skos:prefLabel",
    "label": "skos:prefLabel",
    "description": "dcterms:description",
    "material": {"@id": "cap:material", "@type": "@id"},
    "related": {"@id": "cap:relatedMaterial", "@type": "@id"},
    "card": {"@id": "cap:hasAppearance", "@type": "@id"},
    "country": "cap:countryCode",
    "countries": "cap:countryCode",
    "code": "skos:notation",
    "years": "cap:releaseYear",
    "categories": "cap:categoryNotation",
    "category": "cap:categoryNotation",
    "subcategories": "cap:subcategoryNotation",
    "subcategory": "cap:subcategoryNotation",
    "type_label": "cap:typeLabel",
    "type_labels": "cap:typeLabel",
    "key_features": "cap:keyFeature",
    "hashtag": {"@id": "cap:hashtag", "@type": "@id"},
    "organisation": {"@id": "cap:organisation", "@type": "@id"},
    "city": {"@id": "cap:city", "@type": "@id"},
    "persona": {"@id": "cap:persona", "@type": "@id"},
    "profile": {"@id": "cap:profile", "@type": "@id"},
    "wikidata": {"@id": "skos:exactMatch", "@type": "@id"},
    "items": "@graph",
    "iri": "@id",
}

Producer = Callable[[], Awaitable[object]]


def context(ns: ProjectNamespaces) -> dict[str, object]:
    prefixes = ns.prefixes()
    return {**{prefix: prefixes[prefix] for prefix in CONTEXT_PREFIXES}, "@vocab": str(ns.api), **FIELD_TERMS}


def _as_jsonld(payload: object, ns: ProjectNamespaces) -> object:
    if isinstance(payload, list):
        return {"@context": context(ns), "@graph": payload}
    if isinstance(payload, dict):
        return {"@context": context(ns), **payload}
    return payload


async def respond(
    request: Request, runtime: Runtime, produce: Producer, *, headers: dict[str, str] | None = None
) -> Response:
    """Serve `produce()` as JSON or JSON-LD (by Accept) with an ETag; api.plumbing.cache keeps the result."""
    media_type = choose(
        request,
        JSON_TYPES,
        override=request.query_params.get("format"),
        aliases={"json": "application/json", "jsonld": "application/ld+json"},
    )
    payload = await produce()
    document = _as_jsonld(payload, runtime.ns) if media_type == "application/ld+json" else payload
    body = orjson.dumps(document)  # UTF-8, compact: what json.dumps(ensure_ascii=False) writes, 10-20x faster
    return cached_response(request, body, media_type, runtime.version, headers=headers)
