"""Blocking HTTP calls to one external store: its queries (read account) and the build's writes (write account).

A query goes to the query endpoint as a form POST, always in the field `query` (fixed here, never
guessed from the text), with its dataset spelt out (`default-graph-uri`, `named-graph-uri`), and is
held to its deadline from the connection to the last byte of the answer (see .wire, and .transport for
Digest accounts). The build's writes are the Graph Store Protocol's PUT and DELETE (retried: they are
idempotent) and one SPARQL Update request (not retried), through httpx. Each way keeps its connections alive.

Credentials come from SecretStr settings and are held only in Account, which never shows them.
"""

from __future__ import annotations

import http.client
import logging
import time
import weakref
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlencode

import httpx

from kg.engines.protocol import QueryJob, QueryOutcome
from kg.engines.remote.answers import accepted, shaped
from kg.engines.remote.failures import Retryable, excerpt, query_failure, timed_out, unreachable
from kg.engines.remote.text import forwarded_text
from kg.engines.remote.transport import DeadlineTransport, within
from kg.engines.remote.wire import QueryWire, Reply
from kg.errors import PublishError, StoreFailed, StoreTimeout
from kg.settings import Settings

log = logging.getLogger("capkg.remote")

MAX_RESPONSE_BYTES = 256 * 2**20  # a single answer larger than this is refused rather than buffered
ERROR_WORDS_BYTES = 8192  # what is read of an error answer, for its message and the log
FORM = "application/x-www-form-urlencoded; charset=UTF-8"  # without a charset, Virtuoso reads Latin-1
Dataset = tuple[list[str], list[str]]  # default graphs, named graphs


@dataclass(frozen=True)
class Account:
    user: str
    password: str

    def __repr__(self) -> str:  # never shown, not even in a traceback's locals
        return "Account(***)"


class StoreClient:
    """Blocking calls to one external store; safe to use from several threads."""

    def __init__(self, settings: Settings) -> None:
        self.query_url = settings.store_query_url
        self.update_url = settings.store_update_url
        self.gsp_url = settings.store_gsp_url
        self.auth = settings.store_auth
        self.writer = (
            Account(settings.store_user, settings.store_password.get_secret_value()) if settings.store_user else None
        )
        read_user = settings.store_read_user or settings.store_user
        read_password = (
            settings.store_read_password if settings.store_read_user else settings.store_password
        ).get_secret_value()
        self.reader = Account(read_user, read_password) if read_user else None
        # queries with no account or a Basic one go over plain http.client (see .wire); Digest's challenge and
        # the build's writes go through httpx
        self.wire = (
            QueryWire(
                self.query_url,
                settings.store_connections,
                *((self.reader.user, self.reader.password) if self.reader else (None, None)),
            )
            if self.query_url and (self.reader is None or self.auth == "basic")
            else None
        )
        self.http = httpx.Client(
            transport=DeadlineTransport(keepalive=settings.store_connections),
            headers={"Accept-Encoding": "identity"},  # the size cap then holds for what is parsed
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),  # no session shared between accounts
            follow_redirects=False,  # credentials go to the configured URLs and nowhere else
            trust_env=False,  # the settings alone say where the store is: no proxy from the environment
        )
        # a client nobody closes (the build's, a script's) still hangs up its idle connections when dropped
        weakref.finalize(self, self.http.close)

    def close(self) -> None:
        self.http.close()
        if self.wire is not None:
            self.wire.close()

    def _credentials(self, account: Account | None) -> httpx.Auth | None:
        if account is None:
            return None
        if self.auth == "digest":
            # one per request: the nonce count of a challenge is not to be shared between threads
            return httpx.DigestAuth(account.user, account.password)
        return httpx.BasicAuth(account.user, account.password)

    # queries ---------------------------------------------------------------------------------

    def query(self, job: QueryJob, form: str, dataset: Dataset | None, deadline: float) -> QueryOutcome:
        """One query, not retried (the build's own reads)."""
        try:
            return self.attempt(job, form, dataset, deadline)
        except Retryable as failure:
            raise failure.error from None

    def attempt(
        self, job: QueryJob, form: str, dataset: Dataset | None, deadline: float, text: str | None = None
    ) -> QueryOutcome:
        """One try of a query (`text`: the text to send, if already made from the job); a failure after which
        it may be sent again raises Retryable."""
        started = time.perf_counter()
        body, media_type = self._post_query(text or forwarded_text(job), form, dataset, deadline)
        outcome = shaped(body, media_type, form, job, started)
        if isinstance(outcome, QueryOutcome):
            return outcome
        raise outcome  # here, not in shaped(): see there

    def _post_query(self, text: str, form: str, dataset: Dataset | None, deadline: float) -> tuple[bytes, str]:
        fields = [("query", text)]
        if dataset is not None:
            fields += [("default-graph-uri", graph) for graph in dataset[0]]
            fields += [("named-graph-uri", graph) for graph in dataset[1]]
        content, headers = urlencode(fields).encode(), {"Accept": accepted(form), "Content-Type": FORM}
        if self.wire is not None:
            return self._post_over_wire(self.wire, content, headers, deadline)
        request = self.http.build_request(
            "POST", self.query_url, content=content, headers=headers, timeout=_remaining(deadline)
        )
        with within(deadline):
            try:
                response = self.http.send(request, auth=self._credentials(self.reader), stream=True)
            except httpx.TimeoutException:
                raise timed_out() from None
            except httpx.TransportError as exc:
                if time.monotonic() >= deadline:
                    raise timed_out() from None
                log.warning("the SPARQL store is unreachable: %s", type(exc).__name__)
                raise unreachable("the SPARQL store is unreachable; try again shortly") from None
            except httpx.HTTPError as exc:
                log.error("the request to the SPARQL store failed: %s", type(exc).__name__)
                raise StoreFailed("the request to the SPARQL store failed; the error was logged") from None
            try:
                if not response.is_success:
                    raise query_failure(response.status_code, response.headers, _words(response))
                media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                return _read(response, deadline), media_type
            finally:
                response.close()  # mid-answer (at the deadline, over the cap): the connection is closed

    @staticmethod
    def _post_over_wire(wire: QueryWire, content: bytes, headers: dict[str, str], deadline: float) -> tuple[bytes, str]:
        """_post_query over http.client: the same outcomes and errors as through httpx."""
        answering = False  # False until the status line and headers are in: then a failure is the body's
        try:
            with wire.post(content, headers, deadline) as reply:
                if not 200 <= reply.status < 300:
                    raise query_failure(reply.status, reply.headers, _reply_words(reply))
                answering = True
                encoding = str(reply.headers.get("Content-Encoding", "identity")).strip().lower()
                if encoding not in {"identity", ""}:
                    log.error("the SPARQL store sent a %s-encoded answer, asked for none", encoding)
                    raise StoreFailed("the SPARQL store sent a compressed answer it was not asked for; logged")
                media_type = str(reply.headers.get("Content-Type", "")).split(";")[0].strip().lower()
                return reply.read(MAX_RESPONSE_BYTES, over_cap=_too_large), media_type
        except TimeoutError:  # the socket's, or the deadline passed between two operations
            raise timed_out("send its whole answer" if answering else "answer") from None
        except (OSError, http.client.HTTPException) as exc:
            if time.monotonic() >= deadline:
                raise timed_out("send its whole answer" if answering else "answer") from None
            if answering:  # cut off midway, or not HTTP at all
                raise unreachable("the connection to the SPARQL store broke; try again shortly") from None
            log.warning("the SPARQL store is unreachable: %s", type(exc).__name__)
            raise unreachable("the SPARQL store is unreachable; try again shortly") from None

    # the build's writes ------------------------------------------------------------------------

    def update(self, text: str, timeout: float) -> None:
        """One SPARQL Update request (the build's switch); not retried: it is not idempotent everywhere."""
        if not self.update_url:
            raise PublishError("no update endpoint is configured", field="KG_STORE_UPDATE_URL")
        try:
            response = self.http.request(
                "POST",
                self.update_url,
                content=urlencode({"update": text}).encode(),
                headers={"Content-Type": FORM},
                auth=self._credentials(self.writer),
                timeout=timeout,
            )
        except httpx.TimeoutException:
            raise PublishError(
                f"the SPARQL store did not answer the update within {timeout:g} s", field="KG_STORE_LOAD_TIMEOUT"
            ) from None
        except httpx.HTTPError as exc:
            raise PublishError(
                f"the SPARQL store's update endpoint is unreachable ({type(exc).__name__})",
                field="KG_STORE_UPDATE_URL",
            ) from None
        status = response.status_code
        if status == 401:
            raise PublishError("the SPARQL store refused the update account's credentials (401)", field="KG_STORE_USER")
        if status in {400, 404, 414, 500}:
            raise PublishError(
                f"the SPARQL store refused the update: {excerpt(response.text)}", field="KG_STORE_UPDATE_URL"
            )
        if not response.is_success:
            raise PublishError(f"the SPARQL store answered the update with HTTP {status}", field="KG_STORE_UPDATE_URL")

    def put_graph(self, graph: str, ntriples: bytes, timeout: float, retries: int = 2) -> None:
        """Replace one graph through the Graph Store Protocol (PUT is idempotent, so it is retried)."""
        self._graph_store(
            "PUT", graph, timeout, retries, content=ntriples, headers={"Content-Type": "application/n-triples"}
        )

    def delete_graph(self, graph: str, timeout: float, retries: int = 2) -> None:
        self._graph_store("DELETE", graph, timeout, retries, missing_ok=True)

    def _graph_store(
        self, method: str, graph: str, timeout: float, retries: int, *, missing_ok: bool = False, **request: Any
    ) -> None:
        if not self.gsp_url:
            raise PublishError("no Graph Store Protocol endpoint is configured", field="KG_STORE_GSP_URL")
        for attempt in range(retries + 1):
            try:
                response = self.http.request(
                    method,
                    self.gsp_url,
                    params={"graph": graph},
                    auth=self._credentials(self.writer),
                    timeout=timeout,
                    **request,
                )
            except httpx.TimeoutException:
                raise PublishError(
                    f"the Graph Store did not answer {method} of <{graph}> within {timeout:g} s",
                    field="KG_STORE_LOAD_TIMEOUT",
                ) from None
            except httpx.TransportError as exc:
                if attempt < retries:
                    time.sleep(0.5 * 2**attempt)
                    continue
                raise PublishError(
                    f"the Graph Store is unreachable ({type(exc).__name__})", field="KG_STORE_GSP_URL"
                ) from None
            if response.status_code in {502, 503, 504} and attempt < retries:
                time.sleep(0.5 * 2**attempt)
                continue
            if response.status_code in {401, 403}:
                raise PublishError(
                    f"the Graph Store refused the update account's credentials (HTTP {response.status_code})",
                    field="KG_STORE_USER",
                )
            if response.status_code == 404 and missing_ok:
                return
            if response.status_code >= 300:
                raise PublishError(
                    f"the Graph Store answered {method} of <{graph}> with HTTP "
                    f"{response.status_code}: {excerpt(response.text)}",
                    field="KG_STORE_GSP_URL",
                )
            return


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise StoreTimeout("the query's time budget ran out before the SPARQL store answered")
    return remaining


def _read(response: httpx.Response, deadline: float) -> bytes:
    """The answer, chunk by chunk as it arrives, minding the deadline and the size cap.

    Each read on the socket is bounded by the deadline too (see .transport), so a store trickling its
    answer cannot hold the thread past it.
    """
    chunks, size = [], 0
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise _too_large()
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise timed_out("send its whole answer")
    except httpx.TimeoutException:
        raise timed_out("send its whole answer") from None
    except httpx.TransportError:  # cut off midway, or not HTTP at all
        raise unreachable("the connection to the SPARQL store broke; try again shortly") from None
    except httpx.HTTPError as exc:
        log.error("the SPARQL store's answer could not be read: %s", type(exc).__name__)
        raise StoreFailed("the SPARQL store's answer could not be read; the error was logged") from None
    return b"".join(chunks)


def _too_large() -> StoreFailed:
    return StoreFailed(f"the SPARQL store's answer is larger than {MAX_RESPONSE_BYTES >> 20} MiB")


def _reply_words(reply: Reply) -> str:
    """The start of an error answer over the wire, as an excerpt; what does not arrive in time is done without."""
    try:
        head = reply.read(ERROR_WORDS_BYTES)
    except (OSError, http.client.HTTPException):
        head = b""
    return excerpt(head.decode("utf-8", "replace"))


def _words(response: httpx.Response) -> str:
    """The start of an error answer, as an excerpt; what does not arrive in time is done without."""
    head = b""
    try:
        for chunk in response.iter_bytes():
            head += chunk
            if len(head) >= ERROR_WORDS_BYTES:
                break
    except httpx.HTTPError:
        pass
    return excerpt(head[:ERROR_WORDS_BYTES].decode("utf-8", "replace"))
