"""The search catalogue kept in the release (catalogue.json, written by the build) is the one the server
would build from its queries: the same listings, filters and search answers either way."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import httpx
import pytest

from kg.release.layout import CATALOGUE_FILE, SUMMARY_FILE, Release
from tests.conftest import Built
from tests.server import running_server

ROUTES = [
    "/api/materials?page=1",
    "/api/materials?page=2",
    "/api/materials?q=energy",
    "/api/materials?q=climate",
    "/api/materials?country=AT",
    "/api/materials?sort=-year",
    "/api/hashtags",
    "/api/countries/FI",
]


@pytest.fixture(scope="module")
def servers(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One server on the build as it is, one on a copy without the kept rows (its manifest says so)."""
    release = Release.open(built.settings.build_dir / "current")
    scratch = tmp_path_factory.mktemp("no-catalogue") / "build"
    copy = scratch / "releases" / release.directory.name
    shutil.copytree(release.directory, copy)
    (copy / CATALOGUE_FILE).unlink()
    summary = json.loads((copy / SUMMARY_FILE).read_text(encoding="utf-8"))
    del summary["files"][CATALOGUE_FILE]
    (copy / SUMMARY_FILE).write_text(json.dumps(summary), encoding="utf-8")
    (scratch / "current").symlink_to(copy, target_is_directory=True)
    with running_server(built.settings.build_dir) as kept, running_server(scratch) as queried:
        yield {"kept": kept, "queried": queried}


def test_the_build_keeps_the_catalogue_rows_in_the_release(built: Built) -> None:
    release = Release.open(built.settings.build_dir / "current").verify()
    rows = json.loads((release.directory / CATALOGUE_FILE).read_text(encoding="utf-8"))
    assert set(rows) == {"materials", "countries", "hashtags", "index"}
    assert all(rows[name] for name in rows)
    assert CATALOGUE_FILE in release.summary["files"]


@pytest.mark.parametrize("route", ROUTES)
def test_kept_and_queried_catalogues_answer_alike(servers: dict[str, str], route: str) -> None:
    answers = [httpx.get(base + route, headers={"Accept": "application/json"}, timeout=60) for base in servers.values()]
    assert [answer.status_code for answer in answers] == [200, 200], [answer.text[:200] for answer in answers]
    assert answers[0].json() == answers[1].json()
    assert len(answers[0].content) > 200
