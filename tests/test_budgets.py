"""Budgets that hold whatever a client asks (issue #11): the bytes of an answer, the bytes of the response
cache, a pool of query workers that is refilled when a worker dies, and a worker's memory.

Answers over the byte budget are refused with a 422 problem while they are written, never cut; the REST
cache stays within its byte budget; a worker that dies, idle or busy, is replaced at once and /health and
/ready say so while none is alive; a query that needs more memory than a worker may use gets the
documented 422, not a 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
from starlette.types import Message

from api.plumbing.cache import ResponseCache
from kg.engines.embedded import EmbeddedEngine
from kg.engines.outcome import execute, shape_outcome
from kg.engines.protocol import QueryJob, QueryOutcome
from kg.errors import ResultTooLarge
from kg.sparql.results import GRAPH_FORMATS
from tests.conftest import Built
from tests.server import running_server

MAX_ANSWER = 1_000_000  # bytes; the server's own catalogue queries (~300 KB) fit under it
WORKERS = 2
RECOVERY_S = 30  # a replacement loads the dataset; the machine may be busy
PROBLEM = "application/problem+json"

# ~5 MB in any format: 4000 rows of a few hundred characters each, under a row budget of 5000
WIDE_SELECT = (
    "SELECT ?s ?p ?o (CONCAT(STR(?s), STR(?p), STR(?o), STR(?s), STR(?p), STR(?o)) AS ?all) "
    "WHERE { ?s ?p ?o } LIMIT 4000"
)
ONE_LONG_VALUE = "SELECT (GROUP_CONCAT(CONCAT(STR(?p), STR(?o))) AS ?all) WHERE { ?s ?p ?o FILTER(!isBlank(?o)) }"
WIDE_CONSTRUCT = (
    "CONSTRUCT { ?s ?p ?o ; <urn:x:copy> ?all } WHERE { ?s ?p ?o "
    "BIND(CONCAT(STR(?p), STR(?o), STR(?p), STR(?o), STR(?p), STR(?o), STR(?p), STR(?o), STR(?p), STR(?o), "
    "STR(?p), STR(?o)) AS ?all) } LIMIT 2400"
)
SMALL_SELECT = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10"
SMALL_CONSTRUCT = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 10"


# -- the answer's byte budget, in the writers --------------------------------------------------------


@pytest.fixture(scope="module")
def awkward_store() -> ox.Store:
    """Terms whose written form is longer than their value in every format: escapes, tags, datatypes, unbound."""
    store = ox.Store()
    ex = "http://example.org/"
    values: list[ox.Literal | ox.NamedNode | ox.BlankNode] = [
        ox.Literal('quote " backslash \\ tab \t newline \n return \r'),
        ox.Literal("control \x01\x02\x1f"),
        ox.Literal("<xml & markup>"),
        ox.Literal("ünïcödé ✓ 𝄞", language="de"),
        ox.Literal("42", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
        ox.Literal(""),
        ox.Literal("a,b;c"),
        ox.NamedNode(ex + "o"),
        ox.BlankNode("b1"),
    ]
    for number, value in enumerate(values * 20):
        subject = ox.NamedNode(f"{ex}s{number}") if number % 3 else ox.BlankNode(f"s{number}")
        store.add(ox.Quad(subject, ox.NamedNode(ex + "p"), value))
    return store


QUERY_AWKWARD = "SELECT ?s ?o ?missing WHERE { ?s ?p ?o OPTIONAL { ?s <http://example.org/none> ?missing } }"
CONSTRUCT_AWKWARD = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"


@pytest.mark.parametrize("kind", ["json", "xml", "csv", "tsv"])
def test_a_select_answer_of_exactly_the_budget_is_written_one_byte_less_is_refused(
    awkward_store: ox.Store, kind: str
) -> None:
    whole = execute(awkward_store, QueryJob(QUERY_AWKWARD, select_format=kind)).body
    at_budget = execute(awkward_store, QueryJob(QUERY_AWKWARD, select_format=kind, max_bytes=len(whole)))
    assert at_budget.body == whole and at_budget.count == 180
    with pytest.raises(ResultTooLarge, match=f"larger than {len(whole) - 1} bytes"):
        execute(awkward_store, QueryJob(QUERY_AWKWARD, select_format=kind, max_bytes=len(whole) - 1))


@pytest.mark.parametrize("media_type", list(GRAPH_FORMATS))
def test_a_graph_answer_of_exactly_the_budget_is_written_one_byte_less_is_refused(
    awkward_store: ox.Store, media_type: str
) -> None:
    prefixes = {"ex": "http://example.org/"}
    whole = execute(awkward_store, QueryJob(CONSTRUCT_AWKWARD, graph_format=media_type, prefixes=prefixes)).body
    job = QueryJob(CONSTRUCT_AWKWARD, graph_format=media_type, prefixes=prefixes, max_bytes=len(whole))
    assert execute(awkward_store, job).body == whole
    job.max_bytes = len(whole) - 1
    with pytest.raises(ResultTooLarge, match=f"larger than {len(whole) - 1} bytes"):
        execute(awkward_store, job)


class _Solutions:
    """Query solutions that count how many were read (a store's, or a remote store's parsed answer)."""

    def __init__(self, count: int, size: int) -> None:
        self.variables = [ox.Variable("x")]
        self.count, self.size, self.read = count, size, 0

    def __iter__(self) -> Iterator[list[ox.Literal]]:
        for number in range(self.count):
            self.read += 1
            yield [ox.Literal(str(number) * self.size)]  # by position in the variables' order, as ox.QuerySolution


def test_an_answer_over_the_budget_is_refused_as_it_is_read_not_after() -> None:
    for kind in ("json", "xml", "csv", "tsv", "rows"):
        solutions = _Solutions(count=10_000, size=1000)
        with pytest.raises(ResultTooLarge):
            shape_outcome(solutions, QueryJob("", select_format=kind, max_bytes=20_000), time.perf_counter())
        assert solutions.read <= 21, f"{kind}: {solutions.read} rows were read for a budget of 20 rows"

    read = 0

    def triples() -> Iterator[ox.Triple]:
        nonlocal read
        for number in range(10_000):
            read += 1
            yield ox.Triple(ox.NamedNode(f"urn:x:{number}"), ox.NamedNode("urn:x:p"), ox.Literal("v" * 1000))

    for media_type in [*GRAPH_FORMATS, "triples"]:
        read = 0
        with pytest.raises(ResultTooLarge):
            shape_outcome(triples(), QueryJob("", graph_format=media_type, max_bytes=20_000), time.perf_counter())
        assert read <= 40, f"{media_type}: {read} triples were read for a budget of about 20"


# -- the response cache's byte budget --------------------------------------------------------------


def _fake_app(sizes: dict[bytes, int]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        size = sizes[scope["query_string"]]
        headers = [(b"content-type", b"application/json"), (b"etag", b'"' + scope["query_string"] + b'"')]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for start in range(0, size, 4096):  # streamed in parts, as large responses are
            chunk = b"x" * min(4096, size - start)
            await send({"type": "http.response.body", "body": chunk, "more_body": start + 4096 < size})

    return app


def _request(cache: ResponseCache, query: bytes) -> tuple[int, bytes]:
    service = SimpleNamespace(ready=True, runtime=SimpleNamespace(version="v1"))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/materials",
        "query_string": query,
        "headers": [(b"host", b"127.0.0.1")],
        "app": SimpleNamespace(state=SimpleNamespace(service=service)),
    }
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    asyncio.run(cache(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_the_response_cache_stays_within_its_byte_budget() -> None:
    budget = 1_000_000
    rng = random.Random(11)
    sizes = {str(n).encode(): rng.choice([100, 5_000, 30_000, 60_000]) for n in range(400)}
    sizes[b"huge"] = budget // 16 + 1  # over a sixteenth of the budget: answered, never kept
    fresh = {f"fresh{n}".encode(): 30_000 for n in range(10)}
    cache = ResponseCache(_fake_app(sizes | fresh), max_entries=10_000, max_bytes=budget)
    for query in [*sizes, *sizes]:
        status, body = _request(cache, query)
        assert status == 200 and len(body) == sizes[query]
        kept = sum(len(e.body) + sum(len(n) + len(v) for n, v in e.headers) for e in cache.entries.values())
        assert kept <= cache.size <= budget
        assert cache.size == sum(entry.size for entry in cache.entries.values())
    assert not any(key[2] == b"huge" for key in cache.entries)
    assert cache.size > budget // 2, "the cache should be well filled"
    # least recently used goes first: the oldest, once asked for again, stays while the next oldest goes
    keep, other = (key[2] for key in list(cache.entries)[:2])
    _request(cache, keep)
    for query in fresh:
        _request(cache, query)
    left = {key[2] for key in cache.entries}
    assert keep in left and other not in left and set(fresh) <= left
    assert cache.size <= budget


def test_the_response_cache_still_holds_to_its_entry_count() -> None:
    sizes = {str(n).encode(): 10 for n in range(100)}
    cache = ResponseCache(_fake_app(sizes), max_entries=7)
    for query in sizes:
        _request(cache, query)
    assert len(cache.entries) == 7 and cache.max_bytes == 64 * 2**20


# -- answers over the byte budget, on a real server ---------------------------------------------------


@pytest.fixture(scope="module")
def server(built: Built) -> Iterator[str]:
    with running_server(
        built.settings.build_dir,
        max_answer_bytes=str(MAX_ANSWER),
        max_rows="5000",
        query_workers=str(WORKERS),
        access_log="false",
    ) as base:
        yield base


def _sparql(base: str, query: str, accept: str, method: str = "GET") -> httpx.Response:
    if method == "GET":
        return httpx.get(base + "/sparql", params={"query": query}, headers={"Accept": accept}, timeout=60)
    return httpx.post(base + "/sparql", data={"query": query}, headers={"Accept": accept}, timeout=60)


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        (WIDE_SELECT, "application/sparql-results+json"),
        (WIDE_SELECT, "text/csv"),
        (WIDE_SELECT, "application/sparql-results+xml"),
        (ONE_LONG_VALUE, "application/sparql-results+json"),
        (ONE_LONG_VALUE, "text/tab-separated-values"),
        (WIDE_CONSTRUCT, "text/turtle"),
        (WIDE_CONSTRUCT, "application/n-triples"),
    ],
)
def test_an_answer_over_the_byte_budget_is_a_422_problem(server: str, query: str, accept: str) -> None:
    for method in ("GET", "POST"):
        response = _sparql(server, query, accept, method)
        assert response.status_code == 422, response.text[:300]
        assert response.headers["content-type"].startswith(PROBLEM)
        problem = response.json()
        assert problem["status"] == 422 and problem["field"] == "query"
        assert f"larger than {MAX_ANSWER} bytes" in problem["detail"]
        assert "LIMIT" in problem["detail"]  # how to narrow it


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        (SMALL_SELECT, "application/sparql-results+json"),
        (SMALL_SELECT, "text/csv"),
        (SMALL_SELECT, "application/sparql-results+xml"),
        (SMALL_SELECT, "text/tab-separated-values"),
        (SMALL_CONSTRUCT, "text/turtle"),
        (SMALL_CONSTRUCT, "application/n-triples"),
        (SMALL_CONSTRUCT, "application/ld+json"),
        ("ASK { ?s ?p ?o }", "application/sparql-results+json"),
    ],
)
def test_an_answer_under_the_byte_budget_is_answered(server: str, query: str, accept: str) -> None:
    response = _sparql(server, query, accept)
    assert response.status_code == 200, response.text[:300]
    assert 0 < len(response.content) < MAX_ANSWER


def test_the_rest_api_answers_under_the_byte_budget(server: str) -> None:
    assert httpx.get(server + "/api/materials", params={"per_page": 100}, timeout=60).status_code == 200
    assert httpx.get(server + "/ready", timeout=10).status_code == 200


# -- workers that die are replaced ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    log = tmp_path_factory.mktemp("pool") / "server.log"
    with running_server(
        built.settings.build_dir, log_file=log, query_workers=str(WORKERS), query_timeout="3", access_log="false"
    ) as base:
        yield base, log


def _health(base: str) -> httpx.Response:
    return httpx.get(base + "/health", timeout=10)


def _worker_pids(base: str) -> list[int]:
    pids = _health(base).json()["worker_pids"]
    for pid in pids:  # only ever signal this server's query workers
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert b"multiprocessing" in cmdline, cmdline
    return list(pids)


def _until_full(base: str, gone: set[int]) -> float:
    """Seconds until /health shows the whole pool again, none of `gone` in it."""
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_S:
        health = _health(base)
        body = health.json()
        if health.status_code == 200 and body["workers"] == WORKERS and not gone & set(body["worker_pids"]):
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"the pool was not full again within {RECOVERY_S} s: {_health(base).json()}")


def _ask(base: str) -> int:
    return httpx.get(base + "/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=30).status_code


def test_a_worker_killed_while_idle_is_replaced_at_once(pool: tuple[str, Path]) -> None:
    base, log = pool
    _until_full(base, set())
    before = _health(base).json()
    assert before["workers"] == before["workers_expected"] == WORKERS and before["status"] == "ok"
    victim = _worker_pids(base)[0]
    os.kill(victim, signal.SIGKILL)
    took = _until_full(base, {victim})
    assert took < 15, f"the pool took {took:.1f} s to refill"
    after = _health(base).json()
    assert after["worker_restarts"] >= before["worker_restarts"] + 1
    assert [_ask(base) for _ in range(20)] == [200] * 20  # zero failed queries once recovered
    text = log.read_text(errors="replace")
    assert f"query worker {victim} died while idle (killed by SIGKILL)" in text


def test_with_every_worker_killed_ready_and_health_say_503_until_they_are_back(pool: tuple[str, Path]) -> None:
    base, _ = pool
    for _ in range(3):
        _until_full(base, set())
        victims = _worker_pids(base)
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        seen: set[tuple[int, int]] = set()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            ready, health = httpx.get(base + "/ready", timeout=10), _health(base)
            seen.add((ready.status_code, health.status_code))
            if (503, 503) in seen:
                assert health.json()["status"] == "degraded" and health.json()["workers"] == 0
                break
        assert (503, 503) in seen, f"/ready and /health never said 503 with no worker alive: {seen}"
        _until_full(base, set(victims))
        assert httpx.get(base + "/ready", timeout=10).status_code == 200
        assert _health(base).json()["status"] == "ok"
        assert [_ask(base) for _ in range(5)] == [200] * 5


def test_the_pool_refills_after_queries_over_their_time_budget(pool: tuple[str, Path]) -> None:
    base, _ = pool
    _until_full(base, set())
    # counted, not sorted: a sort of the cross product also grows the worker's memory, and on a fast machine it
    # reached the worker's memory budget (422) before the time budget (503); a count holds one number
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    statuses: list[int] = []

    def ask_slow() -> None:
        statuses.append(httpx.get(base + "/sparql", params={"query": slow}, timeout=60).status_code)

    for _ in range(2):
        threads = [threading.Thread(target=ask_slow) for _ in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert statuses == [503] * (2 * WORKERS)
    _until_full(base, set())
    assert [_ask(base) for _ in range(5)] == [200] * 5


def test_a_query_given_up_by_its_caller_does_not_cost_a_worker(built: Built) -> None:
    """A request cancelled while its query runs: the worker is stopped and replaced, not lost to the pool."""

    async def scenario() -> tuple[dict[str, object], QueryOutcome]:
        engine = EmbeddedEngine(built.result.directory / "dataset.nq", workers=1, timeout=30)
        await engine.start()
        try:
            slow = asyncio.create_task(
                engine.run(QueryJob("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i"))
            )
            await asyncio.sleep(0.5)
            slow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await slow
            answer = await engine.run(QueryJob("ASK { ?s ?p ?o }"), timeout=RECOVERY_S)
            return engine.status(), answer
        finally:
            await engine.stop()

    status, answer = asyncio.run(scenario())
    assert answer.body == b'{"head": {}, "boolean": true}'
    assert status["workers"] == 1 and status["worker_restarts"] == 1


# -- a worker's memory -----------------------------------------------------------------------------------

# 8 million concatenations of three texts of 40 characters or more, joined: gigabytes, built in Oxigraph
# (one row) before anything is written; it stops at the worker's address-space limit in a second or two
MEMORY_BOMB = """
SELECT (GROUP_CONCAT(CONCAT(?a, ?b, ?c)) AS ?all) WHERE {
  { SELECT (STR(?x) AS ?a) WHERE { ?s ?p ?x FILTER(isLiteral(?x) && STRLEN(STR(?x)) > 40) } LIMIT 200 }
  { SELECT (STR(?y) AS ?b) WHERE { ?s ?p ?y FILTER(isLiteral(?y) && STRLEN(STR(?y)) > 40) } LIMIT 200 }
  { SELECT (STR(?z) AS ?c) WHERE { ?s ?p ?z FILTER(isLiteral(?z) && STRLEN(STR(?z)) > 40) } LIMIT 200 }
}"""


@pytest.mark.parametrize("worker_store", ["memory", "disk"])
def test_a_query_over_the_worker_memory_limit_gets_the_documented_422(built: Built, worker_store: str) -> None:
    with running_server(
        built.settings.build_dir,
        worker_memory_mb="400",
        query_workers=str(WORKERS),
        query_timeout="60",
        worker_store=worker_store,
    ) as base:
        response = httpx.get(base + "/sparql", params={"query": MEMORY_BOMB}, timeout=120)
        assert response.status_code == 422, response.text[:300]
        assert response.headers["content-type"].startswith(PROBLEM)
        detail = response.json()["detail"]
        assert "more memory than a query worker may use" in detail and "KG_WORKER_MEMORY_MB" in detail
        assert "400 MiB" in detail
        _until_full(base, set())
        assert [_ask(base) for _ in range(5)] == [200] * 5


# 512,000 distinct concatenations held at once in the worker, one number answered
DISTINCT_CONCATENATIONS = """
SELECT (COUNT(DISTINCT CONCAT(?a, ?b, ?c)) AS ?n) WHERE {
  { SELECT (STR(?x) AS ?a) WHERE { ?s ?p ?x FILTER(isLiteral(?x) && STRLEN(STR(?x)) > 40) } LIMIT 80 }
  { SELECT (STR(?y) AS ?b) WHERE { ?s ?p ?y FILTER(isLiteral(?y) && STRLEN(STR(?y)) > 40) } LIMIT 80 }
  { SELECT (STR(?z) AS ?c) WHERE { ?s ?p ?z FILTER(isLiteral(?z) && STRLEN(STR(?z)) > 40) } LIMIT 80 }
}"""


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


def test_a_worker_gives_back_the_memory_of_a_query_once_it_is_answered(built: Built) -> None:
    """A worker does not keep the peak of the largest query it ever ran: what a query freed goes back to the
    system (glibc would keep it in its arenas), so four workers do not each hold their own high-water mark."""

    async def scenario() -> tuple[int, int, int]:
        engine = EmbeddedEngine(built.result.directory / "store", workers=1, timeout=60)
        await engine.start()
        try:
            (pid,) = [worker.pid for worker in engine.workers]
            await engine.run(QueryJob("ASK { ?s ?p ?o }"))
            before = _memory_kib(pid, "VmRSS")
            await engine.run(QueryJob(DISTINCT_CONCATENATIONS))
            peak = _memory_kib(pid, "VmHWM")
            for _ in range(100):  # the memory goes back after the answer is sent
                after = _memory_kib(pid, "VmRSS")
                if after - before < 40_000:
                    break
                await asyncio.sleep(0.05)
            return before, peak, after
        finally:
            await engine.stop()

    before, peak, after = asyncio.run(scenario())
    assert peak - before > 100_000, (before, peak)  # the query did hold over 100 MB
    assert after - before < 40_000, (before, peak, after)
