"""An in-process cache of successful GET /api responses, per dataset version, in front of the routes.

A hit is answered here, before routing, validation and serialisation; a matching If-None-Match gets a
304. Entries are keyed by path, query string and Accept header. A request with credentials
(Authorization, a cookie) is neither answered from the cache nor kept in it, and neither is a response
marked private or no-store. The cache is held to a byte budget (bodies, headers and keys of its entries)
as well as to a number of entries, the least recently used going first; a response larger than a
sixteenth of the budget is not kept.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CacheKey = tuple[str, str, bytes, bytes, bytes]
ENTRY_OVERHEAD = 200  # bytes an entry costs besides its key, headers and body (the objects holding them)
LARGEST_SHARE = 16  # a response over 1/16 of the budget is not cached: it would push out many others


def _matches(if_none_match: bytes, etag: bytes) -> bool:
    """RFC 9110 weak comparison, as api.plumbing.negotiation.not_modified does for responses not cached yet."""
    tags = {tag.strip() for tag in if_none_match.split(b",") if tag.strip()}
    return b"*" in tags or etag in tags or etag.removeprefix(b"W/") in {t.removeprefix(b"W/") for t in tags}


@dataclass
class _Captured:
    """What the app sent for one request: status, headers and the body's parts (until it is too large to keep)."""

    status: int | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)
    size: int = 0
    too_large: bool = False


class _Entry(NamedTuple):
    headers: list[tuple[bytes, bytes]]
    etag: bytes
    body: bytes
    size: int  # what it counts against the byte budget


def _key_size(key: CacheKey) -> int:
    return sum(len(part) for part in key)


class ResponseCache:
    def __init__(self, app: ASGIApp, max_entries: int, max_bytes: int = 64 * 2**20, prefix: str = "/api/") -> None:
        self.app = app
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.largest = max_bytes // LARGEST_SHARE  # the largest entry kept
        self.prefix = prefix
        self.entries: OrderedDict[CacheKey, _Entry] = OrderedDict()
        self.size = 0  # the sum of the entries' sizes: never over max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        service = getattr(scope["app"].state, "service", None)
        if service is None or not service.ready:
            await self.app(scope, receive, send)
            return
        raw_headers = scope.get("headers") or []
        if any(name in (b"authorization", b"cookie") for name, _ in raw_headers):
            await self.app(scope, receive, send)  # an answer for one account is never kept for anyone else
            return
        accept = b",".join(value for name, value in raw_headers if name == b"accept")  # every Accept header
        host = b",".join(value for name, value in raw_headers if name == b"host")  # Link headers name the host
        origin = b",".join(value for name, value in raw_headers if name == b"origin")  # CORS headers follow it
        key = (
            service.runtime.version,
            scope["path"],
            scope.get("query_string", b""),
            accept,
            # Link headers name the scheme and host (a trusted proxy may carry http and https)
            scope.get("scheme", "http").encode() + b"|" + host + b"|" + origin,
        )
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
            if entry.etag and _matches(b",".join(v for n, v in raw_headers if n == b"if-none-match"), entry.etag):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 304,
                        "headers": [h for h in entry.headers if h[0] in (b"etag", b"cache-control", b"vary")],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
            await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
            await send({"type": "http.response.body", "body": entry.body})
            return

        captured = _Captured()
        base = ENTRY_OVERHEAD + _key_size(key)

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = list(message.get("headers", []))
                captured.size = base + sum(len(name) + len(value) for name, value in captured.headers)
                captured.too_large = captured.size > self.largest
            elif message["type"] == "http.response.body" and not captured.too_large:
                part = message.get("body", b"")
                captured.size += len(part)
                if captured.size > self.largest:  # not kept: no copy of it is held either
                    captured.too_large, captured.body = True, []
                else:
                    captured.body.append(part)
            await send(message)

        await self.app(scope, receive, capture)
        private = any(
            name == b"cache-control" and (b"private" in value or b"no-store" in value)
            for name, value in captured.headers
        )
        if captured.status == 200 and not captured.too_large and not private:
            self._keep(
                key,
                _Entry(
                    captured.headers, dict(captured.headers).get(b"etag", b""), b"".join(captured.body), captured.size
                ),
            )

    def _keep(self, key: CacheKey, entry: _Entry) -> None:
        old = self.entries.pop(key, None)  # two requests for the same response may both have missed
        if old is not None:
            self.size -= old.size
        self.entries[key] = entry
        self.size += entry.size
        while self.entries and (len(self.entries) > self.max_entries or self.size > self.max_bytes):
            _, evicted = self.entries.popitem(last=False)
            self.size -= evicted.size
