"""An in-process cache of successful GET /api responses, per dataset version, in front of the routes.

A hit is answered here, before routing, validation and serialisation; a matching
If-None-Match gets a 304. Entries are keyed by path, query string and Accept header.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CacheKey = tuple[str, str, bytes, bytes, bytes]


def _matches(if_none_match: bytes, etag: bytes) -> bool:
    """RFC 9110 weak comparison, as api.plumbing.negotiation.not_modified does for responses not cached yet."""
    tags = {tag.strip() for tag in if_none_match.split(b",") if tag.strip()}
    return b"*" in tags or etag in tags or etag.removeprefix(b"W/") in {t.removeprefix(b"W/") for t in tags}


@dataclass
class _Captured:
    """What the app sent for one request: status, headers and the body's parts."""

    status: int | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)


class ResponseCache:
    def __init__(self, app: ASGIApp, max_entries: int, prefix: str = "/api/") -> None:
        self.app = app
        self.max_entries = max_entries
        self.prefix = prefix
        self.entries: OrderedDict[CacheKey, tuple[list[tuple[bytes, bytes]], bytes, bytes]] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        service = getattr(scope["app"].state, "service", None)
        if service is None or not service.ready:
            await self.app(scope, receive, send)
            return
        raw_headers = scope.get("headers") or []
        accept = b",".join(value for name, value in raw_headers if name == b"accept")  # every Accept header
        host = b",".join(value for name, value in raw_headers if name == b"host")  # Link headers name the host
        origin = b",".join(value for name, value in raw_headers if name == b"origin")  # CORS headers follow it
        key = (service.runtime.version, scope["path"], scope.get("query_string", b""), accept, host + b"|" + origin)
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
            response_headers, etag, body = entry
            if etag and _matches(b",".join(v for n, v in raw_headers if n == b"if-none-match"), etag):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 304,
                        "headers": [h for h in response_headers if h[0] in (b"etag", b"cache-control", b"vary")],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
            await send({"type": "http.response.start", "status": 200, "headers": response_headers})
            await send({"type": "http.response.body", "body": body})
            return

        captured = _Captured()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured.body.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        if captured.status == 200:
            etag = dict(captured.headers).get(b"etag", b"")
            self.entries[key] = (captured.headers, etag, b"".join(captured.body))
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)
