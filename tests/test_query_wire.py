"""The queries' HTTP (kg.engines.remote.wire) against small loopback servers: kept connections, a store that
closed one meanwhile, the size cap, the deadline over a trickling answer, and TLS with certificate checks."""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kg.engines.remote.wire import QueryWire


class Store(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.connections = 0
        self.requests: list[tuple[str, str | None, bytes]] = []
        self.mode = "answer"  # answer, close (after answering), trickle
        self.hung_up = threading.Event()  # a connection was closed on the store's side

    def get_request(self) -> Any:
        self.connections += 1
        return super().get_request()

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.hung_up.set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Store

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.path, self.headers.get("Authorization"), body))
        answer = b'{"head":{"vars":[]},"results":{"bindings":[]}}' * 4
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(answer)))
        if self.server.mode == "close":
            self.send_header("Connection", "close")
        self.end_headers()
        if self.server.mode == "trickle":
            for byte in answer:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        else:
            self.wfile.write(answer)


@pytest.fixture
def store() -> Iterator[Store]:
    server = Store()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url(server: Store, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{server.server_address[1]}/store/query?x=1"


def post(wire: QueryWire, body: bytes = b"query=ASK", seconds: float = 10) -> bytes:
    with wire.post(body, {"Content-Type": "application/x-www-form-urlencoded"}, time.monotonic() + seconds) as reply:
        assert reply.status == 200
        return reply.read(1 << 20)


def test_queries_one_after_another_share_one_connection_and_reach_the_path(store: Store) -> None:
    wire = QueryWire(url(store), keepalive=2, user="reader", password="pass word")
    answers = {post(wire, f"query={n}".encode()) for n in range(20)}
    assert len(answers) == 1 and answers.pop().startswith(b'{"head"')
    assert store.connections == 1
    assert [path for path, _, _ in store.requests] == ["/store/query?x=1"] * 20
    assert {authorization for _, authorization, _ in store.requests} == {"Basic cmVhZGVyOnBhc3Mgd29yZA=="}
    assert "pass" not in repr(wire)
    wire.close()


def test_a_connection_the_store_closes_is_not_reused(store: Store) -> None:
    wire = QueryWire(url(store), keepalive=2)
    store.mode = "close"
    post(wire)
    post(wire)
    assert store.connections == 2  # it said Connection: close, so the wire did not keep it


def test_a_kept_connection_the_store_closed_while_idle_is_replaced_without_a_failure(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Handler, "timeout", 0.3)  # the store hangs up connections idle this long
    wire = QueryWire(url(store), keepalive=2)
    post(wire)
    assert store.hung_up.wait(10)  # idle for the store's 0.3 s, then closed by it (a fixed sleep raced that)
    assert post(wire).startswith(b'{"head"')  # sent on the kept one, refused there, sent again on a new one
    assert store.connections == 2 and len(store.requests) == 2


def test_an_answer_over_the_cap_raises_what_the_caller_gives(store: Store) -> None:
    wire = QueryWire(url(store), keepalive=2)

    class TooLarge(Exception):
        pass

    with (
        pytest.raises(TooLarge),
        wire.post(b"query=ASK", {}, time.monotonic() + 10) as reply,
    ):
        reply.read(50, over_cap=TooLarge)
    assert post(wire).startswith(b'{"head"')  # the connection cut midway was not kept
    assert store.connections == 2


def test_a_trickling_answer_stops_at_the_deadline(store: Store) -> None:
    wire = QueryWire(url(store), keepalive=2)
    store.mode = "trickle"  # 188 bytes, one every 0.2 s: 38 s
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        post(wire, seconds=1.0)
    assert time.monotonic() - started < 3.0  # not the 38 s of the whole answer: slack for a loaded machine


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test store")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "store.pem", directory / "store.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def _serving_tls(store: Store, directory: Path) -> Path:
    """The store answers over TLS with a new self-signed certificate, whose file is returned."""
    cert_file, key_file = _certificate(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    store.socket = context.wrap_socket(store.socket, server_side=True)
    return cert_file


def test_tls_checks_the_certificate_and_keeps_the_deadline(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert_file = _serving_tls(store, tmp_path)
    with pytest.raises(ssl.SSLCertVerificationError):  # not trusted by the system's authorities
        post(QueryWire(url(store, "https"), keepalive=2))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # trusted, as an operator's own authority would be
    wire = QueryWire(url(store, "https"), keepalive=2)
    assert post(wire).startswith(b'{"head"') and post(wire).startswith(b'{"head"')
    store.mode = "trickle"
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        post(wire, seconds=1.0)
    assert time.monotonic() - started < 3.0  # not the 38 s of the whole answer: slack for a loaded machine


# -- stores that misbehave at the socket, one connection handler each --------------------------------------


@pytest.fixture
def raw_store() -> Iterator[tuple[str, list]]:
    """A loopback listener whose connections are each served by `handlers[0]`, which the test appends."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    handlers: list = []

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=handlers[0], args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/query", handlers
    stop.set()
    listener.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = int(next(line.split(b":")[1] for line in lines if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += conn.recv(65536)
    return body


def test_a_query_the_store_read_whole_is_never_sent_again_by_the_wire(raw_store: tuple[str, list]) -> None:
    """On a kept connection, the store reads the second query whole and hangs up (it crashed): the wire does not
    send it again (the engine's retries decide that), so a query that kills a store is not doubled here."""
    url_, handlers = raw_store
    received: list[bytes] = []

    def answer_once_then_hang_up(conn: socket.socket) -> None:
        with conn:
            received.append(_read_request(conn))
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            received.append(_read_request(conn))

    handlers.append(answer_once_then_hang_up)
    wire = QueryWire(url_, keepalive=2)
    assert post(wire, b"query=first") == b"ok"
    with pytest.raises(http.client.RemoteDisconnected):
        post(wire, b"query=fatal")
    time.sleep(0.3)
    assert received == [b"query=first", b"query=fatal"]


def test_a_store_that_refuses_the_body_before_reading_it_is_heard(raw_store: tuple[str, list]) -> None:
    url_, handlers = raw_store

    def refuse(conn: socket.socket) -> None:
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large")
            time.sleep(0.5)

    handlers.append(refuse)
    wire = QueryWire(url_, keepalive=2)
    with wire.post(b"query=" + b"x" * 8_000_000, {}, time.monotonic() + 10) as reply:
        assert reply.status == 413
        assert reply.read(100) == b"too large"


def test_an_interim_answer_never_leaves_its_final_answer_to_the_next_query(raw_store: tuple[str, list]) -> None:
    url_, handlers = raw_store

    def early_hints(conn: socket.socket) -> None:
        with conn:
            try:
                while True:
                    body = _read_request(conn)
                    answer = b"answer-to-" + body
                    if body == b"query=1":
                        conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n")
                        time.sleep(0.1)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer))
            except (OSError, StopIteration):
                return

    handlers.append(early_hints)
    wire = QueryWire(url_, keepalive=2)
    with wire.post(b"query=1", {}, time.monotonic() + 10) as reply:
        assert reply.status == 103  # the caller refuses it (kg.engines.remote.failures: HTTP 103 is a failure)
        reply.read(100)
    time.sleep(0.3)
    with wire.post(b"query=2", {}, time.monotonic() + 10) as reply:
        assert (reply.status, reply.read(100)) == (200, b"answer-to-query=2")  # not the first query's answer


def test_a_tls_handshake_gets_only_what_connecting_left_of_the_deadline(
    raw_store: tuple[str, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connecting took 0.8 s of a 1 s budget; the handshake with a store that never answers it gets the rest."""
    url_, handlers = raw_store
    handlers.append(lambda conn: (time.sleep(5), conn.close()))  # accepts, says nothing
    connect = socket.create_connection

    def slow_connect(*args: Any, **kwargs: Any) -> socket.socket:
        time.sleep(0.8)
        return connect(*args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", slow_connect)
    wire = QueryWire(url_.replace("http:", "https:"), keepalive=2)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        post(wire, seconds=1.0)
    assert time.monotonic() - started < 1.6  # a handshake given a whole new second would end at 1.8 s


def test_a_kept_tls_connection_the_store_closed_while_idle_is_replaced_without_a_failure(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert_file = _serving_tls(store, tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    monkeypatch.setattr(Handler, "timeout", 0.3)
    wire = QueryWire(url(store, "https"), keepalive=2)
    post(wire)
    assert store.hung_up.wait(10)  # idle for the store's 0.3 s, then closed by it (a fixed sleep raced that)
    assert post(wire).startswith(b'{"head"')
    assert store.connections == 2 and len(store.requests) == 2


def test_a_compressed_answer_nobody_asked_for_is_refused_with_its_reason(raw_store: tuple[str, list]) -> None:
    """The wire asks for no encoding; a store (or a proxy) that compresses all the same gets a clear failure, not
    bytes that fail to parse as SPARQL results."""
    import gzip

    from kg.engines.protocol import QueryJob
    from kg.engines.remote.client import StoreClient
    from kg.errors import StoreFailed
    from kg.settings import Settings

    url_, handlers = raw_store
    answer = gzip.compress(b'{"head":{},"boolean":true}')

    def compressing(conn: socket.socket) -> None:
        with conn:
            _read_request(conn)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\nContent-Encoding: gzip\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer)
            )

    handlers.append(compressing)
    client = StoreClient(Settings(store_query_url=url_))
    with pytest.raises(StoreFailed, match="compressed answer"):
        client.query(QueryJob("ASK { ?s ?p ?o }"), "ASK", None, time.monotonic() + 10)
    client.close()
