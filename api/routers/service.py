"""The service's own state: /health (liveness, version, counts, workers) and /ready (can it answer queries)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.plumbing.runtime import ServiceDep

router = APIRouter(tags=["Service"])


@router.get("/health", summary="Liveness, dataset version and triple counts")
async def health(service: ServiceDep) -> JSONResponse:
    runtime = service.runtime
    return JSONResponse(
        {"status": "ok", "version": runtime.version, "triples": runtime.graphs, **runtime.engine.status()}
    )


@router.get("/ready", summary="Readiness: 200 once the dataset is loaded and workers answer")
async def ready(service: ServiceDep) -> JSONResponse:
    runtime = service.runtime
    ok = service.ready and await runtime.engine.healthy()
    body = {"ready": ok, "version": runtime.version, "triples": sum(runtime.graphs.values())}
    return JSONResponse(body, status_code=200 if ok else 503, headers=None if ok else {"Retry-After": "1"})
