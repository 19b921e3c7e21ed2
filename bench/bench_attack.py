"""Attack a real server on 127.0.0.1 and print what it does to everyone else. Nothing is asserted.

For each attack the script prints `/health` latency (p50/p99) measured meanwhile from 127.0.0.1, the peak
resident memory of the server and its query workers together, and the statuses the attack itself got;
for the abuse attack, the ordinary clients' success ratio and latency; for the reload, the failed requests
and the longest wait while a new release goes live. Clients are told apart by address (each attacker
sends from its own loopback address), as a reverse proxy would forward them.

    .venv/bin/python bench/bench_attack.py [--seconds 10] [--only lexer,abuse,reload]

Loopback only; every loop is bounded in count and time; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from kg.pipeline import build  # noqa: E402
from kg.release.layout import current_build, file_manifest  # noqa: E402
from kg.release.write import new_release  # noqa: E402
from kg.settings import Settings  # noqa: E402

ASSERTED = "https://w3id.org/capacities/lp/id/graph/asserted"
HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
LIGHT = "ASK { ?s ?p ?o }"
BIG_ANSWER = "SELECT ?s ?p ?o ?x WHERE { ?s ?p ?o . ?s ?q ?x } LIMIT 9000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client_from(address: str, timeout: float = 30) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=timeout)


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    total, stack, seen = 0, [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, StopIteration):
            continue
        stack.extend(int(child) for child in children)
    return total


def probe_health(base: str, ready: Any, stop: Any, results: Any) -> None:
    """/health latencies, from a process of its own: the attack's client threads share this script's
    interpreter lock, and a probe among them would time its own wait for that lock."""
    latencies, failures = [], 0
    with httpx.Client(timeout=10) as client:
        client.get(base + "/health")
        ready.set()
        for _ in range(10_000):
            if stop.is_set():
                break
            started = time.perf_counter()
            try:
                ok = client.get(base + "/health").status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - started)
            failures += not ok
            stop.wait(0.05)
    results.put((latencies, failures))


class Watch:
    """/health latency and peak memory while an attack runs."""

    def __init__(self, base: str, pid: int) -> None:
        self.base, self.pid, self.stop = base, pid, threading.Event()
        self.latencies: list[float] = []
        self.failures = 0
        self.peak = rss_bytes(pid)
        self.threads = [threading.Thread(target=self._memory)]
        spawn = multiprocessing.get_context("spawn")
        self.probe_ready, self.probe_stop, self.probe_results = spawn.Event(), spawn.Event(), spawn.Queue()
        self.probe = spawn.Process(
            target=probe_health, args=(base, self.probe_ready, self.probe_stop, self.probe_results)
        )

    def _memory(self) -> None:
        while not self.stop.wait(0.2):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def __enter__(self) -> Watch:
        self.probe.start()
        self.probe_ready.wait(60)
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.probe_stop.set()
        self.latencies, self.failures = self.probe_results.get(timeout=60)
        self.probe.join(timeout=30)
        for thread in self.threads:
            thread.join(timeout=30)

    def line(self) -> str:
        values = sorted(self.latencies) or [0.0]
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        return (
            f"/health p50 {statistics.median(values) * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms  "
            f"failed {self.failures}/{len(self.latencies)}  peak memory {self.peak / 2**20:6.0f} MiB"
        )


@contextmanager
def serving(build_dir: Path, **settings: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "KG_BUILD_DIR": str(build_dir),
        "KG_PORT": str(port),
        "KG_HOST": "127.0.0.1",
        **{f"KG_{key.upper()}": value for key, value in settings.items()},
    }
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                log.seek(0)
                raise SystemExit("the server did not start:\n" + log.read().decode(errors="replace"))
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def send_all(base: str, bodies: list[str], address: str = "127.0.0.2") -> dict[int, int]:
    statuses: dict[int, int] = {}
    with client_from(address) as client:
        for body in bodies:
            try:
                status = client.post(base + "/sparql", data={"query": body}).status_code
            except httpx.HTTPError:
                status = 0
            statuses[status] = statuses.get(status, 0) + 1
    return statuses


def attack_lexer(base: str, seconds: float) -> str:
    bodies = ["SELECT * WHERE { " + "a." * 45_000 + " }" for _ in range(20)]
    return f"20 x 90 KB 'a.a.a…' queries: {send_all(base, bodies)}"


def attack_big_query(base: str, seconds: float) -> str:
    body = 'SELECT * WHERE { ?s ?p ?o FILTER(?o != "' + "x" * 990_000 + '") } LIMIT 1'
    return f"5 x 1 MB queries: {send_all(base, [body] * 5)}"


def attack_guard_cache(base: str, seconds: float) -> str:
    bodies = [f'SELECT * WHERE {{ ?s ?p "{n}{"y" * 90_000}" }} LIMIT 1' for n in range(300)]
    return f"300 distinct 90 KB queries: {send_all(base, bodies)}"


def attack_non_readers(base: str, seconds: float) -> str:
    """12 clients ask for large answers and never read them."""
    port = int(base.rsplit(":", 1)[1])
    sockets = []
    request = (
        "GET /sparql?query="
        + httpx.QueryParams({"q": BIG_ANSWER})["q"].replace(" ", "%20")
        + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/csv\r\n\r\n"
    ).encode()
    for _ in range(12):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(request)
        sockets.append(sock)
    time.sleep(seconds)
    for sock in sockets:
        sock.close()
    return "12 clients that never read a large answer"


def attack_abuse(base: str, seconds: float) -> str:
    stop = threading.Event()
    abusive: dict[int, int] = {}

    def abuse() -> None:
        with client_from("127.0.0.30") as client:
            for _ in range(500):
                if stop.is_set():
                    return
                try:
                    status = client.get(base + "/sparql", params={"query": HEAVY}).status_code
                except httpx.HTTPError:
                    status = 0
                abusive[status] = abusive.get(status, 0) + 1
                if status == 429:
                    stop.wait(0.05)

    latencies: list[float] = []
    ok = [0, 0]

    def use(address: str) -> None:
        with client_from(address) as client:
            deadline = time.monotonic() + seconds
            for _ in range(1000):
                if time.monotonic() > deadline:
                    return
                started = time.perf_counter()
                try:
                    success = client.get(base + "/sparql", params={"query": LIGHT}).status_code == 200
                except httpx.HTTPError:
                    success = False
                latencies.append(time.perf_counter() - started)
                ok[0] += success
                ok[1] += 1
                time.sleep(0.1)

    abusers = [threading.Thread(target=abuse) for _ in range(2)]
    users = [threading.Thread(target=use, args=(f"127.0.0.{40 + n}",)) for n in range(10)]
    for thread in abusers:
        thread.start()
    time.sleep(0.5)
    for thread in users:
        thread.start()
    for thread in users:
        thread.join()
    stop.set()
    for thread in abusers:
        thread.join()
    values = sorted(latencies) or [0.0]
    return (
        f"abuser (2 heavy queries at a time): {abusive}; 10 ordinary clients: {ok[0]}/{ok[1]} answered, "
        f"p50 {statistics.median(values) * 1000:.1f} ms, p99 {values[int(len(values) * 0.99) - 1] * 1000:.1f} ms"
    )


SEARCH_WORDS = [a + b for a in "abcdefghijklmnopqrstuvwxyz" for b in "aeiou"]


def _search(client: httpx.Client, base: str, n: int) -> int:
    word = SEARCH_WORDS[n % len(SEARCH_WORDS)]
    other = SEARCH_WORDS[(n * 7) % len(SEARCH_WORDS)]
    path, params = ("/search", {"q": word}) if n % 2 else ("/api/materials", {"q": f"{word} {other}"})
    try:
        return client.get(base + path, params=params).status_code
    except httpx.HTTPError:
        return 0


def attack_search_crowd(base: str, seconds: float) -> str:
    """60 clients, each from its own address, send distinct searches (CPU work in the API process) at once."""
    statuses: dict[int, int] = {}

    def crowd(k: int) -> None:
        with client_from(f"127.0.1.{k + 1}") as client:
            for n in range(4):
                status = _search(client, base, k * 4 + n)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=crowd, args=(k,)) for k in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return f"60 clients x 4 distinct searches: {statuses}"


def attack_search_one(base: str, seconds: float) -> str:
    """One client sends distinct searches from 8 connections for the whole time."""
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + seconds

    def hammer(k: int) -> None:
        with client_from("127.0.0.60") as client:
            for n in range(2000):
                if time.monotonic() > deadline:
                    return
                status = _search(client, base, k * 2000 + n)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return f"one client, 8 connections of distinct searches: {statuses}"


def attack_reload(base: str, seconds: float, build_dir: Path) -> str:
    stop = threading.Event()
    records: list[tuple[bool, float]] = []

    def poll() -> None:
        with httpx.Client(timeout=30) as client:
            for _ in range(100_000):
                if stop.is_set():
                    return
                started = time.perf_counter()
                try:
                    success = client.get(base + "/sparql", params={"query": LIGHT}).status_code == 200
                except httpx.HTTPError:
                    success = False
                records.append((success, time.perf_counter() - started))

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    source = current_build(Settings(build_dir=build_dir))
    switched = time.perf_counter()
    with new_release(build_dir, "reloaded") as directory:  # the same data under a new version
        for path in source.iterdir():
            if path.is_dir():  # the on-disk store, the answers the build kept
                shutil.copytree(path, directory / path.name)
            elif path.name != "summary.json":
                shutil.copy2(path, directory / path.name)
        summary = json.loads((source / "summary.json").read_text())
        summary.update(version="reloaded", files=file_manifest(directory))
        (directory / "summary.json").write_text(json.dumps(summary))
    while (
        httpx.get(base + "/health", timeout=10).json()["version"] != "reloaded" and time.perf_counter() - switched < 60
    ):
        time.sleep(0.05)
    live = time.perf_counter() - switched
    time.sleep(1)
    stop.set()
    for thread in threads:
        thread.join()
    failed = sum(not success for success, _ in records)
    return (
        f"reload under 4 polling clients: live after {live:.2f} s, {failed} failed of {len(records)}, "
        f"longest request {max(seconds for _, seconds in records) * 1000:.0f} ms"
    )


ATTACKS: dict[str, Callable[[str, float], str]] = {
    "lexer": attack_lexer,
    "big-query": attack_big_query,
    "guard-cache": attack_guard_cache,
    "non-readers": attack_non_readers,
    "abuse": attack_abuse,
    "search-crowd": attack_search_crowd,
    "search-one": attack_search_one,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the timed attacks")
    parser.add_argument("--only", default="", help="comma-separated attacks: " + ",".join([*ATTACKS, "reload"]))
    options = parser.parse_args()
    chosen = [name for name in options.only.split(",") if name] or [*ATTACKS, "reload"]
    with tempfile.TemporaryDirectory() as scratch:
        build_dir = Path(scratch) / "build"
        build(Settings(build_dir=build_dir))
        settings = {"client_exempt": "127.0.0.1", "query_workers": "2", "reload_interval": "0.5"}
        with serving(build_dir, **settings) as (base, pid):
            print(f"server idle: {rss_bytes(pid) / 2**20:.0f} MiB with its workers")
            for name in chosen:
                with Watch(base, pid) as watch:
                    if name == "reload":
                        outcome = attack_reload(base, options.seconds, build_dir)
                    else:
                        outcome = ATTACKS[name](base, options.seconds)
                print(f"{name:12} {watch.line()}\n{'':12} {outcome}")


if __name__ == "__main__":
    main()
