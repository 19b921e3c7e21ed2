"""The queries' HTTP: http.client connections kept alive, every socket operation held to the query's deadline.

On the remote path the API process itself sends every query and reads every answer. Through httpx
(kg.engines.remote.transport, which carries the build's writes and Digest accounts) an exchange costs it
about 0.6 ms of CPU; through http.client, 0.22 ms: a third of what the store's hop adds to the service.
So a query with no account or a Basic one goes this way.

As in .transport, a socket timeout alone would bound each read, not the exchange: every connect, send and
read here is given the time left until the query's deadline, recomputed for each, so a store trickling
its answer a byte at a time cannot hold the thread past it. A connection is kept for the next query only
once its answer was read to the end.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.client
import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

IDLE_EXPIRY = 5.0  # seconds a kept connection may wait for the next query (a store may close it sooner)
READ_SIZE = 1 << 16


class DeadlinePassed(TimeoutError):
    """The query's deadline passed before this socket operation could start."""


class _Timed:
    """What both socket classes share: the deadline of the exchange under way, and each operation bounded by it."""

    deadline: float | None = None

    def _bound(self) -> None:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left < 0.001:  # a timeout of 0 would make the socket non-blocking
                raise DeadlinePassed("the deadline has passed")
            self.settimeout(left)  # type: ignore[attr-defined]

    # the arguments pass through as given: socket's and SSLSocket's defaults differ
    def recv_into(self, *args: Any, **kwargs: Any) -> Any:
        self._bound()
        return super().recv_into(*args, **kwargs)  # type: ignore[misc]

    def recv(self, *args: Any, **kwargs: Any) -> Any:
        self._bound()
        return super().recv(*args, **kwargs)  # type: ignore[misc]

    def sendall(self, *args: Any, **kwargs: Any) -> Any:
        self._bound()
        return super().sendall(*args, **kwargs)  # type: ignore[misc]


class _DeadlineSocket(_Timed, socket.socket):
    pass


class _DeadlineTLSSocket(_Timed, ssl.SSLSocket):
    pass


def _connect(
    address: tuple[str, int], timeout: Any = None, source_address: Any = None, *, deadline: float
) -> socket.socket:
    """socket.create_connection's socket as a _DeadlineSocket, given what is left of the deadline once connected:
    a TLS handshake (wrap_socket copies the timeout) gets no more than that."""
    plain = socket.create_connection(address, timeout, source_address)
    sock = _DeadlineSocket(plain.family, plain.type, plain.proto, fileno=plain.detach())
    left = deadline - time.monotonic()
    if left < 0.001:
        sock.close()
        raise DeadlinePassed("the deadline passed while connecting")
    sock.settimeout(left)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _stale(connection: http.client.HTTPConnection) -> bool:
    """Whether a kept connection can no longer carry a request: closed, or readable while idle (the store hung up,
    or sent something nobody asked for)."""
    sock = connection.sock
    if sock is None or sock.fileno() < 0:
        return True
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    poller = select.poll()  # not select.select: a busy server's descriptors pass FD_SETSIZE
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


# what sending on a connection the store has closed raises, on plain sockets and under TLS
SEND_FAILURES = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, ssl.SSLEOFError, ssl.SSLZeroReturnError)


def _answer_anyway(connection: http.client.HTTPConnection) -> http.client.HTTPResponse | None:
    """The answer a store sent before it stopped reading the request (413 for a body over its limit), if any."""
    try:
        return connection.getresponse()
    except (OSError, http.client.HTTPException):
        return None


class Reply:
    """A store's answer under way: its status and headers, its body read within the deadline."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.response = response
        self.status: int = response.status
        self.headers: Message = response.headers
        self.read_whole = False

    def read(self, cap: int, over_cap: Callable[[], Exception] | None = None) -> bytes:
        """The body, chunk by chunk; past `cap` bytes, `over_cap` is raised (or the body stops there)."""
        chunks, size = [], 0
        while chunk := self.response.read1(READ_SIZE):
            size += len(chunk)
            if size > cap:
                if over_cap is not None:
                    raise over_cap()
                chunks.append(chunk[: len(chunk) - (size - cap)])
                return b"".join(chunks)
            chunks.append(chunk)
        # read1 leaves a response of known length open at its end; its connection takes no request until it is closed
        self.response.close()
        self.read_whole = True
        return b"".join(chunks)


class QueryWire:
    """POSTs to one URL over kept-alive http.client connections; safe to use from several threads."""

    def __init__(self, url: str, keepalive: int, user: str | None = None, password: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("the store's URL must be http or https, with a host")
        self.secure = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.secure else 80)
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.keepalive = keepalive
        self.authorization = (
            "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode() if user is not None else None
        )
        self._context: ssl.SSLContext | None = None
        if self.secure:
            self._context = ssl.create_default_context()  # the system's certificate authorities
            self._context.sslsocket_class = _DeadlineTLSSocket
        self._idle: deque[tuple[http.client.HTTPConnection, float]] = deque()
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:  # never shows the credentials
        return f"QueryWire({'https' if self.secure else 'http'}://{self.host}:{self.port})"

    def _new(self) -> http.client.HTTPConnection:
        return (
            http.client.HTTPSConnection(self.host, self.port, context=self._context)
            if self.secure
            else http.client.HTTPConnection(self.host, self.port)
        )

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        """A kept connection (True) if one has not idled too long, else a new one (False)."""
        now = time.monotonic()
        with self._lock:
            while self._idle:
                connection, since = self._idle.pop()
                if now - since < IDLE_EXPIRY and not _stale(connection):
                    return connection, True
                connection.close()
        return self._new(), False

    def _keep(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.keepalive:
                self._idle.append((connection, time.monotonic()))
                return
        connection.close()

    @contextlib.contextmanager
    def post(self, body: bytes, headers: dict[str, str], deadline: float) -> Iterator[Reply]:
        """Send `body`, yield the reply once its headers are in; the connection is kept if its body was read whole.

        A kept connection found closed while the request was being sent (the store hung up between the check in
        `_take` and now) is replaced once, and the request sent on a new one: the store cannot have read it. A
        request that was sent whole is never sent again here (the engine decides about retries). A store that
        answers before reading the whole request (a 413) is heard: its answer is read after the failed send.
        """
        headers = {**headers, "Authorization": self.authorization} if self.authorization else headers
        connection, kept = self._take()
        try:
            try:
                self._send(connection, body, headers, deadline)
            except SEND_FAILURES:
                if not kept:
                    raise
                connection.close()
                connection = self._new()
                self._send(connection, body, headers, deadline)
        except SEND_FAILURES as failure:
            response = _answer_anyway(connection)
            if response is None:
                connection.close()
                raise failure from None
        except BaseException:
            connection.close()
            raise
        else:
            try:
                response = connection.getresponse()
            except BaseException:
                connection.close()
                raise
        reply = Reply(response)
        try:
            yield reply
        finally:
            # an interim answer (1xx but 100) would leave the final one to be read as the next query's
            if reply.read_whole and reply.status >= 200 and not response.will_close:
                self._keep(connection)
            else:
                connection.close()

    def _send(
        self, connection: http.client.HTTPConnection, body: bytes, headers: dict[str, str], deadline: float
    ) -> None:
        left = deadline - time.monotonic()
        if left < 0.001:
            raise DeadlinePassed("the deadline has passed")
        if connection.sock is None:
            connection.timeout = left
            connection._create_connection = functools.partial(_connect, deadline=deadline)  # type: ignore[attr-defined]
            connection.connect()
        connection.sock.deadline = deadline  # type: ignore[union-attr]
        connection.request("POST", self.target, body=body, headers=headers)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            while self._idle:
                self._idle.pop()[0].close()
