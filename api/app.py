"""The FastAPI application: pages, linked data, /sparql, /api, /health and /ready over the current build."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi.routing
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from api.plumbing import errors
from api.plumbing.cache import ResponseCache
from api.plumbing.compress import Compress
from api.plumbing.fairness import FairShare
from api.plumbing.head import HeadAsGet
from api.plumbing.limits import BodySizeLimit, NoControlCharacters
from api.plumbing.runtime import Service
from api.routers import (
    api_docs,
    contributions,
    editing,
    explain,
    guides,
    linked_data,
    named_queries,
    oidc,
    pages,
    resources,
    search_page,
    service,
    sparql,
    vocabulary,
)
from api.views import STATIC_DIR
from kg import __version__
from kg.editorial import Editorial
from kg.namespaces import ProjectNamespaces
from kg.release.layout import VERIFIED_RELEASE, Release, current_build
from kg.settings import Settings, get_settings
from kg.sparql.registry import QueryRegistry


def _read_endpoints_source(app: FastAPI) -> None:
    """Have FastAPI prepare each route now, in a thread. It does so on a route's first request otherwise, on
    the event loop: building its effective route and reading and tokenising the endpoint's module for error
    messages (0.2-0.4 s on a cold server, stalling every other client). Both are FastAPI's own private
    steps: whichever a later FastAPI lacks is left to the first request, as before."""
    note = getattr(fastapi.routing, "_extract_endpoint_context", None)

    def prepare(routes: list) -> None:
        for route in routes:
            if isinstance(route, APIRoute) and note is not None:
                note(route.endpoint)
            included = getattr(route, "original_router", None)
            if included is not None:
                getattr(route, "effective_candidates", list)()
                prepare(included.routes)

    prepare(app.routes)


def _token_owners(app: FastAPI) -> Callable[[], dict[str, str]]:
    """Every API token's SHA-256 and its account, from the accounts' ledger (FairShare's shares by account)."""

    def owners() -> dict[str, str]:
        editorial = getattr(app.state, "editorial", None)  # made in the lifespan: none before it has run
        return editorial.ledger.token_owners() if editorial is not None else {}

    return owners


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    registry = QueryRegistry.load(ProjectNamespaces(settings.base_iri))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        release = Release.open(current_build(settings))
        if os.environ.get(VERIFIED_RELEASE) != str(release.directory):  # not already checked by `capkg serve`
            release.verify()
        served = Service(settings, registry, release)
        app.state.service = served
        app.state.editorial = Editorial(settings)
        await asyncio.gather(served.start(), asyncio.to_thread(_read_endpoints_source, app))
        try:
            yield
        finally:
            await served.stop()

    app = FastAPI(
        title="CapaCITIES Knowledge Graph",
        version=__version__,
        description="The CapaCITIES Learning Portfolio as linked data: a read-only SPARQL 1.1 endpoint at /sparql, "
        "named queries under /api/queries and portfolio resources under /api.",
        lifespan=lifespan,
        docs_url=None,  # api.routers.api_docs serves /docs and /redoc with their files from here, not a CDN
        redoc_url=None,
    )
    errors.install(app)
    # the last added middleware is the outermost: the response cache answers hits before anything else
    # (its entries keep the CORS headers they were made with; the Origin header is part of its key)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        FairShare,
        concurrent=settings.client_concurrency or max(1, _query_slots(settings) // 2),
        rate=settings.client_rate,
        burst=settings.client_burst,
        exempt=frozenset(address.strip() for address in settings.client_exempt.split(",") if address.strip()),
        token_owners=_token_owners(app),
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["ETag", "Link", "X-Total-Count", "X-Result-Count"],
    )
    app.add_middleware(ResponseCache, max_entries=settings.cache_entries, max_bytes=settings.cache_bytes)
    app.add_middleware(Compress)  # outside the cache, which keeps plain bodies for every client
    app.add_middleware(NoControlCharacters)
    app.add_middleware(HeadAsGet)  # outermost: everything inside sees a GET
    app.include_router(sparql.router)
    app.include_router(named_queries.router_for(registry))
    app.include_router(resources.router)
    app.include_router(vocabulary.router)
    app.include_router(service.router)
    app.include_router(api_docs.router)
    app.include_router(linked_data.router)
    app.include_router(explain.router)
    app.include_router(pages.router)
    app.include_router(guides.router)
    app.include_router(search_page.router)
    app.include_router(contributions.router)
    app.include_router(editing.router)
    app.include_router(oidc.router)
    editing.install(app)
    app.mount(api_docs.ASSETS_URL, StaticFiles(directory=api_docs.ASSETS), name="apidocs")  # before /static
    app.mount("/static", StaticFiles(directory=Path(STATIC_DIR)), name="static")
    return app


def _query_slots(settings: Settings) -> int:
    """Queries the service answers at once: its query workers, or its connections to an external store."""
    if settings.remote_store:
        return settings.store_connections
    return settings.query_workers or max(2, os.cpu_count() or 2)


def app_factory() -> FastAPI:
    return create_app()
