"""The project installs as a package: a wheel built from this checkout, installed into a fresh environment,
builds the graph and serves it, the SPARQL editor's bundled scripts included."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.server import free_port

UV = Path(sys.executable).parent / "uv"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the files git would commit (not setuptools' build/ cache in the checkout)."""
    source = tmp_path_factory.mktemp("source")
    listed = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [str(UV), "build", "--wheel", "--out-dir", str(out), str(source)], check=True, capture_output=True, timeout=300
    )
    [built] = out.glob("capacities_kg-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the locked dependencies and the wheel, and nothing of the checkout."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run(
        [str(UV), "venv", "--python", sys.executable, str(venv)], check=True, capture_output=True, timeout=120
    )
    subprocess.run(
        [
            str(UV),
            "pip",
            "install",
            "--python",
            str(venv / "bin" / "python"),
            "--require-hashes",
            "-r",
            str(ROOT / "requirements.lock"),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    subprocess.run(
        [str(UV), "pip", "install", "--python", str(venv / "bin" / "python"), "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return venv


def test_the_wheel_ships_queries_templates_and_static_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    queries = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "kg" / "sparql" / "queries").rglob("*.rq"))
    static = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "api" / "views").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".py"
    )
    assert queries and static
    assert [q for q in queries if q not in names] == []
    assert [s for s in static if s not in names] == []
    assert "api/views/static/yasgui/yasgui.min.js" in names
    assert not any(name.startswith(("tests/", "data/", "bench/")) for name in names)


@pytest.fixture(scope="module")
def workdir(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only the data (sources, curation, ontology, shapes), built there by the installed capkg."""
    work = tmp_path_factory.mktemp("work")
    for folder in ("data", "ontology", "shapes"):
        shutil.copytree(ROOT / folder, work / folder)
    result = subprocess.run(
        [str(installed / "bin" / "capkg"), "build"], cwd=work, capture_output=True, text=True, timeout=600, env=_env()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return work


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KG_", "VIRTUAL_ENV", "PYTHON"))}
    return {**env, **extra}


@pytest.fixture(scope="module")
def served(installed: Path, workdir: Path) -> Iterator[str]:
    port = free_port()
    log = (workdir / "serve.log").open("w")
    process = subprocess.Popen(
        [str(installed / "bin" / "capkg"), "serve", "--port", str(port)],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=_env(KG_QUERY_WORKERS="1"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (workdir / "serve.log").read_text()
            time.sleep(0.3)
        else:
            pytest.fail("the installed server did not become ready:\n" + (workdir / "serve.log").read_text())
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_the_installed_package_runs_from_site_packages(installed: Path, workdir: Path) -> None:
    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import kg, api; print(kg.__file__, api.__file__)"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
    ).stdout
    assert str(installed) in where and str(ROOT) not in where
    assert (workdir / "build" / "current" / "dataset.nq").stat().st_size > 0


def test_the_installed_server_answers_sparql_pages_and_the_editor(served: str) -> None:
    editor = httpx.get(served + "/editor", timeout=30)
    assert editor.status_code == 200
    scripts = [part.split('"', 1)[0] for part in editor.text.split('src="')[1:]]
    assert any("yasgui" in src for src in scripts)
    for src in scripts:
        assert httpx.get(served + src, timeout=30).status_code == 200, src
    answer = httpx.get(served + "/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=30)
    assert answer.status_code == 200 and answer.json()["boolean"] is True
    materials = httpx.get(served + "/api/queries/materials_in_subcategory", params={"subcategory": "1.2"}, timeout=30)
    assert materials.status_code == 200 and materials.json()
    assert httpx.get(served + "/", timeout=30).status_code == 200
    for path in ("/id/material/greek-moc", "/id/challenge/01", "/id/org/vinnova", "/countries", "/search?q=fundng"):
        assert httpx.get(served + path, timeout=30).status_code == 200, path  # every page's template shipped
