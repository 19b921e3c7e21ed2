"""New builds go live without a restart, and a running server never loses what it serves.

A real server on 127.0.0.1 watches build/current (or is sent SIGHUP): a new release is verified against
its manifest and swapped in with clients polling throughout; a corrupt one is refused and the previous one
keeps serving; pruning never removes a release a live server holds; staging left by dead builds is removed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kg.release import leases
from kg.release.layout import file_manifest
from kg.release.write import KEEP_RELEASES, new_release
from tests.conftest import ASSERTED, Built
from tests.server import running_server

POLL_FOR = 30.0  # seconds at most that a test waits for a switch


def tiny_release(build_dir: Path, version: str, *, corrupt: bool = False) -> Path:
    """A small release written the way the build writes one (manifest last), `current` switched to it."""
    quads = f'<https://example.org/{version}> <https://example.org/p> "{version}" <{ASSERTED}> .\n'
    with new_release(build_dir, version) as directory:
        (directory / "dataset.nq").write_text(quads, encoding="utf-8")
        summary = {"version": version, "graphs": {ASSERTED: 1}, "files": file_manifest(directory)}
        (directory / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
        if corrupt:  # damaged after the build wrote its manifest: a disk fault, a bad copy
            (directory / "dataset.nq").write_text(quads[: len(quads) // 2], encoding="utf-8")
    return (build_dir / "current").resolve()


@pytest.fixture
def build_dir(built: Built, tmp_path: Path) -> Path:
    """A build directory whose current release is a copy of the session's real build."""
    directory = tmp_path / "build"
    shutil.copytree(built.result.directory, directory / "releases" / "20000101T000000000000-first")
    (directory / "current").symlink_to(Path("releases") / "20000101T000000000000-first", target_is_directory=True)
    return directory


def _version(base: str) -> str:
    return str(httpx.get(base + "/health", timeout=5).json()["version"])


def _wait_for_version(base: str, version: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < POLL_FOR:
        if _version(base) == version:
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"the server did not switch to {version} within {POLL_FOR} s")


class Pollers:
    """Clients polling a page and a query while the release switches; every answer recorded."""

    def __init__(self, base: str, clients: int = 4) -> None:
        self.base, self.stop = base, threading.Event()
        self.by_client: list[list[tuple[int, int, str, float]]] = [[] for _ in range(clients)]
        self.threads = [threading.Thread(target=self._poll, args=(seen,), daemon=True) for seen in self.by_client]

    @property
    def seen(self) -> list[tuple[int, int, str, float]]:
        return [record for seen in self.by_client for record in seen]

    def _poll(self, seen: list[tuple[int, int, str, float]]) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as client:
            for _ in range(5000):  # bounded: a few seconds of polling in practice
                if self.stop.is_set():
                    return
                started = time.monotonic()
                try:
                    health = client.get("/health")
                    answer = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
                    record = (health.status_code, answer.status_code, health.json().get("version"))
                except httpx.HTTPError as exc:
                    record = (0, 0, type(exc).__name__)
                seen.append((*record, time.monotonic() - started))

    def __enter__(self) -> Pollers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


@pytest.fixture
def watching(build_dir: Path, tmp_path: Path) -> Iterator[str]:
    with running_server(build_dir, log_file=tmp_path / "server.log", reload_interval="0.3", query_workers="1") as base:
        yield base


def test_a_new_build_goes_live_by_itself_without_a_failed_request(watching: str, build_dir: Path) -> None:
    first = _version(watching)
    with Pollers(watching) as pollers:
        time.sleep(1.0)
        tiny_release(build_dir, "second")
        _wait_for_version(watching, "second")
        time.sleep(1.0)
    statuses = {(health, answer) for health, answer, _, _ in pollers.seen}
    assert pollers.seen and statuses == {(200, 200)}, statuses
    for seen in pollers.by_client:  # each client sees the old release, then the new one, never back
        versions = [version for _, _, version, _ in seen]
        switched = versions.index("second")
        assert set(versions[:switched]) == {first} and set(versions[switched:]) == {"second"}
    longest = max(seconds for *_, seconds in pollers.seen)
    assert longest < 5.0, f"a request waited {longest:.1f} s during the switch"


def test_a_corrupt_build_is_refused_and_the_previous_one_keeps_serving(
    watching: str, build_dir: Path, tmp_path: Path
) -> None:
    first = _version(watching)
    broken = tiny_release(build_dir, "broken", corrupt=True)
    deadline = time.monotonic() + POLL_FOR
    log = tmp_path / "server.log"
    while "corrupt" not in log.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.2)
    text = log.read_text(errors="replace")
    assert str(broken / "dataset.nq") in text and "corrupt" in text
    assert _version(watching) == first
    assert httpx.get(watching + "/ready", timeout=5).status_code == 200
    assert httpx.get(watching + "/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=10).json()["boolean"]
    tiny_release(build_dir, "mended")  # the next good build goes live as usual
    _wait_for_version(watching, "mended")


def test_sighup_switches_at_once_when_watching_is_off(build_dir: Path, tmp_path: Path) -> None:
    with running_server(build_dir, log_file=tmp_path / "server.log", reload_interval="0", query_workers="1") as base:
        first = _version(base)
        tiny_release(build_dir, "signalled")
        time.sleep(1.0)
        assert _version(base) == first  # not watching: nothing happens by itself
        [pid] = leases.holders(build_dir)
        os.kill(pid, signal.SIGHUP)
        _wait_for_version(base, "signalled")


def test_pruning_never_removes_a_release_a_server_holds(build_dir: Path, tmp_path: Path) -> None:
    served = (build_dir / "current").resolve()
    with running_server(build_dir, log_file=tmp_path / "server.log", reload_interval="0", query_workers="1") as base:
        assert list(leases.holders(build_dir).values()) == [served]
        for number in range(KEEP_RELEASES + 2):
            tiny_release(build_dir, f"later-{number}")
        assert served.is_dir(), "a release a running server holds was pruned"
        assert httpx.get(base + "/ontology", headers={"Accept": "text/html"}, timeout=10).status_code == 200
        assert httpx.get(base + "/.well-known/void", timeout=10).status_code == 200
    assert leases.holders(build_dir) == {}  # the server let go when it stopped
    tiny_release(build_dir, "after")
    assert not served.exists()
    kept = [p for p in (build_dir / "releases").iterdir() if not p.name.startswith(".")]
    assert len(kept) == KEEP_RELEASES


def _open_catalogues(pid: int) -> list[str]:
    """The catalogue files a process holds open (a pruned release's would read '… (deleted)')."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if "catalogue.sqlite" in target:
            found.append(target)
    return found


def test_a_replaced_release_lets_go_of_its_catalogue_file(build_dir: Path, tmp_path: Path) -> None:
    """The catalogue is an SQLite file the server searches on disk: once the requests that began on the old
    release have had their time budget, its file is closed (else every reload would keep a descriptor, and a
    pruned release's disk space, for as long as the process lives)."""
    first = (build_dir / "current").resolve()
    second = build_dir / "releases" / "20000102T000000000000-second"
    shutil.copytree(first, second)
    summary = json.loads((second / "summary.json").read_text(encoding="utf-8"))
    (second / "summary.json").write_text(json.dumps({**summary, "version": "second"}), encoding="utf-8")
    with running_server(
        build_dir, log_file=tmp_path / "server.log", reload_interval="0.3", query_workers="1", query_timeout="2"
    ) as base:
        [pid] = leases.holders(build_dir)
        # "climat" is no word of the index: it is stemmed in the connection's temporary tables
        assert httpx.get(base + "/api/materials", params={"q": "climat"}, timeout=10).json()["items"]
        assert _open_catalogues(pid) == [str(first / "catalogue.sqlite")]
        link = build_dir / ".current-second"
        link.symlink_to(second, target_is_directory=True)
        link.replace(build_dir / "current")
        _wait_for_version(base, "second")
        assert httpx.get(base + "/api/materials", params={"q": "climat"}, timeout=10).json()["items"]
        deadline = time.monotonic() + POLL_FOR
        while len(_open_catalogues(pid)) > 1 and time.monotonic() < deadline:  # the old one goes after 2 + 1 s
            time.sleep(0.2)
        assert _open_catalogues(pid) == [str(second / "catalogue.sqlite")]
        assert httpx.get(base + "/api/materials", params={"q": "climate"}, timeout=10).json()["items"]


def test_a_dead_builds_staging_is_removed_by_the_next_build(build_dir: Path) -> None:
    dead = build_dir / "releases" / ".staging-20000101T000000000000-999999999"
    dead.mkdir()
    (dead / "dataset.nq").write_text("half", encoding="utf-8")
    old_style = build_dir / "releases" / ".staging-20000101T000000000001"
    old_style.mkdir()
    stale_link = build_dir / ".current-20000101T000000000000-999999999"
    stale_link.symlink_to("releases", target_is_directory=True)
    tiny_release(build_dir, "cleaner")
    assert not dead.exists() and not old_style.exists() and not stale_link.is_symlink()
