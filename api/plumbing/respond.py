"""JSON or JSON-LD responses for the REST API, with ETags tied to the dataset version.

The JSON answer is the route's payload as it is; the JSON-LD answer is that payload read as RDF by the
route's `Reading` (api.plumbing.jsonld): a document whose triples agree with the graph (docs/api-jsonld.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import Request
from fastapi.responses import Response

from api.plumbing.negotiation import cached_response, choose
from api.plumbing.runtime import Runtime

JSON_TYPES = ["application/json", "application/ld+json"]

Producer = Callable[[], Awaitable[Any]]
Reading = Callable[[Any], dict[str, Any]]  # the payload → its JSON-LD document


def public_iri(request: Request, runtime: Runtime, params: Mapping[str, object] | None = None) -> str:
    """This request's URL as clients name it (KG_PUBLIC_BASE_URL when set), with `params` as its query
    (the request's own, less `format`, when not given): the IRI of what the answer describes."""
    base = (
        runtime.settings.public_base_url.rstrip("/") + request.url.path
        if runtime.settings.public_base_url
        else str(request.url.replace(query="", fragment=""))
    )
    if params is None:
        params = {k: v for k, v in request.query_params.items() if k != "format"}
    return f"{base}?{urlencode(params)}" if params else base


async def respond(
    request: Request,
    runtime: Runtime,
    produce: Producer,
    *,
    linked: Reading,
    headers: dict[str, str] | None = None,
) -> Response:
    """Serve `produce()` as JSON or, read by `linked`, JSON-LD (by Accept) with an ETag."""
    media_type = choose(
        request,
        JSON_TYPES,
        override=request.query_params.get("format"),
        aliases={"json": "application/json", "jsonld": "application/ld+json"},
    )
    payload = await produce()
    document = linked(payload) if media_type == "application/ld+json" else payload
    body = orjson.dumps(document)  # UTF-8, compact: what json.dumps(ensure_ascii=False) writes, 10-20x faster
    return cached_response(request, body, media_type, runtime.version, headers=headers)
