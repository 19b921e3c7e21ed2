"""The embedded query engine: pyoxigraph stores in worker processes, with a time and a row budget.

pyoxigraph has no query timeout or cancellation in Python, and a query holds its worker
until it finishes. So queries run in a small pool of processes, each opening the release's
on-disk store read-only (one copy in the page cache for all of them; a worker is ready at once)
or, for a release without one or with KG_WORKER_STORE=memory, loading its own in-memory copy
of the dataset. A query over its time budget has its process killed (its
work really stops) and a fresh worker takes its place; other clients keep being served by
the rest of the pool. Results are serialised in the worker; the parent only forwards bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import pickle
import resource
import signal
import socket
import struct
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.engines.outcome import execute
from kg.engines.protocol import DEFAULT_MAX_BYTES, Explanation, QueryJob, QueryOutcome
from kg.errors import EngineUnavailable, KGError, QueryFailed, QuerySyntaxError, QueryTimeout, ResultTooLarge
from kg.sparql.diagnose import Diagnosis, explain
from kg.sparql.guard import parse_problem

log = logging.getLogger("capkg.engine")


CLONE_NEWNET = 0x40000000


def isolate_network() -> bool:
    """Move this process into a network namespace of its own, with no interfaces up.

    Defence in depth for kg.sparql.guard: pyoxigraph would make HTTP requests for SERVICE,
    and in here any connection fails. Needs CAP_SYS_ADMIN (root in CI and most containers);
    where the system refuses, the worker runs on and the guard alone stands.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.unshare(CLONE_NEWNET) == 0
    except (OSError, AttributeError):
        return False


def memory_problem(memory_limit: int | None) -> str:
    """What a client is told when its query needed more memory than a worker may use."""
    limit = f" ({memory_limit // 2**20} MiB, KG_WORKER_MEMORY_MB)" if memory_limit else " (KG_WORKER_MEMORY_MB)"
    return (
        f"the query needed more memory than a query worker may use{limit}; "
        "add a LIMIT, select fewer or shorter values, or narrow the query"
    )


@dataclass(frozen=True)
class ParseCheck:
    """A job that only parses and plans a query text (on the worker's store; nothing is evaluated)."""

    text: str
    base_iri: str | None = None


def worker_main(connection: Connection, dataset: str, memory_limit: int | None = None) -> None:
    """A worker process: cut off the network, load the dataset, then answer jobs until told to stop."""
    # what the fork server imported stays shared: the collector no longer walks (and so copies) its pages
    gc.freeze()
    isolated = isolate_network()
    # a query that builds a huge intermediate result dies at the limit instead of starving the host
    if Path(dataset).is_dir():  # a release's on-disk store, shared through the page cache
        store = ox.Store.read_only(dataset)
        if memory_limit:  # on top of what opening it reserved: ~500 MiB of RocksDB's threads and arenas, unbacked
            reserved = _address_space()
            resource.setrlimit(resource.RLIMIT_AS, (reserved + memory_limit, reserved + memory_limit))
    else:
        if memory_limit:  # the copy of the dataset counts
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        store = ox.Store()
        store.load(path=dataset, format=ox.RdfFormat.N_QUADS)
    # a shared store is not counted (a full scan: a second per worker at 100x the portfolio): its files were
    # checked against the build's manifest before any worker opened it
    connection.send(("ready", (None if Path(dataset).is_dir() else len(store), isolated)))
    while True:
        try:
            job = connection.recv()
        except EOFError:
            return
        if job is None:
            return
        if isinstance(job, ParseCheck):
            connection.send(("ok", parse_problem(job.text, job.base_iri)))
            continue
        try:
            if isinstance(job, Explanation):
                found = explain(job.text, job.problem, shift=job.shift, prefixes=dict(job.prefixes))
                connection.send(("ok", found))
            else:
                connection.send(("ok", execute(store, job)))
        except KGError as exc:
            connection.send(("error", (type(exc).__name__, exc.problem)))
        except MemoryError:  # Python's own allocations; Oxigraph's abort the process (see EmbeddedEngine)
            connection.send(("error", ("ResourceLimit", memory_problem(memory_limit))))
        except Exception as exc:  # reported to the parent, which logs it and answers 500
            connection.send(("error", ("QueryFailed", f"{type(exc).__name__}: {exc}")))
        give_back_memory()  # a query refused over a budget may have held the most


def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc: its allocator keeps no such arenas, or cannot be asked
        return None


MALLOC_TRIM = _malloc_trim()


def give_back_memory() -> None:
    """Return the memory a finished query freed to the system.

    glibc keeps freed memory in its arenas, so a worker kept the peak of the largest query it ever ran:
    at 100x the portfolio, 80 MB more for four workers after the SPARQL mix. Trimming after every job
    costs no throughput measurable on the mix (bench/bench_wrk.py).
    """
    if MALLOC_TRIM is not None:
        MALLOC_TRIM(0)


def _address_space() -> int:
    """This process's virtual memory size, bytes (VmSize)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


ERRORS = {cls.__name__: cls for cls in (QuerySyntaxError, ResultTooLarge, QueryFailed)} | {
    "ResourceLimit": ResultTooLarge
}
BACKOFF_FIRST = 0.25  # seconds before a worker is started again once they keep failing, doubled each time
BACKOFF_MAX = 5.0
CALM = 30.0  # seconds without a failure after which the backoff starts over


def describe_exit(code: int | None) -> str:
    if code is None:
        return "exit code unknown"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class _Worker:
    def __init__(self, context: Any, dataset: Path, memory_limit: int | None) -> None:
        self.connection, child = context.Pipe()
        self.process = context.Process(target=worker_main, args=(child, str(dataset), memory_limit), daemon=True)
        self.process.start()
        child.close()
        self.pid: int = self.process.pid
        self.ready = False  # loaded: it answers jobs
        self.busy = False  # running a job
        self.dismissed = False  # stopped by the engine (time budget, stop): not a death to report
        self.exited: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.writer: asyncio.StreamWriter | None = None

    async def open_streams(self) -> None:
        """asyncio streams over the worker's end of the pipe (a socket pair), speaking Connection's framing.

        Non-blocking buffered writes and awaited reads: no readiness callbacks or blocking writes on the
        event loop. The worker keeps the plain blocking Connection.
        """
        sock = socket.socket(fileno=os.dup(self.connection.fileno()))
        self.reader, self.writer = await asyncio.open_connection(sock=sock)

    def send(self, message: object) -> None:
        assert self.writer is not None, "open_streams() first"
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.write(struct.pack("!i", len(data)) + data)

    async def receive(self) -> Any:
        (size,) = struct.unpack("!i", await self.reader.readexactly(4))
        if size == -1:  # Connection's framing for messages over 2 GiB
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return pickle.loads(await self.reader.readexactly(size))

    def kill(self) -> None:
        """Stop the process (its exit is seen by the engine's watch on it) and close its pipe."""
        self.dismissed = True
        with contextlib.suppress(Exception):
            self.process.kill()
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.writer is not None:
                self.writer.close()
        with contextlib.suppress(Exception):
            self.connection.close()


class EmbeddedEngine:
    """A pool of worker processes over one dataset file, kept full.

    Each worker's exit is watched (its process sentinel, on the event loop), so a worker that dies, idle
    or busy, is noticed at once, logged with its exit code and replaced; when workers keep dying or
    failing to start, the next is started after a backoff (0.25 s, doubled up to 5 s).
    """

    def __init__(
        self,
        dataset: Path,
        *,
        workers: int | None = None,
        timeout: float = 10.0,
        max_rows: int = 10_000,
        max_answer_bytes: int = DEFAULT_MAX_BYTES,
        memory_limit: int | None = None,
    ) -> None:
        self.memory_limit = memory_limit
        self.network_isolated = False
        self.dataset = dataset
        self.size = workers or max(2, os.cpu_count() or 2)
        self.timeout = timeout
        self.max_rows = max_rows
        self.max_answer_bytes = max_answer_bytes
        # workers are forked from a server process that imported only this module: each starts in
        # milliseconds and shares those pages, where a spawned one would import the whole application
        # (the __main__ it was started from) into a fresh interpreter
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload([__name__])
        self.idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self.workers: set[_Worker] = set()  # started and not yet seen to exit: loading, idle or busy
        self.triples: int | None = 0  # quads the last worker loaded (None: a shared store, not counted)
        self.restarts = 0
        self._closing = False
        self._short = asyncio.Event()  # set when the pool lacks a worker
        self._keeper: asyncio.Task[None] | None = None
        self._starting: set[asyncio.Task[None]] = set()
        self._strikes = 0  # deaths and failed starts since the last calm period
        self._last_strike = 0.0

    async def start(self) -> None:
        results = await asyncio.gather(*(self._spawn() for _ in range(self.size)), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        self._keeper = asyncio.create_task(self._keep())

    async def _spawn(self) -> None:
        worker = _Worker(self.context, self.dataset, self.memory_limit)
        self.workers.add(worker)
        self._watch(worker)
        try:
            await worker.open_streams()
            _, (triples, isolated) = await self._receive(worker, timeout=120)
        except BaseException:
            worker.kill()
            raise
        if worker not in self.workers:  # it died between its answer and now
            raise EngineUnavailable("a query worker stopped as soon as it started")
        self.triples, self.network_isolated = triples, isolated
        worker.ready = True
        self.idle.put_nowait(worker)

    def _watch(self, worker: _Worker) -> None:
        """Have the event loop say when the worker's process exits (its sentinel becomes readable)."""
        loop = asyncio.get_running_loop()
        loop.add_reader(worker.process.sentinel, self._exited, worker, loop)

    def _exited(self, worker: _Worker, loop: asyncio.AbstractEventLoop) -> None:
        with contextlib.suppress(Exception):
            loop.remove_reader(worker.process.sentinel)
        worker.process.join(timeout=1)  # reaps it: the sentinel says it has exited
        code = worker.process.exitcode
        if not worker.exited.done():
            worker.exited.set_result(code)
        if worker not in self.workers:
            return
        self.workers.discard(worker)
        worker.close()
        if self._closing:
            return
        if worker.dismissed:
            log.info("query worker %d stopped (%s); starting another", worker.pid, describe_exit(code))
        else:
            doing = "while it answered a query" if worker.busy else "while idle" if worker.ready else "while loading"
            log.warning("query worker %d died %s (%s); starting another", worker.pid, doing, describe_exit(code))
            if worker.ready:
                self._strike()
        self._short.set()

    def _strike(self) -> None:
        now = time.monotonic()
        if now - self._last_strike > CALM:
            self._strikes = 0
        self._strikes += 1
        self._last_strike = now

    def _backoff(self) -> float:
        """Seconds to wait before starting workers again: none until more have failed than the pool holds."""
        beyond = self._strikes - self.size
        if beyond <= 0 or time.monotonic() - self._last_strike > CALM:
            return 0.0
        return min(BACKOFF_FIRST * 2 ** (beyond - 1), BACKOFF_MAX)

    async def _keep(self) -> None:
        """Keep the pool full: whenever a worker is missing (it died, was stopped, did not start), start one."""
        while True:
            await self._short.wait()
            self._short.clear()
            delay = self._backoff()
            if delay:
                log.warning("query workers keep failing; starting the next in %.2f s", delay)
                await asyncio.sleep(delay)
            for _ in range(self.size - len(self.workers)):
                self.restarts += 1
                task = asyncio.create_task(self._spawn())
                self._starting.add(task)
                task.add_done_callback(self._started)

    def _started(self, task: asyncio.Task[None]) -> None:
        self._starting.discard(task)
        if task.cancelled() or self._closing:
            return
        error = task.exception()
        if error is not None:
            log.error("a query worker did not start: %s", error)
            self._strike()
            self._short.set()

    async def _receive(self, worker: _Worker, timeout: float) -> Any:
        return await asyncio.wait_for(worker.receive(), timeout)

    async def _take(self, budget: float, deadline: float) -> _Worker:
        """An idle worker that is still alive (one that died while idle is skipped: it is being replaced)."""
        while True:
            try:
                worker = await asyncio.wait_for(self.idle.get(), max(0.001, deadline - time.monotonic()))
            except TimeoutError:
                if not self.alive:
                    raise EngineUnavailable(
                        "no query worker is running; they are being restarted, try again shortly"
                    ) from None
                raise QueryTimeout(
                    f"all {self.size} query workers stayed busy for the whole time budget of {budget:g} s; try again"
                ) from None
            if worker in self.workers and worker.process.is_alive():
                return worker
            if not worker.exited.done():  # dead, and its exit not handled yet: do it now
                self._exited(worker, asyncio.get_running_loop())

    async def run(self, job: QueryJob, *, timeout: float | None = None) -> QueryOutcome:
        if job.max_rows is None:
            job.max_rows = self.max_rows
        if job.max_bytes is None:
            job.max_bytes = self.max_answer_bytes
        outcome: QueryOutcome = await self._exchange(job, self.timeout if timeout is None else timeout)
        return outcome

    async def parse_problem(self, text: str, base_iri: str | None, *, timeout: float) -> str | None:
        """What Oxigraph's parser and planner say against `text` in a worker, nothing evaluated (None: fine)."""
        problem: str | None = await self._exchange(ParseCheck(text, base_iri), timeout)
        return problem

    async def explain(self, explanation: Explanation, *, timeout: float) -> Diagnosis:
        """A malformed query's problem in words, worked out in a worker."""
        found: Diagnosis = await self._exchange(explanation, timeout)
        return found

    async def _exchange(self, message: QueryJob | ParseCheck | Explanation, budget: float) -> Any:
        """Send one job to an idle worker and return its answer; its process is killed at the budget."""
        deadline = time.monotonic() + budget
        worker = await self._take(budget, deadline)
        worker.busy = True
        try:
            worker.send(message)
            status, payload = await self._receive(worker, max(0.001, deadline - time.monotonic()))
        except TimeoutError:
            worker.kill()
            raise QueryTimeout(f"the query ran over its time budget of {budget:g} s and was stopped") from None
        except (EOFError, OSError, asyncio.IncompleteReadError):
            raise await self._death(worker) from None
        except BaseException:  # cancelled: its answer must not be read as the next job's, so it goes
            worker.kill()
            raise
        worker.busy = False
        self.idle.put_nowait(worker)
        if status == "ok":
            return payload
        name, problem = payload
        if name == "QueryFailed":
            log.error("query failed in a worker: %s", problem)
            raise QueryFailed("the query failed while it ran; the error was logged on the server")
        if name == "ResourceLimit":
            log.warning("a query needed more memory than a worker may use (a MemoryError in its worker)")
        raise ERRORS.get(name, EngineUnavailable)(problem, field="query")

    async def _death(self, worker: _Worker) -> KGError:
        """The error for a query whose worker died under it: out of memory, or unavailable."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(worker.exited), 2)
        code = worker.exited.result() if worker.exited.done() else None
        if code is None:
            worker.kill()  # its pipe broke but its process lives on: it cannot be trusted with another job
        # Oxigraph (Rust) aborts the process when an allocation fails: under the address-space limit, that is
        # a query that needed more memory than a worker may use
        if code == -signal.SIGABRT and self.memory_limit:
            log.warning("a query needed more memory than a worker may use (its worker %d aborted)", worker.pid)
            return ResultTooLarge(memory_problem(self.memory_limit), field="query")
        return EngineUnavailable("a query worker stopped unexpectedly; it is being restarted")

    @property
    def alive(self) -> int:
        """Workers that answer jobs (loaded, and not seen to exit)."""
        return sum(1 for worker in self.workers if worker.ready)

    async def healthy(self) -> bool:
        return self.alive > 0

    def status(self) -> dict[str, object]:
        return {
            "store": "embedded",
            "workers": self.alive,
            "workers_expected": 0 if self._closing else self.size,
            "workers_starting": len(self.workers) - self.alive,
            "worker_restarts": self.restarts,
            "worker_pids": sorted(worker.pid for worker in self.workers if worker.ready),
            "workers_network_isolated": self.network_isolated,
            "workers_share_store": self.dataset.is_dir(),
        }

    async def stop(self) -> None:
        self._closing = True
        for task in (self._keeper, *self._starting):
            if task is not None:
                task.cancel()
        loop = asyncio.get_running_loop()
        for worker in list(self.workers):
            with contextlib.suppress(Exception):
                worker.send(None)
            worker.kill()
            with contextlib.suppress(Exception):
                loop.remove_reader(worker.process.sentinel)
            with contextlib.suppress(Exception):
                worker.process.join(timeout=2)
        self.workers.clear()
