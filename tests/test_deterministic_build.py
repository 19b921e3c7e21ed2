"""The same sources give the same release, byte for byte, and the same version (issue #11).

The portfolio is built twice, in two processes with different PYTHONHASHSEED values (so Python's
set and dict-of-str iteration orders differ), into two build directories at two different times.
Only the build's clock may differ: the release directory's name and summary.json's timestamp and
stage timings. Everything else, every dump, the VoID description, the data-quality reports and the
version, must be identical, else ETags, cached answers and dump URLs change with nothing changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.release.layout import EXPORT_FORMATS, STORE_DIR, SUMMARY_FILE, VOID_FILE, dump_name
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

CLOCK_FIELDS = {"built", "stages"}  # summary.json: when the build ran and how long its stages took


def _build(build_dir: Path, seed: str) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KG_")}
    env.update(KG_BUILD_DIR=str(build_dir), PYTHONHASHSEED=seed)
    return subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "build", "--quiet", "--no-publish"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two builds of the portfolio, run side by side with hash seeds 1 and 2."""
    builds = [(tmp_path_factory.mktemp(f"build-seed-{seed}"), seed) for seed in ("1", "2")]
    processes = [_build(build_dir, seed) for build_dir, seed in builds]
    for process, (_, seed) in zip(processes, builds, strict=True):
        output, _ = process.communicate(timeout=900)
        assert process.returncode == 0, f"the build with PYTHONHASHSEED={seed} failed:\n{output}"
    first, second = ((build_dir / "current").resolve() for build_dir, _ in builds)
    return first, second


def _summary(release: Path) -> dict:
    return dict(json.loads((release / SUMMARY_FILE).read_text(encoding="utf-8")))


def test_the_version_is_the_same(releases: tuple[Path, Path]) -> None:
    first, second = (_summary(release)["version"] for release in releases)
    assert first == second
    assert all(release.name.endswith("-" + first) for release in releases)


@pytest.mark.parametrize(
    "file_name",
    [
        *(file_name for _, file_name in EXPORT_FORMATS.values()),
        VOID_FILE,
        "report.md",
        "report.html",
        "validation.json",
    ],
)
def test_the_file_is_byte_identical(releases: tuple[Path, Path], file_name: str) -> None:
    first, second = ((release / file_name).read_bytes() for release in releases)
    if first != second:
        lines = [set(content.decode("utf-8").splitlines()) for content in (first, second)]
        only_first, only_second = sorted(lines[0] - lines[1]), sorted(lines[1] - lines[0])
        pytest.fail(
            f"{file_name} differs between the builds: {len(only_first)} line(s) only in the first "
            f"(e.g. {only_first[:3]}), {len(only_second)} only in the second (e.g. {only_second[:3]})"
            + ("; the same lines in another order" if not only_first and not only_second else "")
        )


def test_every_file_but_the_summary_is_identical(releases: tuple[Path, Path]) -> None:
    """Also the files not named above (the ontology page, …): the manifests agree file by file."""
    first, second = (_summary(release)["files"] for release in releases)
    assert sorted(first) == sorted(second)
    assert {name for name, entry in first.items() if entry != second[name]} == set()


def test_the_kept_answers_are_identical(releases: tuple[Path, Path]) -> None:
    first, second = (_summary(release)["answer_files"] for release in releases)
    assert len(first) > 20 and sorted(first) == sorted(second)
    assert {name for name, entry in first.items() if entry != second[name]} == set()


def test_only_the_clock_and_the_store_files_differ_in_the_summary(releases: tuple[Path, Path]) -> None:
    """The on-disk store (RocksDB's files, with ids of their own) is an index of the dataset, not a
    publication: its files may differ between builds; what it holds may not."""
    varying = {*CLOCK_FIELDS, "store_files"}
    first, second = ({k: v for k, v in _summary(release).items() if k not in varying} for release in releases)
    assert first == second
    assert all(_summary(release)["store_files"] for release in releases)


def test_the_on_disk_stores_hold_the_same_quads_as_the_dataset(releases: tuple[Path, Path]) -> None:
    """The same quads up to blank-node labels (the store labels them its own way): compared canonically."""

    def canonical(quads: object) -> set[str]:
        dataset = ox.Dataset(quads)
        dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        return {str(quad) for quad in dataset}

    stores = [canonical(ox.Store.read_only(str(release / STORE_DIR))) for release in releases]
    dataset = canonical(ox.parse(path=str(releases[0] / "dataset.nq"), format=ox.RdfFormat.N_QUADS))
    assert stores[0] == stores[1] == dataset
    assert len(dataset) > 10_000


def test_the_dumps_have_the_same_names(releases: tuple[Path, Path]) -> None:
    """The VoID description names the same dump URLs, so a link to a dump outlives a rebuild."""
    version = _summary(releases[0])["version"]
    expected = {dump_name(file_name, version) for _, file_name in EXPORT_FORMATS.values()}
    for release in releases:
        void = (release / VOID_FILE).read_text(encoding="utf-8")
        assert all(f"dumps/{name}" in void for name in expected), f"{release}: {sorted(expected)}"
