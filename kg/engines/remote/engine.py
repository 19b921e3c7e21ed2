"""RemoteEngine: the query engine's interface over an external store, with its budgets, retries and cool-down.

Each query is checked where it leaves (the guard on the client's text and on the exact text sent, in a
thread; then Oxigraph's parser and planner on the text sent, in a killable checker process (nothing is
evaluated), under the query's time budget: planning alone can take minutes for a few KB of OPTIONALs, and
nothing a client sends may hold the event loop or an unkillable thread that long), given an explicit
dataset, and run in a small thread pool (the HTTP exchange is blocking) under the query's time budget.
Reads that failed in a way worth another try are sent again with jittered backoff while the budget
allows; a store still unreachable after that is left alone for a cool-down, during which queries are
answered 503 at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import random
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kg.engines.embedded import EmbeddedEngine
from kg.engines.protocol import DEFAULT_MAX_BYTES, Explanation, QueryJob, QueryOutcome, in_default_graph
from kg.engines.remote.client import Dataset, StoreClient
from kg.engines.remote.failures import Retryable
from kg.engines.remote.text import forwarded_text, query_form
from kg.errors import EngineUnavailable, KGError, QuerySyntaxError, QueryTimeout, StoreTimeout
from kg.settings import Settings
from kg.sparql.diagnose import Diagnosis
from kg.sparql.guard import check_query

EMPTY_GRAPH = "urn:x-capkg:no-such-graph"  # named instead of graphs outside the dataset: no store holds it
ACCEPTED_TEXTS = 4096  # digests of texts already parsed and planned: not checked again
# texts whose guard verdicts and rewrite (the text sent) are remembered, by size: sites send the same queries
# again and again, and tokenising them anew cost a sixth of the API's time on the remote path
REMEMBERED_TEXT = 64 * 1024  # characters: longer texts are checked each time, in a thread
REMEMBERED_CHARACTERS = 8 * 2**20  # all remembered texts and rewrites together


class RemoteEngine:
    """The query engine's interface (start, run, healthy, status, stop) over an external SPARQL store.

    A semaphore holds the number of requests in flight to `connections` and is released only when a
    request's thread is really done, so a slow store fills the slots (and clients get a timely 503)
    instead of piling up threads; a thread is done by its request's deadline whatever the store does.
    """

    def __init__(
        self,
        client: StoreClient,
        graphs: list[str],
        *,
        timeout: float = 10.0,
        max_rows: int = 10_000,
        max_answer_bytes: int = DEFAULT_MAX_BYTES,
        connections: int = 8,
        retries: int = 2,
        cooldown: float = 2.0,
        memory_limit: int | None = None,
        checkers: int = 2,
    ) -> None:
        self.client = client
        self.checkers = checkers
        self.graphs = sorted(graphs)
        self.timeout = timeout
        self.max_rows = max_rows
        self.max_answer_bytes = max_answer_bytes
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
        self.memory_limit = memory_limit
        self._checker: EmbeddedEngine | None = None
        self._accepted: OrderedDict[bytes, None] = OrderedDict()
        self._guarded_texts: OrderedDict[tuple[object, ...], tuple[str, str]] = OrderedDict()
        self._guarded_characters = 0
        self.release: str | None = None  # the release the store holds (kg.engines.publish), once read
        # the graph holding the default graph's union, if that release has one (kg.engines.publish)
        self.default_graph: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, graphs: list[str]) -> RemoteEngine:
        return cls(
            StoreClient(settings),
            graphs,
            timeout=settings.query_timeout,
            max_rows=settings.max_rows,
            max_answer_bytes=settings.max_answer_bytes,
            connections=settings.store_connections,
            retries=settings.store_retries,
            cooldown=settings.store_cooldown,
            memory_limit=settings.worker_memory_mb << 20 if settings.worker_memory_mb else None,
            checkers=settings.store_checkers,
        )

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(self.connections, thread_name_prefix="sparql-store")
        self._slots = asyncio.Semaphore(self.connections)
        # over an empty dataset (/dev/null: nothing to write or clean up): the checkers only parse and plan
        self._checker = EmbeddedEngine(
            Path(os.devnull), workers=self.checkers, timeout=self.timeout, memory_limit=self.memory_limit
        )
        await self._checker.start()

    async def stop(self) -> None:
        if self._checker is not None:
            await self._checker.stop()
        if self._executor:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self.client.close()

    def dataset(self, job: QueryJob) -> Dataset | None:
        if job.default_graphs is not None or job.named_graphs is not None:
            # a graph outside the build's is an empty graph, as on the embedded store: it is never named to a
            # store that may hold other data
            return self._ours(job.default_graphs), self._ours(job.named_graphs)
        if not job.union_default_graph:
            return None  # the query's own FROM / FROM NAMED (checked against the dataset's graphs) decide
        if self.default_graph is not None:  # one graph: twice as fast as the union of three on Oxigraph
            return [self.default_graph], self.graphs
        return [graph for graph in self.graphs if in_default_graph(graph)], self.graphs

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
        if job.max_bytes is None:
            job.max_bytes = self.max_answer_bytes
        # what leaves is checked as it leaves: the guard first (the parser must never see a live SERVICE:
        # Oxigraph would contact it), then the parser and planner, on the exact text sent (a client's
        # text has passed check_query(untrusted=True) at /sparql: no SERVICE anywhere in it)
        key = self._guard_key(job)
        remembered = self._guarded_texts.get(key) if key is not None else None
        if key is not None and remembered is not None:
            self._guarded_texts.move_to_end(key)
            form, forwarded = remembered
        else:
            form, forwarded = await asyncio.to_thread(self._guarded, job)
        await self._parsed(job, forwarded, deadline)
        if remembered is None and key is not None:
            self._remember(key, form, forwarded)
        attempt = 0
        while True:
            wait = self.down_until - time.monotonic()
            if wait > 0:
                raise EngineUnavailable(
                    "the SPARQL store was unreachable moments ago; try again shortly",
                    retry_after=max(1, math.ceil(wait)),
                )
            try:
                outcome = await self._once(job, form, forwarded, deadline)
            except EngineUnavailable:  # refused credentials, no endpoint: /ready says so at once
                self._probed = (time.monotonic(), False)
                raise
            except Retryable as failure:
                attempt += 1
                # jittered, so that the requests a store's hiccup failed together do not return together
                delay = min(0.05 * 2**attempt, 1.0) * (0.5 + random.random())
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

    def _guarded(self, job: QueryJob) -> tuple[str, str]:
        """The query's form and the exact text to send, both texts through the guard (in a thread: linear, but
        a text may be megabytes)."""
        dataset_given = job.default_graphs is not None or job.named_graphs is not None
        check_query(job.text, set(self.graphs), dataset_given=dataset_given, untrusted=False)
        forwarded = forwarded_text(job)
        check_query(forwarded, set(self.graphs), dataset_given=dataset_given, untrusted=False)
        return query_form(job.text), forwarded

    def _guard_key(self, job: QueryJob) -> tuple[object, ...] | None:
        """What `_guarded`'s outcome depends on, for a text short enough to be remembered (else None)."""
        if len(job.text) > REMEMBERED_TEXT:
            return None
        bound = tuple(sorted((name, str(term)) for name, term in job.substitutions.items()))
        dataset_given = job.default_graphs is not None or job.named_graphs is not None
        return job.text, bound, job.max_rows, job.base_iri, dataset_given

    def _remember(self, key: tuple[object, ...], form: str, forwarded: str) -> None:
        """Remember a text that passed the guard, the parser and the planner, within the characters' budget."""
        if key in self._guarded_texts:  # two requests with the same text checked it side by side
            return
        self._guarded_texts[key] = (form, forwarded)
        self._guarded_characters += len(key[0]) + len(forwarded)  # type: ignore[arg-type]
        while self._guarded_characters > REMEMBERED_CHARACTERS:
            (text, *_), (_, sent) = self._guarded_texts.popitem(last=False)
            self._guarded_characters -= len(text) + len(sent)  # type: ignore[arg-type]

    async def _parsed(self, job: QueryJob, forwarded: str, deadline: float) -> None:
        """Raise unless Oxigraph parses and plans the text sent: standard SPARQL 1.1, no vendor extensions.

        Run on an empty store in a checker process, killed at the query's deadline; a syntax error is
        reported against the client's own text (its lines and columns), not the rewritten one.
        """
        digest = hashlib.sha256(forwarded.encode("utf-8", "surrogatepass")).digest()
        if digest in self._accepted:
            self._accepted.move_to_end(digest)
            return
        problem = await self._check(forwarded, None, deadline)
        if problem:
            # the client's own text, so that the line and column are the client's; if only the rewrite
            # fails (it should not), the text is refused all the same
            problem = await self._check(job.text, job.base_iri, deadline) or problem
            raise QuerySyntaxError(problem, field="query")
        self._accepted[digest] = None
        if len(self._accepted) > ACCEPTED_TEXTS:
            self._accepted.popitem(last=False)

    async def explain(self, explanation: Explanation, *, timeout: float) -> Diagnosis:
        """A malformed query's problem in words, worked out in a checker process."""
        assert self._checker is not None, "start() the engine first"
        return await self._checker.explain(explanation, timeout=timeout)

    async def _check(self, text: str, base_iri: str | None, deadline: float) -> str | None:
        assert self._checker is not None, "start() the engine first"
        try:
            return await self._checker.parse_problem(text, base_iri, timeout=max(0.001, deadline - time.monotonic()))
        except QueryTimeout:
            raise QueryTimeout(
                f"the query's text could not be checked within its time budget: planning it took too long, or "
                f"all {self.checkers} checkers were busy with other texts; try again"
            ) from None

    async def _once(self, job: QueryJob, form: str, forwarded: str, deadline: float) -> QueryOutcome:
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
            self._executor, self.client.attempt, job, form, self.dataset(job), deadline, forwarded
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


def _consume(future: Any) -> None:
    with contextlib.suppress(BaseException):
        future.exception()
