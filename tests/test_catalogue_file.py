"""The search catalogue kept in the release (catalogue.sqlite, written by the build) is the one the server
would build from its queries: the same listings, filters and search answers either way. The server opens
the file read-only and searches it on disk."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from kg.pipeline import catalogue_rows
from kg.release.layout import CATALOGUE_FILE, DATASET_FILE, SUMMARY_FILE, Release
from kg.search.catalogue import Catalogue, Filters, open_catalogue, ordered, write_catalogue
from kg.sparql.registry import QueryRegistry
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


@pytest.fixture(scope="module")
def rows(built: Built) -> dict[str, list[dict]]:
    """What the catalogue's queries answer on the release's dataset."""
    store = ox.Store()
    store.bulk_load(path=str(built.settings.build_dir / "current" / DATASET_FILE), format=ox.RdfFormat.N_QUADS)
    return catalogue_rows(store, QueryRegistry.load())


def test_the_build_keeps_the_catalogue_in_the_release(built: Built) -> None:
    release = Release.open(built.settings.build_dir / "current").verify()
    assert CATALOGUE_FILE in release.summary["files"]
    db = sqlite3.connect(f"{(release.directory / CATALOGUE_FILE).as_uri()}?mode=ro", uri=True)
    counts = {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("materials", "docs")}
    assert counts["materials"] == counts["docs"] > 40  # one document per material
    assert db.execute("SELECT count(*) FROM countries").fetchone()[0] > 10
    assert db.execute("SELECT count FROM words WHERE surface = 'funding'").fetchone()[0] > 0
    titles = dict(db.execute("SELECT iri, title FROM materials"))
    # the portfolio's line 466: "Memorandum of Cooperation (MoC)	Greece	2022	Press Release on Teleconference"
    assert titles["https://w3id.org/capacities/lp/id/material/greek-moc"] == "Memorandum of Cooperation (MoC)"


def test_the_file_opened_answers_as_the_rows_indexed_in_memory(built: Built, rows: dict[str, list[dict]]) -> None:
    kept = open_catalogue(built.settings.build_dir / "current" / CATALOGUE_FILE)
    queried = ordered(rows)  # as a server orders the rows it queried
    indexed = Catalogue.from_rows(queried["materials"], queried["countries"], queried["hashtags"])
    assert list(kept.materials) == list(indexed.materials)
    assert kept.country_names == indexed.country_names
    for q in ("climate", "fundng", "bauh", "Helsinki", "webinars"):
        found = [catalogue.query(Filters(q=q)) for catalogue in (kept, indexed)]
        assert [e.iri for e in found[0].entries] == [e.iri for e in found[1].entries], q
        assert found[0].scores == found[1].scores and found[0].did_you_mean == found[1].did_you_mean, q
        page = [
            catalogue.sort(f.entries, "relevance", f.scores)[:20]
            for catalogue, f in zip((kept, indexed), found, strict=True)
        ]
        assert kept.snippets(found[0].words, page[0]) == indexed.snippets(found[1].words, page[1]), q
    assert kept.query(Filters(q="fundng")).did_you_mean == "funding"
    assert any("<mark>" in passage for passage in kept.snippets(["climate"], list(kept.materials.values())).values())


def test_the_same_rows_in_any_order_give_the_same_file(rows: dict[str, list[dict]], tmp_path: Path) -> None:
    shuffled = {name: random.Random(7).sample(found, len(found)) for name, found in rows.items()}
    write_catalogue(tmp_path / "first.sqlite", rows)
    write_catalogue(tmp_path / "second.sqlite", shuffled)
    assert (tmp_path / "first.sqlite").read_bytes() == (tmp_path / "second.sqlite").read_bytes()


def test_the_server_cannot_write_to_the_kept_file(built: Built) -> None:
    temporary_before = _temporary_files()  # other tests' SQLite connections in this process may hold some
    kept = open_catalogue(built.settings.build_dir / "current" / CATALOGUE_FILE)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        kept.text.db.execute("DELETE FROM materials")
    # a query word the index's vocabulary lacks is stemmed in a temporary table, beside the read-only file
    entries = kept.query(Filters(q="climat")).entries
    assert entries and len(kept.snippets(["climat"], entries)) == len(entries)
    # in memory: no temporary file (SQLite's default), so no writable directory is needed
    assert _temporary_files() - temporary_before == set()
    assert kept.text.search("zzyzx quux").scores == {}
    kept.close()
    with pytest.raises(sqlite3.ProgrammingError):
        kept.text.db.execute("SELECT 1")


@pytest.mark.parametrize("route", ROUTES)
def test_kept_and_queried_catalogues_answer_alike(servers: dict[str, str], route: str) -> None:
    answers = [httpx.get(base + route, headers={"Accept": "application/json"}, timeout=60) for base in servers.values()]
    assert [answer.status_code for answer in answers] == [200, 200], [answer.text[:200] for answer in answers]
    assert answers[0].json() == answers[1].json()
    assert len(answers[0].content) > 200


def _temporary_files() -> set[str]:
    """SQLite's temporary files this process holds open (named etilqs_…, deleted as soon as opened)."""
    return {target for target in map(_target, Path("/proc/self/fd").iterdir()) if "etilqs" in target}


def _target(fd: Path) -> str:
    try:
        return os.readlink(fd)
    except OSError:  # the descriptor listing itself, closed by now
        return ""
