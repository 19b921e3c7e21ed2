"""The FastAPI application: /sparql, /api, /health and /ready over the current build."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from api import errors, linked_data, named, pages, resources, sparql
from api.cache import ResponseCache
from api.limits import BodySizeLimit
from api.runtime import INTERNAL_MAX_ROWS, Runtime
from kg import __version__
from kg.catalogue import CATALOGUE_QUERIES, Catalogue
from kg.engine import QueryJob
from kg.errors import KGError
from kg.named_queries import load_named_queries
from kg.publish import read_release
from kg.remote import RemoteEngine
from kg.pipeline import current_build
from kg.settings import Settings, get_settings

log = logging.getLogger("capkg.api")


async def _catalogue(runtime: Runtime) -> Catalogue:
    results = {}
    for name in ("materials", "countries", "hashtags"):
        text = (CATALOGUE_QUERIES / f"{name}.rq").read_text(encoding="utf-8")
        outcome = await runtime.engine.run(QueryJob(text, select_format="rows", max_rows=INTERNAL_MAX_ROWS),
                                           timeout=600)
        results[name] = [{var: (term[1] if term else None) for var, term in zip(outcome.variables, row, strict=True)}
                         for row in outcome.rows or []]
    return Catalogue.from_rows(results["materials"], results["countries"], results["hashtags"])


async def _become_ready(runtime: Runtime) -> None:
    """Load the search catalogue; an external store that is down now is waited for, with backoff.

    The server answers meanwhile: /ready says 503, and routes that need the store say 503 too.
    """
    delay = 0.5
    while True:
        try:
            runtime.catalogue = await _catalogue(runtime)
            if isinstance(runtime.engine, RemoteEngine):
                await _check_release(runtime, runtime.engine)
            break
        except KGError as exc:  # an external store may be down, restarting or overloaded: all pass
            log.warning("the store cannot answer yet (%s); trying again in %.0f s", exc.problem, delay)
        except Exception:  # noqa: BLE001 - a bug must not leave the server unready for ever: log, try again
            log.exception("loading the catalogue failed; trying again in %.0f s", delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)
    runtime.ready = True
    log.info("serving dataset %s (%d triples)", runtime.version, sum(runtime.graphs.values()))


async def _check_release(runtime: Runtime, engine: RemoteEngine) -> None:
    """Say so when the external store holds another release than the build this server describes."""
    release = await asyncio.to_thread(read_release, engine.client, runtime.settings)
    engine.release = release.version
    if release.version != runtime.version:
        log.warning("the SPARQL store holds release %s, this server's build is %s: run `capkg publish` "
                    "(pages, dumps and ETags follow the build)", release.version or "none", runtime.version)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.open(settings, current_build(settings), load_named_queries())
        app.state.runtime = runtime
        await runtime.engine.start()
        loading = asyncio.create_task(_become_ready(runtime))
        try:
            yield
        finally:
            runtime.ready = False
            loading.cancel()
            await asyncio.shield(runtime.engine.stop())

    app = FastAPI(
        title="CapaCITIES Knowledge Graph",
        version=__version__,
        description="The CapaCITIES Learning Portfolio as linked data: a read-only SPARQL 1.1 endpoint at /sparql, "
                    "named queries under /api/queries and portfolio resources under /api.",
        lifespan=lifespan,
    )
    errors.install(app)
    # the last added middleware is the outermost: the response cache answers hits before anything else
    # (its entries keep the CORS headers they were made with; the Origin header is part of its key)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"],
                       allow_headers=["*"], expose_headers=["ETag", "Link", "X-Total-Count", "X-Result-Count"])
    app.add_middleware(ResponseCache, max_entries=settings.cache_entries)
    app.include_router(sparql.router)
    app.include_router(named.router)
    app.include_router(resources.router)

    @app.get("/health", tags=["Service"], summary="Liveness, dataset version and triple counts")
    async def health(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        return JSONResponse({"status": "ok", "version": runtime.version, "triples": runtime.graphs,
                             **runtime.engine.status()})

    @app.get("/ready", tags=["Service"], summary="Readiness: 200 once the dataset is loaded and workers answer")
    async def ready(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        ok = runtime.ready and await runtime.engine.healthy()
        body = {"ready": ok, "version": runtime.version, "triples": sum(runtime.graphs.values())}
        return JSONResponse(body, status_code=200 if ok else 503, headers=None if ok else {"Retry-After": "1"})

    app.include_router(linked_data.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    return app


def app_factory() -> FastAPI:
    return create_app()
