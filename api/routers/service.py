"""The service's own state: /health (liveness, version, counts, workers) and /ready (can it answer queries)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.plumbing.runtime import ServiceDep

router = APIRouter(tags=["Service"])


def _degraded(status: dict[str, object]) -> str | None:
    """Why the engine cannot answer now, from its status: an embedded engine none of whose workers is alive.

    An external store's reachability is /ready's business: /health says whether this server is well.
    """
    if status.get("store") == "embedded" and status.get("workers") == 0:
        return "no query worker is alive; they are being restarted"
    return None


@router.get(
    "/health",
    summary="Liveness, dataset version, triple counts and workers (503 while no query worker is alive)",
)
async def health(service: ServiceDep) -> JSONResponse:
    runtime = service.runtime
    status = runtime.engine.status()
    problem = _degraded(status)
    body: dict[str, object] = {
        "status": "degraded" if problem else "ok",
        "version": runtime.version,
        "triples": runtime.graphs,
        **status,
    }
    if problem:
        body["problem"] = problem
    if service.reload_error:  # a new build that was refused; the current release serves on
        body["reload_error"] = service.reload_error
    return JSONResponse(body, status_code=503 if problem else 200, headers={"Retry-After": "1"} if problem else None)


@router.get("/ready", summary="Readiness: 200 once the dataset is loaded and workers answer")
async def ready(service: ServiceDep) -> JSONResponse:
    runtime = service.runtime
    ok = service.ready and await runtime.engine.healthy()
    body = {"ready": ok, "version": runtime.version, "triples": sum(runtime.graphs.values())}
    return JSONResponse(body, status_code=200 if ok else 503, headers=None if ok else {"Retry-After": "1"})
