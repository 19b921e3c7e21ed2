"""gzip for clients that accept it, without holding up the event loop.

Starlette's GZipMiddleware compresses on the event loop at level 9: a 64 MB answer (the byte budget)
would stop every other request for seconds. Here an answer is compressed at zlib's default level, in a
worker thread once it is large, and only when it is whole in one message (the routes' answers); a
streamed answer (a dump file) passes as it is. The response cache inside keeps the plain bodies, so
one cached answer serves clients with and without gzip; the compressed bodies of answers with an ETag
are kept too, in a few MB, by a digest of the plain body (an ETag alone could name bodies that differ by
a request header such as Host), so a popular answer is compressed once. Only a whole 200 answer is
compressed: a 206 (a range of a dump) or any other status goes as it is.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections import OrderedDict

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIN_SIZE = 1024  # below this the gzip header and the client's work cost more than the bytes saved
INLINE_SIZE = 64 * 1024  # compressing this much takes well under a millisecond: not worth a thread
COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/ld+json",
    "application/sparql-results+",
    "application/problem+json",
    "application/xml",
    "application/rdf+xml",
    "application/n-triples",
    "application/n-quads",
    "application/trig",
    "application/javascript",
    "image/svg+xml",
)


def accepts_gzip(header: str) -> bool:
    """True if Accept-Encoding admits gzip (RFC 9110: `gzip` or `*` with a q-value above 0)."""
    qualities: dict[str, float] = {}
    for part in header.split(","):
        coding, _, parameters = part.strip().partition(";")
        quality = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        if coding:
            qualities[coding.strip().lower()] = quality
    if "gzip" in qualities:
        return qualities["gzip"] > 0
    return qualities.get("*", 0.0) > 0


def _digest(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=16).digest()


def _compress(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=6, mtime=0)  # mtime 0: the same answer, the same bytes


class _Packed:
    """Compressed bodies by ETag, the least recently used dropped past a byte budget."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self.entries: OrderedDict[bytes, bytes] = OrderedDict()

    def get(self, key: bytes) -> bytes | None:
        packed = self.entries.get(key)
        if packed is not None:
            self.entries.move_to_end(key)
        return packed

    def put(self, key: bytes, packed: bytes) -> None:
        if len(packed) > self.max_bytes // 4 or key in self.entries:
            return
        self.entries[key] = packed
        self.size += len(packed)
        while self.size > self.max_bytes:
            _, dropped = self.entries.popitem(last=False)
            self.size -= len(dropped)


class Compress:
    def __init__(self, app: ASGIApp, kept_bytes: int = 16 * 2**20) -> None:
        self.app = app
        self.kept = _Packed(kept_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not accepts_gzip(Headers(scope=scope).get("accept-encoding", "")):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        passing = False

        async def maybe_compressed(message: Message) -> None:
            nonlocal start, passing
            if message["type"] == "http.response.start":
                start = message
                return
            if passing or start is None or message["type"] != "http.response.body":
                await send(message)
                return
            headers = MutableHeaders(raw=list(start["headers"]))
            body = message.get("body", b"")
            if message.get("more_body", False) or not self._worth_it(start["status"], headers, body):
                passing = True  # a streamed or small answer goes as it is
                headers.add_vary_header("Accept-Encoding")
                await send({**start, "headers": headers.raw})
                await send(message)
                return
            large = len(body) >= INLINE_SIZE
            key = None
            if "etag" in headers:
                key = await asyncio.to_thread(_digest, body) if large else _digest(body)
            packed = self.kept.get(key) if key else None
            if packed is None:
                packed = await asyncio.to_thread(_compress, body) if large else _compress(body)
                if key:
                    self.kept.put(key, packed)
            headers["Content-Encoding"] = "gzip"
            headers["Content-Length"] = str(len(packed))
            headers.add_vary_header("Accept-Encoding")
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": packed, "more_body": False})

        await self.app(scope, receive, maybe_compressed)

    @staticmethod
    def _worth_it(status: int, headers: MutableHeaders, body: bytes) -> bool:
        if status != 200 or len(body) < MIN_SIZE or "content-encoding" in headers or "content-range" in headers:
            return False
        return headers.get("content-type", "").lower().startswith(COMPRESSIBLE)
