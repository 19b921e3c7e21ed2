"""The store's failures as the project's errors: what may be sent again, what clients are told, what is logged.

No message and no log line carries a credential or one of the store's URLs: the store's own words are
quoted only through `excerpt`, which removes anything URL-like.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol

from kg.errors import EngineUnavailable, KGError, QuerySyntaxError, StoreFailed, StoreTimeout

log = logging.getLogger("capkg.remote")

CREDENTIALS_REFUSED = (
    "the SPARQL store refused this service's credentials; the operator must correct them (see the server log)"
)


class Retryable(Exception):
    """A failure after which the same read may be sent again (connection refused or broken, 502, 503, 429)."""

    def __init__(self, error: KGError, unreachable: bool) -> None:
        self.error, self.unreachable = error, unreachable
        super().__init__(error.problem)


def unreachable(problem: str) -> Retryable:
    return Retryable(EngineUnavailable(problem), unreachable=True)


def timed_out(what: str = "answer") -> StoreTimeout:
    return StoreTimeout(f"the SPARQL store did not {what} within the query's time budget")


class Headers(Protocol):
    """An answer's headers: httpx's, or http.client's."""

    def get(self, name: str, default: Any = None) -> Any: ...


def query_failure(status: int, headers: Headers, words: str) -> Exception:
    """What a query answered with HTTP `status` (not 2xx) raises; `words`: the store's, from its answer."""
    if status == 400:
        return QuerySyntaxError("the SPARQL store rejected the query: " + words, field="query")
    if status in {401, 403}:
        log.error("the SPARQL store refused the query account's credentials (%s)", status)
        return EngineUnavailable(CREDENTIALS_REFUSED, retry_after=30)
    if status == 404:
        log.error("the SPARQL store has no query endpoint at the configured URL (404)")
        return EngineUnavailable(
            "the SPARQL store's query endpoint was not found; the operator must correct KG_STORE_QUERY_URL",
            retry_after=30,
        )
    if status == 414:
        return QuerySyntaxError("the SPARQL store refused the request as too long", field="query")
    if status == 500:
        log.error("the SPARQL store failed a query (500): %s", words)
        return StoreFailed("the SPARQL store failed to answer this query; the error was logged")
    if status in {429, 502, 503}:
        return Retryable(
            EngineUnavailable(
                f"the SPARQL store is overloaded or restarting (HTTP {status}); try again shortly",
                retry_after=retry_after(headers),
            ),
            unreachable=False,
        )
    if status in {408, 504}:
        return StoreTimeout("the SPARQL store gave up on the query within its own time limit")
    log.error("the SPARQL store answered a query with HTTP %s", status)
    return StoreFailed(f"the SPARQL store answered with HTTP {status}; the error was logged")


def retry_after(headers: Headers) -> int | None:
    value = headers.get("Retry-After")
    return int(value) if value and value.isdigit() else None


def excerpt(text: str) -> str:
    """The store's own words about a failure: one short line, with anything URL-like removed."""
    text = re.sub(r"https?://\S+", "<url>", text)
    return re.sub(r"\s+", " ", text).strip()[:300]
