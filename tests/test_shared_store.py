"""Query workers sharing the release's read-only on-disk store (KG_WORKER_STORE=disk).

The same answers as workers holding their own copies; a worker stopped at its time budget is replaced
and reopens the store; serving never changes the release (its manifest still verifies); a damaged
store file is refused at start-up with the file named; `auto` picks by the dataset's size.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kg.errors import BuildOutputError
from kg.release.layout import STORE_DIR, Release
from tests.conftest import ROOT, Built
from tests.server import running_server

ROUTES = [
    "/api/materials/greek-moc",
    "/api/countries/FI",
    "/api/categories",
    "/api/hashtags",
    "/api/materials?page=1",
    "/api/queries/materials_reused_across_categories",
    "/api/queries/materials_in_subcategory?subcategory=1.2",
]
BLANK = re.compile(r"_:[A-Za-z0-9]+|\b[0-9a-f]{32}\b")  # blank-node labels are each store's own


@pytest.fixture(scope="module")
def servers(built: Built) -> Iterator[dict[str, str]]:
    build_dir = built.settings.build_dir
    with (
        running_server(build_dir, worker_store="disk", query_timeout="3") as disk,
        running_server(build_dir, worker_store="memory", query_timeout="3") as memory,
    ):
        yield {"disk": disk, "memory": memory}


def test_workers_open_the_shared_store_or_their_own_copy_as_set(servers: dict[str, str]) -> None:
    disk = httpx.get(servers["disk"] + "/health", timeout=30).json()
    memory = httpx.get(servers["memory"] + "/health", timeout=30).json()
    assert disk["workers_share_store"] is True and memory["workers_share_store"] is False
    assert disk["triples"] == memory["triples"] and disk["version"] == memory["version"]


@pytest.mark.parametrize("route", ROUTES)
def test_the_shared_store_gives_the_same_answers(servers: dict[str, str], route: str) -> None:
    answers = {}
    for name, base in servers.items():
        response = httpx.get(base + route, headers={"Accept": "application/json"}, timeout=60)
        assert response.status_code == 200, (name, response.text)
        answers[name] = BLANK.sub("_:b", response.text)
    assert answers["disk"] == answers["memory"]
    assert len(answers["disk"]) > 100


def test_every_triple_is_reachable_through_sparql(servers: dict[str, str], built: Built) -> None:
    query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    response = httpx.get(
        servers["disk"] + "/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"}
    )
    counts = {row["g"]["value"]: int(row["n"]["value"]) for row in response.json()["results"]["bindings"]}
    assert counts == built.result.graphs


def test_a_worker_stopped_at_its_budget_is_replaced_and_reopens_the_store(servers: dict[str, str]) -> None:
    base = servers["disk"]
    before = httpx.get(base + "/health", timeout=30).json()["worker_restarts"]
    heavy = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    assert httpx.get(base + "/sparql", params={"query": heavy}, timeout=60).status_code == 503
    answered = httpx.get(base + "/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=60)
    assert answered.status_code == 200 and answered.json()["boolean"] is True
    health = httpx.get(base + "/health", timeout=30).json()
    assert health["worker_restarts"] > before and health["workers_share_store"] is True


def test_serving_from_the_store_leaves_the_release_as_built(servers: dict[str, str], built: Built) -> None:
    """RocksDB opened read-only writes nothing: every file, the store's too, still matches the manifest."""
    for route in ROUTES:
        httpx.get(servers["disk"] + route, timeout=60)
    release = Release.open(built.settings.build_dir / "current")
    assert release.store is not None and len(release.summary["store_files"]) > 3
    release.verify()
    listed = {name.split("/", 1)[1] for name in release.summary["store_files"]}
    assert {path.name for path in (release.directory / STORE_DIR).iterdir()} == listed


def test_a_damaged_store_file_is_refused_at_start_naming_it(built: Built, tmp_path: Path) -> None:
    release = Release.open(built.settings.build_dir / "current")
    copy = tmp_path / "build" / "releases" / release.directory.name
    shutil.copytree(release.directory, copy)
    (tmp_path / "build" / "current").symlink_to(copy, target_is_directory=True)
    largest = max((copy / STORE_DIR).iterdir(), key=lambda path: path.stat().st_size)
    data = bytearray(largest.read_bytes())
    data[len(data) // 2] ^= 0xFF
    largest.write_bytes(bytes(data))
    result = subprocess.run(
        [sys.executable, "-m", "kg.cli", "serve", "--port", "0"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "KG_BUILD_DIR": str(tmp_path / "build"), "KG_WORKER_STORE": "disk"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    message = " ".join(result.stderr.split())
    assert result.returncode == 5, (result.stdout, result.stderr)
    assert largest.name in message and "corrupt" in message, message


@pytest.mark.parametrize(("threshold", "shared"), [("1", True), ("100000000", False)])
def test_auto_shares_the_store_from_a_dataset_size(built: Built, threshold: str, shared: bool) -> None:
    with running_server(built.settings.build_dir, worker_store="auto", shared_store_quads=threshold) as base:
        assert httpx.get(base + "/health", timeout=30).json()["workers_share_store"] is shared


def _largest_store_file(release: Path) -> str:
    return f"{STORE_DIR}/{max((release / STORE_DIR).iterdir(), key=lambda path: path.stat().st_size).name}"


@pytest.mark.parametrize("damaged", ["store", "catalogue.sqlite", "answers/hashtags.json"])
def test_a_damaged_new_release_is_refused_while_its_workers_start(built: Built, tmp_path: Path, damaged: str) -> None:
    """A reload verifies the files, starts the workers and builds the catalogue side by side: whichever of them
    meets the damage, the file is named, the release is refused and the one before keeps serving."""
    release = Release.open(built.settings.build_dir / "current")
    build_dir = tmp_path / "build"
    first = build_dir / "releases" / "20000101T000000000000-first"
    shutil.copytree(release.directory, first)
    (build_dir / "current").symlink_to(first, target_is_directory=True)
    with running_server(build_dir, worker_store="disk", reload_interval="0.3", query_workers="2") as base:
        version = httpx.get(base + "/health", timeout=10).json()["version"]
        second = build_dir / "releases" / "20000102T000000000000-second"
        shutil.copytree(first, second)
        name = _largest_store_file(second) if damaged == "store" else damaged
        data = bytearray((second / name).read_bytes())
        data[len(data) // 2] ^= 0x20  # same size: only the checksum can tell
        (second / name).write_bytes(bytes(data))
        link = build_dir / ".current-second"
        link.symlink_to(second, target_is_directory=True)
        link.replace(build_dir / "current")
        deadline = time.monotonic() + 60
        while not (health := httpx.get(base + "/health", timeout=10).json()).get("reload_error"):
            assert time.monotonic() < deadline, "the damaged release was neither refused nor served"
            time.sleep(0.2)
        assert name in health["reload_error"] and "SHA-256" in health["reload_error"], health["reload_error"]
        assert health["version"] == version
        assert httpx.get(base + "/ready", timeout=10).status_code == 200
        answer = httpx.get(base + "/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=30)
        assert answer.status_code == 200 and answer.json()["boolean"] is True
        assert httpx.get(base + "/api/hashtags", timeout=30).status_code == 200


def test_with_several_files_damaged_verification_names_the_first_by_name(built: Built, tmp_path: Path) -> None:
    """The files are hashed side by side, largest first; whichever finishes first, the report names the same file:
    the first damaged one in name order."""
    release = Release.open(built.settings.build_dir / "current")
    copy = tmp_path / release.directory.name
    shutil.copytree(release.directory, copy)
    damaged = sorted((copy / STORE_DIR).iterdir(), key=lambda path: path.stat().st_size)[-2:] + [copy / "void.ttl"]
    for path in damaged:
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    first = min(str(path.relative_to(copy)) for path in damaged)
    with pytest.raises(BuildOutputError, match="SHA-256 differs") as refused:
        Release.open(copy).verify()
    assert refused.value.file == str(copy / first)
    Release.open(copy).verify(only=[n for n in release.summary["files"] if n != "void.ttl"])  # the rest hold
