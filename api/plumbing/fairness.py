"""Fair sharing between clients: a cap on each client's requests in flight, and a rate limit per client.

One client may hold at most `concurrent` requests at once (so never more than that many query
workers) and send `rate` requests a second on average, with bursts up to `burst`; over either it
gets 429 with Retry-After, at once, without touching a worker. Clients are told apart by account when
they send an account's API token (`Authorization: Bearer`), else by address (behind a trusted proxy,
the forwarded address uvicorn puts in the scope): an account has one share wherever it sends from, and
its own share however many others send from its address. Tokens are known by their SHA-256, from a list
of every account's read from the ledger at most once a minute (a new token shares by account within a
minute; until then its requests are its address's); a token on no list is its address's, so made-up
tokens buy no share and cost no look-up. Answers from the response cache never reach this layer and cost
nothing. The state per
client is a few numbers, forgotten once the client is idle, and the number of clients remembered
is bounded. Configured addresses are exempt: by default loopback, where local tools (and a reverse proxy
that forwards no client address) connect from.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from kg.changes.accounts import token_digest

FREE = ("/health", "/ready", "/static/", "/docs", "/redoc", "/openapi.json")
TOKENS_FOR = 60.0  # seconds the list of tokens is used before it is read again


@dataclass
class _Client:
    tokens: float
    updated: float
    in_flight: int = 0


class FairShare:
    def __init__(
        self,
        app: ASGIApp,
        *,
        concurrent: int,
        rate: float,
        burst: int,
        exempt: frozenset[str] = frozenset(),
        max_clients: int = 100_000,
        token_owners: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        """`token_owners`: every token's SHA-256 and its account's name (blocking: run in a thread)."""
        self.app = app
        self.token_owners = token_owners
        self.owners: dict[str, str] = {}
        self.owners_until = 0.0
        self._reading_owners: asyncio.Lock | None = None
        self.exempt = exempt
        self.concurrent = concurrent
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self.clients: OrderedDict[str, _Client] = OrderedDict()

    def _client(self, key: str, now: float) -> _Client:
        client = self.clients.get(key)
        if client is None:
            client = self.clients[key] = _Client(tokens=float(self.burst), updated=now)
            while len(self.clients) > self.max_clients:
                oldest, state = next(iter(self.clients.items()))
                if state.in_flight:  # never forget a client with requests in flight: its count must come back
                    self.clients.move_to_end(oldest)
                    break
                del self.clients[oldest]
        else:
            self.clients.move_to_end(key)
            client.tokens = min(self.burst, client.tokens + (now - client.updated) * self.rate)
            client.updated = now
        return client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(FREE) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        address = scope["client"][0] if scope.get("client") else "unknown"
        if address in self.exempt:
            await self.app(scope, receive, send)
            return
        token = _bearer(scope) if self.token_owners is not None else None
        account = await self._owner(token) if token else None
        key = f"account:{account}" if account else address
        client = self._client(key, time.monotonic())
        if client.in_flight >= self.concurrent:
            await _too_many(
                send,
                1,
                f"at most {self.concurrent} requests from one client are answered at once; "
                "wait for an answer before sending the next request",
            )
            return
        if client.tokens < 1:
            wait = max(1, int((1 - client.tokens) / self.rate + 0.999))
            await _too_many(
                send,
                wait,
                f"at most {self.rate:g} requests a second from one client "
                f"(bursts of {self.burst}); try again in {wait} s",
            )
            return
        client.tokens -= 1
        client.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            client.in_flight -= 1

    async def _owner(self, token: str) -> str | None:
        """The account whose token this is, by the list of tokens (read again once it is a minute old)."""
        assert self.token_owners is not None
        if time.monotonic() > self.owners_until:
            if self._reading_owners is None:
                self._reading_owners = asyncio.Lock()
            async with self._reading_owners:  # requests arriving meanwhile wait for the one reading
                if time.monotonic() > self.owners_until:
                    try:
                        self.owners = await asyncio.to_thread(self.token_owners)
                    except Exception:  # no ledger (yet): every request is its address's until it can be read
                        self.owners = {}
                    self.owners_until = time.monotonic() + TOKENS_FOR
        return self.owners.get(token_digest(token))


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return (token.strip() or None) if scheme.lower() == "bearer" else None
    return None


async def _too_many(send: Send, retry_after: int, detail: str) -> None:
    body = json.dumps({"type": "about:blank", "title": "Too many requests", "status": 429, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
