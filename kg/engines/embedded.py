"""The embedded query engine: pyoxigraph stores in worker processes, with a time and a row budget.

pyoxigraph has no query timeout or cancellation in Python, and a query holds its worker
until it finishes. So queries run in a small pool of processes, each with its own
in-memory copy of the dataset. A query over its time budget has its process killed (its
work really stops) and a fresh worker takes its place; other clients keep being served by
the rest of the pool. Results are serialised in the worker; the parent only forwards bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import pickle
import resource
import socket
import struct
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.engines.outcome import execute
from kg.engines.protocol import QueryJob, QueryOutcome
from kg.errors import EngineUnavailable, KGError, QueryFailed, QuerySyntaxError, QueryTimeout, ResultTooLarge

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


def worker_main(connection: Connection, dataset: str, memory_limit: int | None = None) -> None:
    """A worker process: cut off the network, load the dataset, then answer jobs until told to stop."""
    isolated = isolate_network()
    if memory_limit:  # a query that builds a huge intermediate result dies here instead of starving the host
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    store = ox.Store()
    store.load(path=dataset, format=ox.RdfFormat.N_QUADS)
    connection.send(("ready", (len(store), isolated)))
    while True:
        try:
            job = connection.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            connection.send(("ok", execute(store, job)))
        except KGError as exc:
            connection.send(("error", (type(exc).__name__, exc.problem)))
        except MemoryError:
            connection.send(("error", ("ResourceLimit", "the query needed more memory than a query may use")))
        except Exception as exc:  # reported to the parent, which logs it and answers 500
            connection.send(("error", ("QueryFailed", f"{type(exc).__name__}: {exc}")))


ERRORS = {cls.__name__: cls for cls in (QuerySyntaxError, ResultTooLarge, QueryFailed)} | {
    "ResourceLimit": ResultTooLarge
}


class _Worker:
    def __init__(self, context: Any, dataset: Path, memory_limit: int | None) -> None:
        self.connection, child = context.Pipe()
        self.process = context.Process(target=worker_main, args=(child, str(dataset), memory_limit), daemon=True)
        self.process.start()
        child.close()

    async def open_streams(self) -> None:
        """asyncio streams over the worker's end of the pipe (a socket pair), speaking Connection's framing.

        Non-blocking buffered writes and awaited reads: no readiness callbacks or blocking writes on the
        event loop. The worker keeps the plain blocking Connection.
        """
        sock = socket.socket(fileno=os.dup(self.connection.fileno()))
        self.reader, self.writer = await asyncio.open_connection(sock=sock)

    def send(self, message: object) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.write(struct.pack("!i", len(data)) + data)

    async def receive(self) -> Any:
        (size,) = struct.unpack("!i", await self.reader.readexactly(4))
        if size == -1:  # Connection's framing for messages over 2 GiB
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return pickle.loads(await self.reader.readexactly(size))

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(timeout=2)
        with contextlib.suppress(Exception):
            self.writer.close()
        with contextlib.suppress(Exception):
            self.connection.close()


class EmbeddedEngine:
    """A pool of worker processes over one dataset file."""

    def __init__(
        self,
        dataset: Path,
        *,
        workers: int | None = None,
        timeout: float = 10.0,
        max_rows: int = 10_000,
        memory_limit: int | None = None,
    ) -> None:
        self.memory_limit = memory_limit
        self.network_isolated = False
        self.dataset = dataset
        self.size = workers or max(2, os.cpu_count() or 2)
        self.timeout = timeout
        self.max_rows = max_rows
        self.context = multiprocessing.get_context("spawn")
        self.idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self.workers: set[_Worker] = set()
        self.triples = 0
        self.restarts = 0
        self._closing = False

    async def start(self) -> None:
        await asyncio.gather(*(self._spawn() for _ in range(self.size)))

    async def _spawn(self) -> None:
        worker = _Worker(self.context, self.dataset, self.memory_limit)
        self.workers.add(worker)
        try:
            await worker.open_streams()
            status, (triples, self.network_isolated) = await self._receive(worker, timeout=120)
        except Exception:
            worker.kill()
            self.workers.discard(worker)
            raise
        self.triples = triples
        await self.idle.put(worker)

    async def _receive(self, worker: _Worker, timeout: float) -> Any:
        return await asyncio.wait_for(worker.receive(), timeout)

    async def run(self, job: QueryJob, *, timeout: float | None = None) -> QueryOutcome:
        budget = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        if job.max_rows is None:
            job.max_rows = self.max_rows
        try:
            worker = await asyncio.wait_for(self.idle.get(), budget)
        except TimeoutError:
            raise QueryTimeout(
                f"all {self.size} query workers stayed busy for the whole time budget of {budget:g} s; try again"
            ) from None
        try:
            worker.send(job)
            status, payload = await self._receive(worker, max(0.001, deadline - time.monotonic()))
        except TimeoutError:
            self._replace(worker)
            raise QueryTimeout(f"the query ran over its time budget of {budget:g} s and was stopped") from None
        except (EOFError, OSError, BrokenPipeError, asyncio.IncompleteReadError):
            self._replace(worker)
            raise EngineUnavailable("a query worker stopped unexpectedly; it is being restarted") from None
        self.idle.put_nowait(worker)
        if status == "ok":
            return payload
        name, message = payload
        if name == "QueryFailed":
            log.error("query failed in a worker: %s", message)
            raise QueryFailed("the query failed while it ran; the error was logged on the server")
        raise ERRORS.get(name, EngineUnavailable)(message, field="query")

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self.workers.discard(worker)
        self.restarts += 1
        if not self._closing:
            task = asyncio.get_running_loop().create_task(self._spawn())
            task.add_done_callback(lambda t: t.exception())

    async def healthy(self) -> bool:
        return len(self.workers) > 0

    def status(self) -> dict[str, object]:
        return {
            "store": "embedded",
            "workers": len(self.workers),
            "worker_restarts": self.restarts,
            "workers_network_isolated": self.network_isolated,
        }

    async def stop(self) -> None:
        self._closing = True
        for worker in list(self.workers):
            with contextlib.suppress(Exception):
                worker.send(None)
            worker.kill()
        self.workers.clear()
