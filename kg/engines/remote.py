"""An external SPARQL 1.1 server as the store: queries through SPARQLWrapper, loads through the Graph Store.

What the embedded engine guarantees holds here too:
- the same checks: kg.sparql.guard first, then Oxigraph's own parser and planner on an empty
  store (nothing is evaluated), so only standard SPARQL 1.1 with standard functions is
  forwarded: no vendor pragmas (Virtuoso's DEFINE), no extension functions, no updates;
- every forwarded request is sent as a query (`query=`), never as an update, whatever
  SPARQLWrapper's own guess of the query type is;
- the dataset is always explicit (default-graph-uri and named-graph-uri = the build's graphs,
  unless the client or the query names graphs), so answers match the embedded store's union
  default graph and nothing else in a shared store is visible;
- the same time budget (every remote call has a timeout; the worker thread is never left hanging
  longer than the budget) and the same row budget;
- named-query values are bound as RDF terms in a trailing VALUES clause (SPARQL 1.1's own binding
  mechanism), serialised by Oxigraph, never formatted into the query by hand.

Credentials live in SecretStr settings; no message, log line or response carries them or the
store's URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import logging
import math
import random
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx
import pyoxigraph as ox
from SPARQLWrapper import BASIC, DIGEST, POST, URLENCODED, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import (
    EndPointInternalError,
    EndPointNotFound,
    QueryBadFormed,
    SPARQLWrapperException,
    Unauthorized,
    URITooLong,
)

from kg.engines.outcome import shape_outcome
from kg.engines.protocol import QueryJob, QueryOutcome, decode_term
from kg.errors import (
    EngineUnavailable,
    KGError,
    PublishError,
    QueryDefinitionError,
    QueryParameterError,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    StoreFailed,
    StoreTimeout,
)
from kg.settings import Settings
from kg.sparql.guard import QUERY_FORMS, check_query, form_token, parse_problem, tokens

log = logging.getLogger("capkg.remote")

MAX_RESPONSE_BYTES = 256 * 2**20  # a single answer larger than this is refused rather than buffered
READ_CHUNK = 1 << 16
SELECT_ACCEPT = "application/sparql-results+json"
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9, text/plain;q=0.5"
EMPTY_GRAPH = "urn:x-capkg:no-such-graph"  # named instead of graphs outside the dataset: no store holds it
IRI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>\"{}|\\^`]*$")


# -- what is forwarded ---------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _syntax_problem(text: str, base_iri: str | None) -> str | None:
    return parse_problem(text, base_iri)


def check_standard_sparql(text: str, base_iri: str | None = None) -> None:
    """Raise QuerySyntaxError unless `text` is a SPARQL 1.1 query the embedded store would accept."""
    problem = _syntax_problem(text, base_iri if base_iri and IRI.match(base_iri) else None)
    if problem:
        raise QuerySyntaxError(problem, field="query")


def bind_values(text: str, substitutions: dict[str, Any]) -> str:
    """The query with its variables bound to RDF terms by a VALUES block opening its WHERE group.

    SPARQL 1.1's own way to bind: the terms are serialised by Oxigraph (validated, escaped), never
    formatted by hand. Placed first in the outermost group (not trailing the query), the bindings are
    in scope for the group's FILTERs and OPTIONALs, as with the embedded store's pre-bound variables.
    """
    names = list(substitutions)
    for name in names:
        if not re.fullmatch(r"\w+", name):
            raise QueryParameterError(f"{name!r} is not a variable name", field=name)
    block = (
        " VALUES ("
        + " ".join("?" + name for name in names)
        + ") { ("
        + " ".join(str(decode_term(substitutions[name])) for name in names)
        + ") } "
    )
    opening = _where_group(text)
    return text[: opening + 1] + block + text[opening + 1 :]


def _where_group(text: str) -> int:
    """Position of the `{` that opens the query's WHERE group."""
    items = tokens(text)
    form = next((i for i, t in enumerate(items) if t.kind == "word" and t.text.upper() in QUERY_FORMS), None)
    if form is None:
        raise QueryDefinitionError("the query has no SELECT, CONSTRUCT, ASK or DESCRIBE", field="query")
    index = form + 1
    if items[form].text.upper() == "CONSTRUCT" and index < len(items) and items[index].text == "{":
        depth = 0  # skip the template
        for index in range(form + 1, len(items)):
            depth += {"{": 1, "}": -1}.get(items[index].text, 0)
            if depth == 0:
                break
        index += 1
    parentheses = 0
    for token in items[index:]:
        parentheses += {"(": 1, ")": -1}.get(token.text, 0)
        if token.text == "{" and parentheses == 0:
            return token.position
    raise QueryDefinitionError("the query has no WHERE group to bind values in", field="query")


@lru_cache(maxsize=4096)
def portable_text(text: str) -> str:
    """The query with prefixed names that use backslash escapes (`id:material\\/x`) written as full IRIs.

    The same query, token for token; stores that lack SPARQL 1.1's local-name escapes (Virtuoso 7)
    then read it too.
    """
    items = tokens(text)
    if not any(t.kind == "pname" and "\\" in t.text for t in items):
        return text
    prefixes: dict[str, str] = {}
    pieces, last = [], 0
    for index, token in enumerate(items):
        if (
            token.kind == "word"
            and token.text.upper() == "PREFIX"
            and index + 2 < len(items)
            and items[index + 1].kind == "pname"
            and items[index + 2].kind == "iri"
        ):
            prefixes[items[index + 1].text[:-1]] = items[index + 2].text[1:-1]
        elif token.kind == "pname" and "\\" in token.text:
            name = token.text.rstrip(".")  # a local name never ends in '.': that one ends the triple
            prefix, _, local = name.partition(":")
            if prefix in prefixes:
                iri = prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)
                if IRI.match(iri) and not re.search(r"[#'\"\\]", iri):
                    pieces += [text[last : token.position], f"<{iri}>"]
                    last = token.position + len(name)
    return "".join(pieces) + text[last:]


def forwarded_text(job: QueryJob) -> str:
    text = portable_text(job.text)
    if job.substitutions:
        text = bind_values(text, job.substitutions)
    if job.base_iri and IRI.match(job.base_iri):
        # the SPARQL protocol has no base parameter: relative IRIs resolve against the endpoint, as embedded
        text = f"BASE {ox.NamedNode(job.base_iri)}\n{text}"
    return text


# -- the client ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    user: str
    password: str

    def __repr__(self) -> str:  # never shown, not even in a traceback's locals
        return "Account(***)"


class Retryable(Exception):
    """A failure after which the same read may be sent again (connection refused or reset, 502, 503, 429)."""

    def __init__(self, error: KGError, unreachable: bool) -> None:
        self.error, self.unreachable = error, unreachable
        super().__init__(error.problem)


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

    # queries ---------------------------------------------------------------------------------

    def query(
        self, job: QueryJob, form: str, dataset: tuple[list[str], list[str]] | None, deadline: float
    ) -> QueryOutcome:
        """One query, not retried (the build's own reads)."""
        try:
            return self.attempt(job, form, dataset, deadline)
        except Retryable as failure:
            raise failure.error from None

    def attempt(
        self, job: QueryJob, form: str, dataset: tuple[list[str], list[str]] | None, deadline: float
    ) -> QueryOutcome:
        """One try of a query; a failure after which it may be sent again raises Retryable."""
        started = time.perf_counter()
        body, media_type = self._post_query(forwarded_text(job), form, dataset, deadline)
        failure = _shaped(body, media_type, form, job, started)
        if isinstance(failure, QueryOutcome):
            return failure
        # raised here, with no traceback into the frames that held the parsed results: those are
        # Oxigraph objects of this thread, which must not be dropped on another (the event loop's)
        raise failure

    def _post_query(
        self, text: str, form: str, dataset: tuple[list[str], list[str]] | None, deadline: float
    ) -> tuple[bytes, str]:
        sparql = _DeadlineWrapper(
            self.query_url, deadline=deadline, digest=self.reader if self.reader and self.auth == "digest" else None
        )
        sparql.setMethod(POST)
        sparql.setRequestMethod(URLENCODED)
        sparql.setOnlyConneg(True)  # no format=/output= parameters: only Accept says what we want
        sparql.setQuery(text)
        # SPARQLWrapper guesses the query type with a regular expression and sends what it takes for an
        # update as `update=`. The strict parse has decided that this is a query of this form: say so.
        sparql.queryType = form
        if sparql.isSparqlUpdateRequest():
            raise QueryRefused("this endpoint is read-only", field="query")
        sparql.addCustomHttpHeader("Accept", GRAPH_ACCEPT if form in {"CONSTRUCT", "DESCRIBE"} else SELECT_ACCEPT)
        # said outright: without it some stores (Virtuoso) read the form as Latin-1
        sparql.addCustomHttpHeader("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
        if dataset is not None:
            for graph in dataset[0]:
                sparql.addDefaultGraph(graph)
            for graph in dataset[1]:
                sparql.addNamedGraph(graph)
        if self.reader and self.auth == "basic":
            sparql.setHTTPAuth(BASIC)
            sparql.setCredentials(self.reader.user, self.reader.password)
        # set directly: setTimeout() truncates to whole seconds, and 0 would mean a non-blocking socket
        sparql.timeout = _remaining(deadline)
        try:
            result = sparql.query()
        except QueryBadFormed as exc:
            raise QuerySyntaxError("the SPARQL store rejected the query: " + _excerpt(exc), field="query") from None
        except Unauthorized:
            log.error("the SPARQL store refused the query account's credentials (401)")
            raise EngineUnavailable(
                "the SPARQL store refused this service's credentials; the operator must "
                "correct them (see the server log)",
                retry_after=30,
            ) from None
        except EndPointNotFound:
            log.error("the SPARQL store has no query endpoint at the configured URL (404)")
            raise EngineUnavailable(
                "the SPARQL store's query endpoint was not found; the operator must correct KG_STORE_QUERY_URL",
                retry_after=30,
            ) from None
        except URITooLong:
            raise QuerySyntaxError("the SPARQL store refused the request as too long", field="query") from None
        except EndPointInternalError as exc:
            log.error("the SPARQL store failed a query (500): %s", _excerpt(exc))
            raise StoreFailed("the SPARQL store failed to answer this query; the error was logged") from None
        except urllib.error.HTTPError as exc:
            raise _http_error(exc.code, exc.headers) from None
        except TimeoutError:
            raise StoreTimeout("the SPARQL store did not answer within the query's time budget") from None
        except (urllib.error.URLError, ConnectionError, OSError, http.client.HTTPException) as exc:
            sparql.done()
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError | socket.timeout) or time.monotonic() >= deadline:
                raise StoreTimeout("the SPARQL store did not answer within the query's time budget") from None
            log.warning("the SPARQL store is unreachable: %s", type(reason).__name__)
            raise Retryable(
                EngineUnavailable("the SPARQL store is unreachable; try again shortly"), unreachable=True
            ) from None
        except SPARQLWrapperException as exc:
            log.error("SPARQLWrapper failed: %s", _excerpt(exc))
            raise StoreFailed("the request to the SPARQL store failed; the error was logged") from None
        response = result.response
        media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            return _read(response, deadline), media_type
        finally:
            sparql.done()

    # the build's writes ------------------------------------------------------------------------

    def update(self, text: str, timeout: float) -> None:
        """One SPARQL Update request (the build's switch); not retried: it is not idempotent everywhere."""
        if not self.update_url:
            raise PublishError("no update endpoint is configured", field="KG_STORE_UPDATE_URL")
        sparql = SPARQLWrapper(self.query_url, updateEndpoint=self.update_url)
        sparql.setMethod(POST)
        sparql.setRequestMethod(URLENCODED)
        sparql.setOnlyConneg(True)
        sparql.setQuery(text)
        if not sparql.isSparqlUpdateRequest():
            raise PublishError("internal: the switch is not recognised as an update")
        if self.writer:
            sparql.setHTTPAuth(DIGEST if self.auth == "digest" else BASIC)
            sparql.setCredentials(self.writer.user, self.writer.password)
        sparql.timeout = timeout
        try:
            sparql.query().response.read()
        except Unauthorized:
            raise PublishError(
                "the SPARQL store refused the update account's credentials (401)", field="KG_STORE_USER"
            ) from None
        except (QueryBadFormed, EndPointInternalError, EndPointNotFound, URITooLong) as exc:
            raise PublishError(
                f"the SPARQL store refused the update: {_excerpt(exc)}", field="KG_STORE_UPDATE_URL"
            ) from None
        except urllib.error.HTTPError as exc:
            raise PublishError(
                f"the SPARQL store answered the update with HTTP {exc.code}", field="KG_STORE_UPDATE_URL"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise PublishError(
                f"the SPARQL store's update endpoint is unreachable ({type(getattr(exc, 'reason', exc)).__name__})",
                field="KG_STORE_UPDATE_URL",
            ) from None

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
        auth: httpx.Auth | None = None
        if self.writer:
            auth = (httpx.DigestAuth if self.auth == "digest" else httpx.BasicAuth)(
                self.writer.user, self.writer.password
            )
        for attempt in range(retries + 1):
            try:
                response = httpx.request(
                    method, self.gsp_url, params={"graph": graph}, auth=auth, timeout=timeout, **request
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
                    f"{response.status_code}: {response.text[:300]}",
                    field="KG_STORE_GSP_URL",
                )
            return


XSD_BOOLEAN = ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean")
CANONICAL_BOOLEANS = {"1": ox.Literal("true", datatype=XSD_BOOLEAN), "0": ox.Literal("false", datatype=XSD_BOOLEAN)}


class _Canonical:
    """A store's solutions with booleans in their canonical lexical form (Virtuoso writes 1 and 0)."""

    def __init__(self, solutions: ox.QuerySolutions) -> None:
        self.solutions = solutions
        self.variables = solutions.variables
        self.names = [v.value for v in solutions.variables]

    def __iter__(self) -> Any:
        for solution in self.solutions:
            yield {name: _canonical(solution[name]) for name in self.names}


def _canonical(term: Any) -> Any:
    if isinstance(term, ox.Literal) and term.datatype == XSD_BOOLEAN and term.value in CANONICAL_BOOLEANS:
        return CANONICAL_BOOLEANS[term.value]
    return term


class _DeadlineWrapper(SPARQLWrapper):
    """SPARQLWrapper whose request cannot outlive the query's deadline.

    A socket timeout bounds each read, not the request: a store trickling its status line and headers a
    byte at a time would hold the thread for ever. Each connection gets a timer that shuts its socket
    at the deadline (cancelled once the answer is read; the body is read with the deadline in hand, see
    _read). Digest authentication goes into this request's own opener rather than SPARQLWrapper's,
    which installs a process-wide one.
    """

    def __init__(self, endpoint: str, *, deadline: float, digest: Account | None) -> None:
        super().__init__(endpoint)
        self.deadline = deadline
        self.digest = digest
        self.timers: list[threading.Timer] = []

    def _query(self) -> tuple[Any, str]:
        request = self._createRequest()
        handlers: list[Any] = [
            _deadline_handler(urllib.request.HTTPHandler, http.client.HTTPConnection, self),
            _deadline_handler(urllib.request.HTTPSHandler, http.client.HTTPSConnection, self),
        ]
        if self.digest:
            passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            passwords.add_password(None, self.endpoint, self.digest.user, self.digest.password)
            handlers.append(urllib.request.HTTPDigestAuthHandler(passwords))
        try:
            return urllib.request.build_opener(*handlers).open(request, timeout=self.timeout), self.returnFormat
        except urllib.error.HTTPError as error:  # SPARQLWrapper's own mapping
            self.done()
            exceptions = {
                400: QueryBadFormed,
                404: EndPointNotFound,
                401: Unauthorized,
                414: URITooLong,
                500: EndPointInternalError,
            }
            if error.code in exceptions:
                raise exceptions[error.code](error.read()) from None
            raise
        except BaseException:
            self.done()  # no timer outlives its request
            raise

    def watch(self, connection: http.client.HTTPConnection) -> None:
        def expire() -> None:
            with contextlib.suppress(OSError, AttributeError):
                sock.shutdown(socket.SHUT_RDWR)

        sock = connection.sock
        timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), expire)
        timer.daemon = True
        timer.start()
        self.timers.append(timer)

    def done(self) -> None:
        for timer in self.timers:
            timer.cancel()


def _deadline_handler(handler: type, connection: type, wrapper: _DeadlineWrapper) -> Any:
    class Connection(connection):  # type: ignore[misc, valid-type]
        def connect(self) -> None:
            super().connect()
            wrapper.watch(self)

    if handler is urllib.request.HTTPSHandler:

        class Handler(handler):  # type: ignore[misc, valid-type]
            def https_open(self, request: Any) -> Any:
                return self.do_open(Connection, request, context=getattr(self, "_context", None))
    else:

        class Handler(handler):  # type: ignore[misc, valid-type, no-redef]
            def http_open(self, request: Any) -> Any:
                return self.do_open(Connection, request)

    return Handler()


def _shaped(body: bytes, media_type: str, form: str, job: QueryJob, started: float) -> QueryOutcome | KGError:
    """The store's answer shaped as the job asks, or the error to raise (returned, not raised: see attempt)."""
    try:
        if form in {"CONSTRUCT", "DESCRIBE"}:
            results = ox.parse(body, format=_rdf_format(media_type))
            triples = (ox.Triple(q.subject, q.predicate, q.object) for q in results)
            return shape_outcome(triples, job, started)
        solutions = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        return shape_outcome(
            solutions if isinstance(solutions, ox.QueryBoolean) else _Canonical(solutions), job, started
        )
    except KGError as error:
        return type(error)(error.problem, field=error.field)
    except SyntaxError as exc:
        log.error("the SPARQL store sent an answer that does not parse as %s: %s", media_type, exc)
        return StoreFailed("the SPARQL store sent an answer that does not parse; the error was logged")


def _rdf_format(media_type: str) -> ox.RdfFormat:
    if media_type in {"text/turtle", "application/x-turtle"}:
        return ox.RdfFormat.TURTLE
    if media_type in {"application/rdf+xml"}:
        return ox.RdfFormat.RDF_XML
    return ox.RdfFormat.N_TRIPLES  # application/n-triples, and text/plain, N-Triples' old media type


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise StoreTimeout("the query's time budget ran out before the SPARQL store answered")
    return remaining


def _read(response: Any, deadline: float) -> bytes:
    """The body, in chunks, minding the deadline and the size cap (a slow trickle cannot hold a thread)."""
    chunks, size = [], 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise StoreTimeout("the SPARQL store did not send its whole answer within the query's time budget")
            chunk = response.read1(READ_CHUNK)  # what has arrived: a trickle cannot outlast the deadline
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise StoreFailed(f"the SPARQL store's answer is larger than {MAX_RESPONSE_BYTES >> 20} MiB")
            chunks.append(chunk)
    except TimeoutError:
        raise StoreTimeout("the SPARQL store did not send its whole answer within the query's time budget") from None
    except (ConnectionError, OSError, http.client.HTTPException):
        raise Retryable(
            EngineUnavailable("the connection to the SPARQL store broke; try again shortly"), unreachable=True
        ) from None
    finally:
        with contextlib.suppress(Exception):
            response.close()


def _http_error(status: int, headers: Any) -> Exception:
    if status == 403:
        log.error("the SPARQL store refused the query account (403)")
        return EngineUnavailable(
            "the SPARQL store refused this service's credentials; the operator must correct them (see the server log)",
            retry_after=30,
        )
    if status in {429, 502, 503}:
        after = _retry_after(headers)
        return Retryable(
            EngineUnavailable(
                f"the SPARQL store is overloaded or restarting (HTTP {status}); try again shortly", retry_after=after
            ),
            unreachable=False,
        )
    if status in {408, 504}:
        return StoreTimeout("the SPARQL store gave up on the query within its own time limit")
    log.error("the SPARQL store answered a query with HTTP %s", status)
    return StoreFailed(f"the SPARQL store answered with HTTP {status}; the error was logged")


def _retry_after(headers: Any) -> int | None:
    value = headers.get("Retry-After") if headers is not None else None
    return int(value) if value and str(value).isdigit() else None


def _excerpt(exc: Exception) -> str:
    """The store's own words about a failure: one short line, with anything URL-like removed."""
    text = str(exc)
    text = text.split("Response:", 1)[-1]
    text = re.sub(r"https?://\S+", "<url>", text)
    text = re.sub(r"\\n|\s+", " ", text).strip(" b'\"")
    return text[:300]


# -- the engine ----------------------------------------------------------------------------------


class RemoteEngine:
    """The query engine's interface (start, run, healthy, status, stop) over an external SPARQL store.

    Requests run in a small thread pool (SPARQLWrapper is blocking); a semaphore holds the number in
    flight to `connections` and is released only when a request's thread is really done, so a slow
    store fills the slots (and clients get a timely 503) instead of piling up threads.
    """

    def __init__(
        self,
        client: StoreClient,
        graphs: list[str],
        *,
        timeout: float = 10.0,
        max_rows: int = 10_000,
        connections: int = 8,
        retries: int = 2,
        cooldown: float = 2.0,
    ) -> None:
        self.client = client
        self.graphs = sorted(graphs)
        self.timeout = timeout
        self.max_rows = max_rows
        self.connections = connections
        self.retries = retries
        self.cooldown = cooldown
        self.down_until = 0.0
        self.failures = 0
        self.retried = 0
        self.in_flight = 0
        self._executor: ThreadPoolExecutor | None = None
        self._slots: asyncio.Semaphore | None = None
        self._probed: tuple[float, bool] = (0.0, False)
        self.release: str | None = None  # the release the store holds (kg.engines.publish), once read

    @classmethod
    def from_settings(cls, settings: Settings, graphs: list[str]) -> RemoteEngine:
        return cls(
            StoreClient(settings),
            graphs,
            timeout=settings.query_timeout,
            max_rows=settings.max_rows,
            connections=settings.store_connections,
            retries=settings.store_retries,
            cooldown=settings.store_cooldown,
        )

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(self.connections, thread_name_prefix="sparql-store")
        self._slots = asyncio.Semaphore(self.connections)

    async def stop(self) -> None:
        if self._executor:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def dataset(self, job: QueryJob) -> tuple[list[str], list[str]] | None:
        if job.default_graphs is not None or job.named_graphs is not None:
            # a graph outside the build's is an empty graph, as on the embedded store: it is never named to a
            # store that may hold other data
            return self._ours(job.default_graphs), self._ours(job.named_graphs)
        if not job.union_default_graph:
            return None  # the query's own FROM / FROM NAMED (checked against the dataset's graphs) decide
        return self.graphs, self.graphs

    def _ours(self, graphs: list[str] | None) -> list[str]:
        if not graphs:
            return []
        kept = [graph for graph in graphs if graph in self.graphs]
        return kept or [EMPTY_GRAPH]

    async def run(self, job: QueryJob, *, timeout: float | None = None) -> QueryOutcome:
        budget = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        if job.max_rows is None:
            job.max_rows = self.max_rows
        # what leaves is checked as it leaves: the guard first (the parser must never see a live SERVICE:
        # Oxigraph would contact it), then the parser, on the client's text and on the exact text sent
        # (a client's text has passed check_query(untrusted=True) at /sparql: no SERVICE anywhere in it)
        dataset_given = job.default_graphs is not None or job.named_graphs is not None
        check_query(job.text, set(self.graphs), dataset_given=dataset_given, untrusted=False)
        check_standard_sparql(job.text, job.base_iri)
        form = _form(job.text)
        forwarded = forwarded_text(job)
        check_query(forwarded, set(self.graphs), dataset_given=dataset_given, untrusted=False)
        check_standard_sparql(forwarded, None)
        attempt = 0
        while True:
            wait = self.down_until - time.monotonic()
            if wait > 0:
                raise EngineUnavailable(
                    "the SPARQL store was unreachable moments ago; try again shortly",
                    retry_after=max(1, math.ceil(wait)),
                )
            try:
                outcome = await self._once(job, form, deadline)
            except EngineUnavailable:  # refused credentials, no endpoint: /ready says so at once
                self._probed = (time.monotonic(), False)
                raise
            except Retryable as failure:
                attempt += 1
                delay = min(0.05 * 2**attempt, 1.0) * (0.5 + random.random())  # noqa: S311 - jitter
                if attempt > self.retries or time.monotonic() + delay >= deadline:
                    self.failures += 1
                    if failure.unreachable:
                        self.down_until = time.monotonic() + self.cooldown
                        self._probed = (time.monotonic(), False)
                    raise failure.error from None
                self.retried += 1
                await asyncio.sleep(delay)
                continue
            self.down_until = 0.0
            self._probed = (time.monotonic(), True)
            return outcome

    async def _once(self, job: QueryJob, form: str, deadline: float) -> QueryOutcome:
        assert self._executor is not None and self._slots is not None, "start() the engine first"
        try:
            await asyncio.wait_for(self._slots.acquire(), max(0.001, deadline - time.monotonic()))
        except TimeoutError:
            raise QueryTimeout(
                f"all {self.connections} connections to the SPARQL store stayed busy for the "
                "whole time budget; try again"
            ) from None
        self.in_flight += 1
        future = asyncio.get_running_loop().run_in_executor(
            self._executor, self.client.attempt, job, form, self.dataset(job), deadline
        )
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(0.001, deadline - time.monotonic()))
        except TimeoutError:
            future.add_done_callback(_consume)  # its thread ends at the deadline too; its outcome goes nowhere
            raise StoreTimeout("the SPARQL store did not answer within the query's time budget") from None

    def _release(self, _: Any) -> None:
        self.in_flight -= 1
        assert self._slots is not None
        self._slots.release()

    async def healthy(self) -> bool:
        """Whether the store answers a trivial query (remembered for a second: load balancers poll often)."""
        checked, answer = self._probed
        if time.monotonic() - checked < 1.0:
            return answer
        try:
            await self.run(QueryJob("ASK {}", select_format="json"), timeout=min(2.0, self.timeout))
            answer = True
        except KGError:
            answer = False
        self._probed = (time.monotonic(), answer)
        return answer

    def status(self) -> dict[str, object]:
        return {
            "store": "sparql",
            "store_release": self.release,
            "connections": self.connections,
            "in_flight": self.in_flight,
            "failures": self.failures,
            "retries": self.retried,
            "cooling_down": max(0.0, round(self.down_until - time.monotonic(), 1)),
        }


def _form(text: str) -> str:
    token = form_token(text)
    return token.text.upper() if token else "SELECT"


def _consume(future: Any) -> None:
    with contextlib.suppress(BaseException):
        future.exception()
