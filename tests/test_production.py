"""The production layout, started and attacked on 127.0.0.1: nginx in front of two replicas (scripts/production.py).

Through the proxy the app sees each client's own address; a slow-loris, a header flood and a flood of
silent connections leave /health answering; a new build rolls out to both replicas, and a replica killed
outright is replaced, without a failed request. The timings printed are liveness checks on a shared
2-core machine, not benchmarks; docs/production.md records what they measured.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kg.release.layout import file_manifest
from kg.release.write import new_release
from tests.conftest import ASSERTED, ROOT, Built
from tests.server import free_port

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (scripts/test.sh installs Debian's nginx-light)"
)
CLIENT_TIMEOUT = 3  # seconds nginx gives a client for its request head (short, so the floods end quickly)
LIVENESS = 2.0  # seconds: a liveness bound for /health under attack, not a latency target


@dataclass
class Production:
    url: str
    run_dir: Path
    replica_ports: list[int]
    launcher: subprocess.Popen[bytes]
    log: Path

    def replica_pid(self, port: int) -> int:
        return int((self.run_dir / f"replica-{port}.pid").read_text())

    def nginx_pid(self) -> int:
        return int((self.run_dir / "nginx.pid").read_text())

    def access_log(self) -> str:
        return (self.run_dir / "logs" / "access.log").read_text(errors="replace")


@contextmanager
def production(build_dir: Path, log: Path, **settings: str) -> Iterator[Production]:
    """scripts/production.py with two replicas on free loopback ports; stopped (SIGTERM) at the end."""
    port, replica_ports = free_port(), [free_port(), free_port()]
    # nginx's workers run as nobody and must reach the run directory: not under pytest's 0700 tmp_path
    run_dir = Path(tempfile.mkdtemp(prefix="capkg-production-"))
    run_dir.chmod(0o755)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env = {**inherited, "KG_QUERY_WORKERS": "1", **{f"KG_{k.upper()}": v for k, v in settings.items()}}
    command = [
        sys.executable,
        str(ROOT / "scripts" / "production.py"),
        *("--replicas", "2", "--port", str(port), "--replica-ports", ",".join(map(str, replica_ports))),
        *("--build-dir", str(build_dir), "--run-dir", str(run_dir), "--client-timeout", str(CLIENT_TIMEOUT)),
    ]
    with open(log, "wb") as output:
        launcher = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    running = Production(f"http://127.0.0.1:{port}", run_dir, replica_ports, launcher, log)
    try:
        deadline = time.monotonic() + 240  # two replicas starting on a busy 2-core machine
        while "serving http://" not in log.read_text(errors="replace"):
            if launcher.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the launcher did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield running
    finally:
        if launcher.poll() is None:
            launcher.send_signal(signal.SIGTERM)
            try:
                launcher.wait(timeout=60)
            except subprocess.TimeoutExpired:
                launcher.kill()  # its children get SIGTERM (PR_SET_PDEATHSIG)
                launcher.wait()
        shutil.rmtree(run_dir, ignore_errors=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def proxy(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    """One layout for the attacks. Small per-client rates: 5 requests at once, then 1 a second, per replica
    (127.0.0.1, where the attacks and /health checks come from, is exempt by default; 127.0.0.2 and .3 not)."""
    log = tmp_path_factory.mktemp("production") / "launcher.log"
    with production(built.settings.build_dir, log, client_rate="1", client_burst="5") as running:
        yield running


def new_connection_each_time() -> httpx.Client:
    """A client that opens a new connection for every request, as a stream of separate visitors would."""
    return httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0))


def via(address: str) -> httpx.Client:
    """A client whose connections come from `address` (any 127.x.y.z is this machine on Linux)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def test_through_the_proxy_the_app_answers_and_sees_each_clients_address(proxy: Production) -> None:
    with new_connection_each_time() as client:  # a baseline for the timings under attack below
        timings = []
        for _ in range(20):
            started = time.monotonic()
            assert client.get(proxy.url + "/health").json()["status"] == "ok"
            timings.append(time.monotonic() - started)
    print(f"\nno attack: /health p50 {statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms")
    assert httpx.get(proxy.url + "/", timeout=30).status_code == 200
    secret = "SECRETMARKER"
    asked = httpx.get(proxy.url + "/sparql", params={"query": f"ASK {{ ?s ?p '{secret}' }}"}, timeout=30)
    assert asked.status_code == 200 and asked.json()["boolean"] is False
    posted = httpx.post(proxy.url + "/sparql", data={"query": f"ASK {{ ?s ?p '{secret}' }}"}, timeout=30)
    assert posted.status_code == 200
    # the app limits each client by the address nginx forwards: one client's flood is not another's problem
    with via("127.0.0.2") as greedy, via("127.0.0.3") as modest:
        flood = [greedy.get(proxy.url + "/sparql", params={"query": "ASK { ?s ?p ?o }"}) for _ in range(30)]
        polite = [modest.get(proxy.url + "/sparql", params={"query": "ASK { ?s ?p ?o }"}) for _ in range(3)]
    statuses = [response.status_code for response in flood]
    assert 429 in statuses and set(statuses) <= {200, 429}, statuses
    assert all(r.headers.get("retry-after") for r in flood if r.status_code == 429)
    assert [response.status_code for response in polite] == [200, 200, 200]
    # the access log names path and status, never the query (no query string, no body)
    time.sleep(0.5)
    log = proxy.access_log()
    assert '"GET /sparql" 200' in log and '"POST /sparql" 200' in log
    assert secret not in log and "query=" not in log
    assert secret not in (proxy.run_dir / "logs" / "error.log").read_text(errors="replace")


def test_a_slow_loris_does_not_stop_health(proxy: Production) -> None:
    """1,000 connections trickle a request head a byte at a time; /health is asked 50 times meanwhile."""
    stop, opened, dropped = threading.Event(), [0], [0]

    def connect() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", int(proxy.url.rsplit(":", 1)[1])), timeout=5)
        sock.setblocking(False)
        sock.send(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        opened[0] += 1
        return sock

    def loris() -> None:
        sockets = [connect() for _ in range(1000)]
        ready.set()
        deadline = time.monotonic() + 15  # bounded: at most 15 s of attack
        while not stop.is_set() and time.monotonic() < deadline:
            for index, sock in enumerate(sockets):
                try:
                    sock.send(b"X")  # one more byte of a header line that never ends
                except BlockingIOError:
                    pass
                except OSError:  # nginx gave up on it (client_header_timeout): a new one takes its place
                    sock.close()
                    dropped[0] += 1
                    sockets[index] = connect()
            stop.wait(0.5)
        for sock in sockets:
            sock.close()

    ready = threading.Event()
    attacker = threading.Thread(target=loris, daemon=True)
    timings, statuses = [], []
    with contextlib.ExitStack() as cleanup:
        assert cleanup.enter_context(file_descriptors(1000 + 1024)) >= 1000 + 1024, "too few open files allowed"
        attacker.start()
        cleanup.callback(attacker.join, 30)
        cleanup.callback(stop.set)
        assert ready.wait(60)
        with new_connection_each_time() as client:
            for _ in range(50):
                started = time.monotonic()
                statuses.append(client.get(proxy.url + "/health").status_code)
                timings.append(time.monotonic() - started)
                time.sleep(0.1)
        time.sleep(max(0.0, CLIENT_TIMEOUT + 1.5 - 50 * 0.1))  # long enough for nginx to cut the first ones off
    p50, p99 = statistics.median(timings), statistics.quantiles(timings, n=100, method="inclusive")[98]
    print(
        f"\nslow-loris: {opened[0]} connections opened, {dropped[0]} cut off by nginx; "
        f"/health p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms"
    )
    assert statuses == [200] * 50
    assert p99 < LIVENESS, f"/health p99 {p99:.2f} s under a slow-loris"  # liveness, not a benchmark
    assert dropped[0] > 0, "nginx never cut off a connection that trickled its request head"


def _send_head(proxy: Production, head: bytes) -> tuple[bytes, float]:
    """Send a request head in 64 KiB pieces; what came back (or b'' if nginx reset the connection)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", int(proxy.url.rsplit(":", 1)[1])), timeout=30) as sock:
        try:
            for offset in range(0, len(head), 65536):
                sock.sendall(head[offset : offset + 65536])
        except OSError:  # refused before we finished: nginx stopped reading
            pass
        try:
            answer = sock.recv(4096)
        except OSError:
            answer = b""
    return answer, time.monotonic() - started


def test_a_header_flood_is_refused_by_the_proxy(proxy: Production) -> None:
    huge = b"GET /flood-huge HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (50 * 2**20) + b"\r\n\r\n"
    many = b"GET /flood-many HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(10_000)) + b"\r\n"
    long_line = b"GET /flood-uri?" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    for name, head, refusals in (
        ("50 MB header", huge, {b"400", b"431", b"494"}),
        ("10,000 header lines", many, {b"400", b"431", b"494"}),
        ("10 kB request line", long_line, {b"414"}),
    ):
        answer, seconds = _send_head(proxy, head)
        status = answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/1.") else b"reset"
        print(f"\n{name}: {status.decode()} in {seconds * 1000:.0f} ms")
        assert status in refusals, (name, answer[:200])
    time.sleep(0.5)
    log = proxy.access_log()
    for path in ("/flood-huge", "/flood-many"):  # refused by nginx: no replica was asked
        [line] = [line for line in log.splitlines() if f' {path}"' in line]
        assert "upstream=- " in line and '" 400 ' in line, line
    assert "/flood-uri" not in log  # nginx did not even parse the request line far enough to log its path
    assert re.search(r'"- -" 414 .* upstream=- ', log)
    started = time.monotonic()
    assert httpx.get(proxy.url + "/health", timeout=10).status_code == 200
    assert time.monotonic() - started < LIVENESS


def test_one_address_holds_at_most_its_share_of_requests_and_bodies_are_bounded(proxy: Production) -> None:
    """40 requests from one address that never send their announced body: 32 are held, 8 refused at once."""
    port = int(proxy.url.rsplit(":", 1)[1])
    head = b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    held = []
    try:
        for _ in range(40):
            sock = socket.socket()
            sock.bind(("127.0.0.4", 0))
            sock.settimeout(CLIENT_TIMEOUT + 10)
            sock.connect(("127.0.0.1", port))
            sock.sendall(head + b"Content-Length: 1000\r\n\r\n")
            held.append(sock)
        # nginx refuses the 8 at once: wait for them (not a fixed second: a loaded machine may take longer), then
        # look once more for a ninth, all well before the held ones' body timeout
        deadline = time.monotonic() + CLIENT_TIMEOUT - 0.8
        answers: dict[int, bytes] = {}

        def read_answers() -> None:
            for number, sock in enumerate(held):
                if number not in answers:
                    with contextlib.suppress(BlockingIOError):
                        answers[number] = sock.recv(4096)

        for sock in held:
            sock.setblocking(False)
        while len(answers) < 8 and time.monotonic() < deadline:
            read_answers()
            time.sleep(0.05)
        time.sleep(0.3)
        read_answers()
        refused = list(answers.values())
        assert len(refused) == 8 and all(answer.startswith(b"HTTP/1.1 429 ") for answer in refused), refused[:2]
        assert all(b"\r\nRetry-After: 1\r\n" in answer for answer in refused)
        with via("127.0.0.5") as other:  # another address is not affected
            assert other.get(proxy.url + "/health").status_code == 200
        # a body over KG_MAX_BODY_BYTES (1 MB by default) is refused by nginx from its Content-Length
        answer, _ = _send_head(proxy, head + b"Content-Length: 2000000\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 413 ")
        # the held requests end after client_body_timeout: nginx answers 408 or just closes
        started = time.monotonic()
        for sock in held:
            sock.setblocking(True)
            with contextlib.suppress(OSError):
                while sock.recv(4096):
                    pass
        assert time.monotonic() - started < CLIENT_TIMEOUT + 5
    finally:
        for sock in held:
            sock.close()
    log = proxy.access_log()
    assert re.search(r'"POST /sparql" 413 .* upstream=- ', log)
    assert len(re.findall(r'127\.0\.0\.4 .*"POST /sparql" 429 .* upstream=- ', log)) >= 8


@contextmanager
def file_descriptors(wanted: int) -> Iterator[int]:
    """Raise this process's soft limit on open files towards `wanted`; yields what it could get."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    granted = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < granted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (granted, hard))
    try:
        yield max(soft, granted)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_flood_of_silent_connections_does_not_stop_health_and_is_closed(proxy: Production) -> None:
    """3,000 connections that connect and send nothing: /health answers, and nginx closes them all."""
    with file_descriptors(3000 + 1024) as limit:
        count = min(3000, limit - 1024)  # bounded by this machine's limit on open files
        assert count >= 500, f"the limit on open files ({limit}) leaves too few for this attack"
        port = int(proxy.url.rsplit(":", 1)[1])
        started = time.monotonic()
        silent = []
        try:
            for _ in range(count):
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                sock.setblocking(False)
                silent.append(sock)
            opened = time.monotonic() - started
            timings = []
            with new_connection_each_time() as client:
                for _ in range(20):
                    before = time.monotonic()
                    assert client.get(proxy.url + "/health").status_code == 200
                    timings.append(time.monotonic() - before)
            # every silent connection is closed by nginx (EOF or reset) within its header timeout (plus slack)
            selector = selectors.DefaultSelector()  # epoll: select() stops at 1,024 descriptors
            for sock in silent:
                selector.register(sock, selectors.EVENT_READ)
            closed, deadline = 0, time.monotonic() + CLIENT_TIMEOUT + 20
            while closed < count and time.monotonic() < deadline:
                for key, _ in selector.select(timeout=1):
                    peer = key.fileobj
                    assert isinstance(peer, socket.socket)
                    try:
                        data = peer.recv(100)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    assert data == b"", data  # nothing is answered to a request that was never sent
                    selector.unregister(peer)
                    closed += 1
            all_closed = time.monotonic() - started
            selector.close()
        finally:
            for sock in silent:
                sock.close()
    print(
        f"\nsilent connections: {count} opened in {opened:.1f} s; meanwhile /health p50 "
        f"{statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms; "
        f"{closed} closed by nginx {all_closed:.1f} s after the first was opened"
    )
    assert max(timings) < LIVENESS  # liveness, not a benchmark
    assert closed == count
    assert httpx.get(proxy.url + "/health", timeout=10).status_code == 200


# --- builds and replicas change under load --------------------------------------------------------


def tiny_release(build_dir: Path, version: str) -> None:
    """A small release written the way the build writes one (as tests/test_reload.py does), current switched."""
    quads = f'<https://example.org/{version}> <https://example.org/p> "{version}" <{ASSERTED}> .\n'
    with new_release(build_dir, version) as directory:
        (directory / "dataset.nq").write_text(quads, encoding="utf-8")
        summary = {"version": version, "graphs": {ASSERTED: 1}, "files": file_manifest(directory)}
        (directory / "summary.json").write_text(json.dumps(summary), encoding="utf-8")


@pytest.fixture
def build_dir(built: Built, tmp_path: Path) -> Path:
    """A build directory of its own (its current release a copy of the session's build), to change."""
    directory = tmp_path / "build"
    shutil.copytree(built.result.directory, directory / "releases" / "20000101T000000000000-first")
    (directory / "current").symlink_to(Path("releases") / "20000101T000000000000-first", target_is_directory=True)
    return directory


@dataclass
class Answer:
    path: str
    started: float
    ended: float
    status: int  # 0: no (complete) answer
    detail: str  # the build's version for /health, else what went wrong


class Pollers:
    """Clients asking /health and /sparql through the proxy until stopped; every answer recorded."""

    def __init__(self, base: str, clients: int = 4) -> None:
        self.base, self.stop = base, threading.Event()
        self.answers: list[Answer] = []
        self.threads = [threading.Thread(target=self._poll, daemon=True) for _ in range(clients)]

    def _ask(self, client: httpx.Client, path: str) -> None:
        started = time.monotonic()
        try:
            response = client.get(path)
            status, detail = response.status_code, str(response.json().get("version"))
        except (httpx.HTTPError, ValueError) as exc:
            status, detail = 0, f"{type(exc).__name__}: {exc}"
        self.answers.append(Answer(path, started, time.monotonic(), status, detail))

    def _poll(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            for _ in range(20_000):  # bounded: the tests stop them after seconds
                if self.stop.is_set():
                    return
                self._ask(client, "/health")
                self._ask(client, "/sparql?query=ASK%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D")

    def failures(self, after: float = 0.0) -> list[Answer]:
        return [answer for answer in self.answers if answer.status != 200 and answer.started >= after]

    def slowest(self, after: float = 0.0) -> float:
        return max(answer.ended - answer.started for answer in self.answers if answer.started >= after)

    def __enter__(self) -> Pollers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def _replica_version(port: int) -> str:
    return str(httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json()["version"])


def test_a_new_build_rolls_out_to_both_replicas_without_a_failed_request(build_dir: Path, tmp_path: Path) -> None:
    with production(build_dir, tmp_path / "launcher.log", reload_interval="0.3") as running:
        first = _replica_version(running.replica_ports[0])
        with Pollers(running.url) as pollers:
            time.sleep(1.0)
            written = time.monotonic()
            tiny_release(build_dir, "second")
            while {_replica_version(port) for port in running.replica_ports} != {"second"}:
                assert time.monotonic() < written + 60, "the replicas did not both switch to the new build"
                time.sleep(0.2)
            switched = time.monotonic() - written
            time.sleep(1.0)
        versions = {answer.detail for answer in pollers.answers if answer.path == "/health" and answer.status == 200}
        print(
            f"\nrollout: {len(pollers.answers)} requests, both replicas on the new build {switched:.1f} s after it was "
            f"written, slowest {pollers.slowest() * 1000:.0f} ms, failures {len(pollers.failures())}"
        )
        assert pollers.answers and not pollers.failures(), pollers.failures()[:5]
        assert versions == {first, "second"}
        assert str(httpx.get(running.url + "/health", timeout=10).json()["version"]) == "second"


def test_a_killed_replica_loses_no_request_and_is_restarted(built: Built, tmp_path: Path) -> None:
    """SIGKILL, while 4 clients poll. Requests the replica had not begun to answer are sent to the other one
    (proxy_next_upstream); an answer it had begun to send when it died cannot be taken back (nginx has passed
    its status line on) and ends incomplete, which a client sees as such. Everything after the kill succeeds."""
    with production(built.settings.build_dir, tmp_path / "launcher.log") as running:
        port = running.replica_ports[0]
        victim = running.replica_pid(port)
        with Pollers(running.url) as pollers:
            time.sleep(1.0)
            killed = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            deadline = killed + 120  # restarted after a 1 s back-off, then loads the build
            while f"replica on port {port} is ready" not in running.log.read_text().partition("exited")[2]:
                assert time.monotonic() < deadline, running.log.read_text()
                time.sleep(0.2)
            restarted = time.monotonic() - killed
            answered = len(running.access_log())
            while f"upstream=127.0.0.1:{port} 200" not in running.access_log()[answered:]:  # back in nginx's use
                assert time.monotonic() < deadline, "nginx sent nothing to the restarted replica"
                time.sleep(0.2)
            time.sleep(1.0)
        replacement = running.replica_pid(port)
        after = [answer for answer in pollers.answers if answer.started > killed]
        cut = [answer for answer in pollers.failures() if answer.started <= killed]
        print(
            f"\nSIGKILL: {len(after)} requests after the kill, all answered; {len(cut)} answer(s) cut off "
            f"mid-way by the kill; replica ready again {restarted:.1f} s later; slowest request after the kill "
            f"{pollers.slowest(after=killed) * 1000:.0f} ms"
        )
        assert len(after) > 10 and not pollers.failures(after=killed), pollers.failures(after=killed)[:5]
        # at most the one request each client had in flight, and only as an incomplete answer
        assert len(cut) <= 4 and all(
            answer.ended >= killed and "RemoteProtocolError" in answer.detail for answer in cut
        )
        assert replacement != victim and alive(replacement) and not alive(victim)
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=10).status_code == 200

        # SIGTERM stops everything: nginx first (gracefully), then the replicas
        pids = [running.nginx_pid(), *(running.replica_pid(p) for p in running.replica_ports)]
        running.launcher.send_signal(signal.SIGTERM)
        assert running.launcher.wait(timeout=60) == 0
        assert not [pid for pid in pids if alive(pid)]
        assert not list(running.run_dir.glob("replica-*.pid"))
