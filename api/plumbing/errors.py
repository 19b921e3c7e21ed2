"""One JSON problem shape for every error (RFC 9457: type, title, status, detail), mapped here only.

Also the outermost layer of the application (`install` puts it around everything, Starlette's own
error middleware included): one access-log line per request, and exceptions that were already
answered and logged, or that only say the client went away, are not handed on to the server to be
logged a second time with their whole traceback.
"""

from __future__ import annotations

import logging
import time
import uuid

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kg.errors import KGError

log = logging.getLogger("capkg.api")
access_log = logging.getLogger("capkg.access")  # the CLI sets its level from KG_ACCESS_LOG
PROBLEM = "application/problem+json"
CLIENT_CLOSED = 499  # nginx's code for "the client closed the connection before the answer"
# what a client that goes away mid-request or mid-answer makes the server raise
DISCONNECTS: tuple[type[Exception], ...] = (
    ClientDisconnect,
    anyio.EndOfStream,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    ConnectionResetError,
    BrokenPipeError,
)
MAX_TARGET = 2000  # characters of path and query string in an access-log line


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


def prefers_plain_text(request: Request) -> bool:
    """Whether the client's Accept ranks text/plain above JSON (a problem document is the default)."""
    accept = ", ".join(request.headers.getlist("accept")).lower()
    if "text/plain" not in accept and "text/*" not in accept:
        return False
    best: dict[str, float] = {}
    for part in accept.split(","):
        media, _, options = part.strip().partition(";")
        quality = 1.0
        for option in options.split(";"):
            name, _, value = option.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best[media.strip()] = max(best.get(media.strip(), 0.0), quality)
    plain = max(best.get("text/plain", 0.0), best.get("text/*", 0.0))
    json = max(best.get(media, 0.0) for media in (PROBLEM, "application/json", "application/*", "*/*", ""))
    return plain > json


def disconnect_in(exc: BaseException | None) -> BaseException | None:
    """The disconnect among `exc`, its causes and contexts (and the members of exception groups), if any."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DISCONNECTS):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            for member in exc.exceptions:
                found = disconnect_in(member)
                if found is not None:
                    return found
        exc = exc.__cause__ or exc.__context__
    return None


def _gone(request: Request, exc: BaseException) -> Response:
    """One line, no traceback: a client going away is not the server's failure. Nobody reads the answer."""
    log.info("client disconnected: %s %s (%s)", request.method, request.url.path, type(exc).__name__)
    return Response(status_code=CLIENT_CLOSED)


def _failed(request: Request, exc: BaseException) -> JSONResponse:
    """The traceback, logged once with a reference the client gets too."""
    reference = uuid.uuid4().hex[:12]
    log.error("unexpected error %s on %s %s", reference, request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal server error", f"unexpected error; reference {reference}")


def install(app: FastAPI) -> None:
    @app.exception_handler(KGError)
    async def kg_error(request: Request, exc: KGError) -> Response:
        extra: dict[str, object] = ({"field": exc.field} if exc.field else {}) | exc.problem_members()
        if exc.file is None and exc.line is not None:  # a position in the field's text (a query's line and column)
            extra |= {"line": exc.line, "column": exc.column}
        retry_after = exc.retry_after or (1 if exc.http_status in (503, 504) else None)
        headers = {"Vary": "Accept"}  # text or a problem document, by Accept
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        if prefers_plain_text(request):
            return Response(
                f"{exc.title}: {exc.problem}\n",
                status_code=exc.http_status,
                media_type="text/plain; charset=utf-8",
                headers=headers,
            )
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

    async def client_gone(request: Request, exc: Exception) -> Response:
        # ClientDisconnect says so itself; a reset or a closed stream is the client's only if it is gone
        if isinstance(exc, ClientDisconnect) or await request.is_disconnected():
            return _gone(request, exc)
        return _failed(request, exc)

    for disconnect in DISCONNECTS:
        app.add_exception_handler(disconnect, client_gone)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # here when the answer had begun (or outside the routes): a disconnect still gets one line
        gone = disconnect_in(exc)
        if gone is not None:
            log.warning(
                "connection lost while answering %s %s: %s: %s",
                request.method,
                request.url.path,
                type(gone).__name__,
                gone,
            )
            return Response(status_code=CLIENT_CLOSED)
        return _failed(request, exc)

    inner = app.build_middleware_stack
    # the stack is built on the first request (or lifespan): this layer goes around all of it
    app.build_middleware_stack = lambda: Outermost(inner())  # type: ignore[method-assign]


class Outermost:
    """One access-log line per request, and no second report of an error already answered.

    Starlette's ServerErrorMiddleware passes every exception to `unexpected` (which logs it with a
    reference, or as one line for a disconnect), sends the 500 if it can, then raises it again for
    the server to log: uvicorn would print the whole traceback a second time. Here such an
    exception stops; one that was neither answered nor a disconnect still goes on to the server.
    The access line holds the client address, method, path and query string (as sent, cut at
    MAX_TARGET characters), status, duration and body size sent; never a request body or a header.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None
        sent = 0
        complete = False

        async def watch(message: Message) -> None:
            nonlocal status, sent, complete
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if not (complete or disconnect_in(exc)):
                raise
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    '%s "%s %s HTTP/%s" %s %.1fms %dB',
                    scope["client"][0] if scope.get("client") else "-",
                    scope["method"],
                    _target(scope),
                    scope.get("http_version", "1.1"),
                    status if status is not None else "-",
                    (time.perf_counter() - started) * 1000,
                    sent,
                )


def _target(scope: Scope) -> str:
    """Path and query string as the client sent them (percent-encoded: no line breaks reach the log)."""
    raw = scope.get("raw_path") or scope["path"].encode("utf-8", "replace")
    query = scope.get("query_string", b"")
    target = (raw + (b"?" + query if query else b"")).decode("ascii", "backslashreplace")
    target = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in target)
    return target if len(target) <= MAX_TARGET else target[:MAX_TARGET] + "…"
