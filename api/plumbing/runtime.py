"""What a running server holds: the release it serves, through one query engine, and the query registry.

`Runtime` is one release as served: its files, its engine, its search catalogue. `Service` holds the
current `Runtime` and swaps in another release under a running server: the new release is verified
against its manifest, its engine started and its catalogue loaded before any request sees it; each
request keeps the `Runtime` it started with, and the old engine is stopped once the requests that
hold it have had their time budget to finish. A new build goes live by itself (build/current is
watched), on SIGHUP, or with `capkg reload`; one that fails verification is refused, named in the
log and in /health, and the current release keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from api.plumbing.cpu import CpuLane
from kg.engines.embedded import EmbeddedEngine, give_back_memory
from kg.engines.protocol import QueryEngine, QueryJob, Term, encode_term
from kg.engines.publish import read_release
from kg.engines.remote import RemoteEngine
from kg.errors import BuildOutputError, KGError
from kg.namespaces import ProjectNamespaces
from kg.release import leases
from kg.release.layout import CATALOGUE_FILE, Release, current_build
from kg.search.answers import KeptAnswers
from kg.search.catalogue import Catalogue, open_catalogue, ordered
from kg.settings import Settings
from kg.sparql.registry import QueryRegistry

log = logging.getLogger("capkg.api")
INTERNAL_MAX_ROWS = 10_000_000  # the API's own queries are bounded by the data, not by clients
INTERNAL_MAX_BYTES = 2**31


@dataclass
class Runtime:
    """One release as served: what a request works with from its start to its end."""

    settings: Settings
    ns: ProjectNamespaces
    registry: QueryRegistry
    release: Release
    engine: QueryEngine
    catalogue: Catalogue | None = None
    cpu: CpuLane = field(default_factory=CpuLane)  # shared by the runtimes of one server
    answers: KeptAnswers = field(init=False)

    def __post_init__(self) -> None:
        self.answers = KeptAnswers(self.release.answers)

    @property
    def version(self) -> str:
        return self.release.version

    @property
    def graphs(self) -> dict[str, int]:
        return self.release.graphs

    @property
    def build_dir(self) -> Path:
        return self.release.directory

    async def rows(self, name: str, values: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """A named query's rows as plain JSON values (IRIs and literals as strings, numbers as numbers):
        the answer the build kept, if it kept this one, else the engine's."""
        query = self.registry.query(name)
        bindings = query.bind(values or {})
        if not bindings or any(parameter.values_from for parameter in query.parameters):  # the build may keep it
            key = {variable.value: str(term) for variable, term in bindings.items()}
            kept = await asyncio.to_thread(self.answers.rows, name, query.text, key)
            if kept is not None:
                return kept
        outcome = await self.engine.run(
            QueryJob(
                query.text,
                select_format="rows",
                max_rows=INTERNAL_MAX_ROWS,
                max_bytes=INTERNAL_MAX_BYTES,
                substitutions={k.value: encode_term(v) for k, v in bindings.items()},
            )
        )
        return query.plain_rows(outcome.variables, outcome.rows or [])

    async def plain_rows(
        self, text: str, substitutions: dict[str, Term] | None = None, timeout: float | None = None
    ) -> list[dict[str, Any]]:
        """Rows of one of the service's own queries, each value its term's lexical form."""
        outcome = await self.engine.run(
            QueryJob(
                text,
                select_format="rows",
                max_rows=INTERNAL_MAX_ROWS,
                max_bytes=INTERNAL_MAX_BYTES,
                substitutions=substitutions or {},
            ),
            timeout=timeout,
        )
        return [
            {var: (term[1] if term else None) for var, term in zip(outcome.variables, row, strict=True)}
            for row in outcome.rows or []
        ]


def open_engine(settings: Settings, release: Release) -> QueryEngine:
    if settings.remote_store:
        return RemoteEngine.from_settings(settings, list(release.graphs))
    shared = release.store if _shares_store(settings, release) else None
    return EmbeddedEngine(
        shared or release.dataset,
        workers=settings.query_workers or None,
        timeout=settings.query_timeout,
        max_rows=settings.max_rows,
        max_answer_bytes=settings.max_answer_bytes,
        memory_limit=settings.worker_memory_mb * 2**20 or None,
    )


def _shares_store(settings: Settings, release: Release) -> bool:
    """Whether the workers open the release's on-disk store instead of each loading a copy of the dataset.

    A copy in memory answers 2-8 times faster than RocksDB, but costs about 300 bytes a quad in every
    worker and seconds to load: at the portfolio's size that is a few MiB, at 100 times its size 420 MiB
    and 10 s per worker (bench/bench_memory.py).
    """
    if settings.worker_store == "auto":
        return sum(release.graphs.values()) >= settings.shared_store_quads
    return settings.worker_store == "disk"


class Service:
    """The current runtime of a server, swapped whole when another release goes live."""

    def __init__(self, settings: Settings, registry: QueryRegistry, release: Release) -> None:
        self.settings = settings
        self.ns = ProjectNamespaces(settings.base_iri)
        self.registry = registry
        self.cpu = CpuLane(settings.cpu_threads, settings.cpu_wait, settings.cpu_queue)
        self.runtime = Runtime(settings, self.ns, registry, release, open_engine(settings, release), cpu=self.cpu)
        self.ready = False
        self.reload_error: str | None = None
        self._refused: Path | None = None  # a release that failed: not tried again until current moves
        self._loading: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[Any]] = set()  # engine retirements and signalled reloads
        self._swap_lock = asyncio.Lock()

    async def start(self) -> None:
        """Start the engine; the catalogue loads in the background (an external store may still be down)."""
        preloading = asyncio.create_task(kept_catalogue(self.runtime.release))  # while the workers start
        try:
            await self.runtime.engine.start()
            _check_loaded(self.runtime.engine, self.runtime.release)
        except BaseException:
            _discard(preloading)
            raise
        leases.hold(self.settings.build_dir, self.runtime.release.directory)
        self._loading = asyncio.create_task(self._become_ready(self.runtime, preloading))
        if self.settings.reload_interval > 0:
            self._watching = asyncio.create_task(self._watch(self.settings.reload_interval))
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread: no signals
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._reload_soon)

    async def stop(self) -> None:
        self.ready = False
        for task in (self._loading, self._watching, *self._retiring):
            if task:
                task.cancel()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        leases.release(self.settings.build_dir)
        await asyncio.shield(self.runtime.engine.stop())
        self.cpu.close()

    def _reload_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reload(force=True))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.reload()

    async def reload(self, *, force: bool = False) -> bool:
        """Serve what build/current points at, if that is another release; True when a new release went live.

        A release that fails (corrupt, incomplete, its engine cannot load it) is refused: the reason is
        logged and shown in /health, and it is not tried again until build/current moves (or `force`).
        """
        try:
            target = await asyncio.to_thread(current_build, self.settings)
        except BuildOutputError as exc:
            self._refuse(None, exc)
            return False
        if target == self.runtime.release.directory or (target == self._refused and not force):
            return False
        try:
            release = await asyncio.to_thread(Release.open, target)
            await self.swap(release, verify=True)
        except Exception as exc:  # whatever stops a release from serving, the current one serves on
            self._refuse(target, exc)
            return False
        self._refused, self.reload_error = None, None
        return True

    def _refuse(self, target: Path | None, exc: Exception) -> None:
        self._refused = target
        self.reload_error = str(exc) if isinstance(exc, KGError) else f"{type(exc).__name__}: {exc}"
        log.error("not serving the new build: %s; still serving %s", exc, self.runtime.version)

    @staticmethod
    async def _verify(release: Release) -> None:
        started = time.perf_counter()
        await asyncio.to_thread(release.verify)
        log.info("verified release %s in %.2f s", release.version, time.perf_counter() - started)

    async def swap(self, release: Release, *, verify: bool = False) -> None:
        """Serve `release` from now on: every request sees either the old runtime or the new one, whole.

        With `verify`, its files are checked against the manifest while its workers start and its kept
        catalogue is built (three things that each take one to two seconds at 100x the portfolio): it goes
        live only once all three have succeeded; a corrupt file stops the workers' start at once and is the
        failure reported, whatever else failed.
        """
        async with self._swap_lock:
            tasks: list[asyncio.Task[Any]] = []
            engine: QueryEngine | None = None
            fresh: Runtime | None = None
            catalogue: asyncio.Task[Catalogue | None] | None = None
            try:
                verifying = asyncio.create_task(self._verify(release)) if verify else None
                tasks += [verifying] if verifying else []
                engine = open_engine(self.settings, release)
                fresh = Runtime(self.settings, self.ns, self.registry, release, engine, cpu=self.cpu)
                catalogue = asyncio.create_task(kept_catalogue(release))  # checks its own file before building
                starting = asyncio.create_task(_start(engine, release))
                tasks += [catalogue, starting]
                started = time.perf_counter()
                await _both(starting, verifying)
                workers_s = time.perf_counter() - started
                fresh.catalogue = await catalogue or await load_catalogue(fresh)
                if isinstance(engine, RemoteEngine):
                    await check_store_release(fresh, engine)
            except BaseException:  # cancelled too: nothing of the new release is left running or open
                for task in tasks:
                    _discard(task)
                if engine is not None:
                    await asyncio.shield(engine.stop())
                for opened in (fresh.catalogue if fresh else None, _result(catalogue)):
                    if opened is not None:
                        opened.close()
                raise
            old, self.runtime = self.runtime, fresh
            leases.hold(self.settings.build_dir, release.directory)
            if self._loading and not self._loading.done():
                self._loading.cancel()
            self.ready = True
            log.info(
                "now serving dataset %s (%d triples): verified and engine started in %.2f s, ready in %.2f s",
                fresh.version,
                sum(fresh.graphs.values()),
                workers_s,
                time.perf_counter() - started,
            )
            task = asyncio.create_task(self._retire(old))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def _retire(self, runtime: Runtime) -> None:
        # requests that began on the old runtime finish within their time budget; then its engine goes, and
        # its catalogue's file is closed
        await asyncio.sleep(self.settings.query_timeout + 1)
        await runtime.engine.stop()
        if runtime.catalogue is not None:
            runtime.catalogue.close()

    async def _become_ready(self, runtime: Runtime, preloading: asyncio.Task[Catalogue | None] | None = None) -> None:
        """Load the search catalogue; an external store that is down now is waited for, with backoff."""
        if preloading is not None:
            try:
                runtime.catalogue = await preloading
            except Exception:  # a bug must not leave the server unready for ever: log, try again below
                log.exception("loading the catalogue failed; trying again")
        delay = 0.5
        while True:
            try:
                if runtime.catalogue is None:  # from the release's kept rows it needs no store: loaded once
                    runtime.catalogue = await load_catalogue(runtime)
                if isinstance(runtime.engine, RemoteEngine):
                    await check_store_release(runtime, runtime.engine)
                break
            except KGError as exc:  # an external store may be down, restarting or overloaded: all pass
                log.warning("not ready yet (%s); trying again in %.0f s", exc.problem, delay)
            except Exception:  # a bug must not leave the server unready for ever: log, try again
                log.exception("loading the catalogue failed; trying again in %.0f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
        self.ready = True
        log.info("serving dataset %s (%d triples)", runtime.version, sum(runtime.graphs.values()))


def _check_loaded(engine: QueryEngine, release: Release) -> None:
    """The embedded engine counts what it loaded: it must be what the build says it wrote."""
    loaded = getattr(engine, "triples", None) if isinstance(engine, EmbeddedEngine) else None
    expected = sum(release.graphs.values())
    if loaded is not None and loaded != expected:
        raise BuildOutputError(
            f"the dataset holds {loaded} quads where the build wrote {expected}: the release is corrupt",
            file=release.dataset,
        )


async def _start(engine: QueryEngine, release: Release) -> None:
    await engine.start()
    _check_loaded(engine, release)


async def _both(starting: asyncio.Task[None], verifying: asyncio.Task[None] | None) -> None:
    """Wait for the engine's start and the release's verification; the verification's failure wins."""
    if verifying is None:
        await starting
        return
    await asyncio.wait({starting, verifying}, return_when=asyncio.FIRST_EXCEPTION)
    if starting.done() and not verifying.done():  # the start failed: are the files the cause?
        await asyncio.wait({verifying})
    error = verifying.exception() if verifying.done() else None
    if error is not None:
        raise error
    await verifying
    await starting


def _result(task: asyncio.Task[Any] | None) -> Any:
    """What a task that ended well returned; else None."""
    if task is None or not task.done() or task.cancelled() or task.exception() is not None:
        return None
    return task.result()


def _discard(task: asyncio.Task[Any]) -> None:
    """Cancel a task whose result is no longer wanted; if it already failed, its error is taken (and dropped):
    the failure that made it unwanted is the one reported."""
    if task.done():
        if not task.cancelled():
            task.exception()
    else:
        task.cancel()


async def kept_catalogue(release: Release) -> Catalogue | None:
    """The search catalogue the release's build kept (None if it kept none).

    Its file is checked against the manifest first, so that it can be opened while the rest of the
    release is verified; opened in a thread: at 100 times the portfolio, reading its materials takes a tenth
    of a second.
    """
    path = release.directory / CATALOGUE_FILE
    if not path.exists():
        return None
    await asyncio.to_thread(release.verify, [CATALOGUE_FILE])
    return await asyncio.to_thread(open_catalogue, path)


async def load_catalogue(runtime: Runtime) -> Catalogue:
    """The release's search catalogue: from the rows its build kept, else from its queries (run now)."""
    kept = await kept_catalogue(runtime.release)
    if kept is not None:
        return kept
    folder = runtime.registry.folder("catalogue").items()
    rows = ordered({name: await runtime.plain_rows(text, timeout=600) for name, text in folder})
    return await asyncio.to_thread(_indexed, rows)


def _indexed(rows: dict[str, list[dict[str, Any]]]) -> Catalogue:
    catalogue = Catalogue.from_rows(rows["materials"], rows["countries"], rows["hashtags"])
    give_back_memory()  # what indexing freed: tens of MB at 100 times the portfolio
    return catalogue


async def check_store_release(runtime: Runtime, engine: RemoteEngine) -> None:
    """Say so when the external store holds another release than the build this server describes."""
    release = await asyncio.to_thread(read_release, engine.client, runtime.registry, runtime.ns)
    engine.release = release.version
    engine.default_graph = release.default_graph
    if release.version != runtime.version:
        log.warning(
            "the SPARQL store holds release %s, this server's build is %s: run `capkg publish` "
            "(pages, dumps and ETags follow the build)",
            release.version or "none",
            runtime.version,
        )


def field_text(row: Mapping[str, object], name: str) -> str:
    """A field of a named query's row that holds a text (an IRI, or a literal that is not a number)."""
    value = row[name]
    if not isinstance(value, str):
        raise TypeError(f"field {name!r} holds {type(value).__name__}, not a text")
    return value


def field_int(row: Mapping[str, object], name: str) -> int:
    """A field of a named query's row that holds an integer (a count)."""
    value = row[name]
    if not isinstance(value, int):
        raise TypeError(f"field {name!r} holds {type(value).__name__}, not an integer")
    return value


async def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def get_runtime(request: Request) -> Runtime:
    """The runtime a request works with, whole, even if another release goes live meanwhile.

    async, so FastAPI does not hop to its thread pool for it on every request.
    """
    service: Service = request.app.state.service
    return service.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ServiceDep = Annotated[Service, Depends(get_service)]
