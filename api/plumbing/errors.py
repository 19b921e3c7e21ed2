"""One JSON problem shape for every error (RFC 9457: type, title, status, detail), mapped here only."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kg.errors import KGError

log = logging.getLogger("capkg.api")
PROBLEM = "application/problem+json"


class HTTPProblem(Exception):
    """An error the HTTP layer itself raises (negotiation, protocol)."""

    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        self.status, self.title, self.detail, self.headers = status, title, detail, headers or {}
        super().__init__(detail)


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(KGError)
    async def kg_error(request: Request, exc: KGError) -> JSONResponse:
        extra = {"field": exc.field} if exc.field else {}
        retry_after = exc.retry_after or (1 if exc.http_status in (503, 504) else None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return problem(exc.http_status, exc.title, exc.problem, headers, **extra)

    @app.exception_handler(HTTPProblem)
    async def http_problem(request: Request, exc: HTTPProblem) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        location = ".".join(str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body"))
        detail = f"{location}: {first.get('msg', 'invalid value')}" if location else first.get("msg", "invalid request")
        return problem(400, "Invalid request parameter", detail, field=location or None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Request body too large"}
        detail = exc.detail if isinstance(exc.detail, str) else titles.get(exc.status_code, "error")
        return problem(
            exc.status_code,
            titles.get(exc.status_code, "HTTP error"),
            detail,
            dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        reference = uuid.uuid4().hex[:12]
        log.exception("unexpected error %s on %s %s", reference, request.method, request.url.path)
        return problem(500, "Internal server error", f"unexpected error; reference {reference}")
