"""A reverse proxy on 127.0.0.1 in front of a store, for fault tests: it can delay answers, ask for
HTTP Basic credentials (as nginx in front of Oxigraph would), fail requests, and it records what it saw."""

from __future__ import annotations

import base64
import http.client
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    parameters: dict[str, list[str]]
    authorization: str | None


@dataclass
class Behaviour:
    delay: float = 0.0
    credentials: tuple[str, str] | None = None  # Basic auth the proxy insists on
    fail_next: int = 0  # answer this many requests with fail_status instead of forwarding
    fail_status: int = 503
    seen: list[Seen] = field(default_factory=list)


@contextmanager
def store_proxy(upstream: str) -> Iterator[tuple[str, Behaviour]]:
    """Yields the proxy's base URL and the behaviour object the test changes as it goes."""
    target = urlsplit(upstream)
    behaviour = Behaviour()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            parameters = parse_qs(split.query, keep_blank_values=True)
            if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                for key, values in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items():
                    parameters.setdefault(key, []).extend(values)
            if self.headers.get("Content-Type", "").startswith("application/sparql-update"):
                parameters.setdefault("update", []).append(body.decode("utf-8", "replace"))
            with lock:
                behaviour.seen.append(Seen(self.command, split.path, parameters, self.headers.get("Authorization")))
                failing = behaviour.fail_next > 0
                if failing:
                    behaviour.fail_next -= 1
            if behaviour.credentials is not None:
                expected = "Basic " + base64.b64encode(":".join(behaviour.credentials).encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._reply(401, b"unauthorized", {"WWW-Authenticate": 'Basic realm="store"'})
                    return
            if failing:
                self._reply(behaviour.fail_status, b"unavailable", {"Retry-After": "1"})
                return
            if behaviour.delay:
                time.sleep(behaviour.delay)
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "authorization"}}
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                kept = {
                    k: v
                    for k, v in response.getheaders()
                    if k.lower() in {"content-type", "retry-after", "www-authenticate"}
                }
                self._reply(response.status, payload, kept)
            except OSError:
                self._reply(502, b"bad gateway", {})
            finally:
                connection.close()

        def _reply(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
            try:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (the API's budget ran out): nothing to do

        do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", behaviour
    finally:
        server.shutdown()
        server.server_close()
