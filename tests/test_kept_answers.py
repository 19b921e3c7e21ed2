"""Named-query answers kept in the release (answers/, written by the build) are the engine's answers:
a server with them and one without answer every REST route alike, and a kept answer is used only for
the very query text and values it was computed for."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.plumbing.runtime import Runtime
from kg.engines.protocol import QueryJob, QueryOutcome
from kg.errors import QueryDefinitionError
from kg.namespaces import ProjectNamespaces
from kg.release.layout import ANSWERS_DIR, SUMMARY_FILE, Release
from kg.search.answers import KeptAnswers, answer_path, write_answer
from kg.sparql.registry import QUERY_DIR, QueryRegistry
from tests.conftest import ROOT, Built
from tests.server import running_server

REGISTRY = QueryRegistry.load()
JSON = {"Accept": "application/json"}
MATERIAL = "https://w3id.org/capacities/lp/id/material/greek-moc"
WITHOUT_PARAMETERS = sorted(name for name, query in REGISTRY.named.items() if not query.parameters)


def _routes(built: Built) -> list[str]:
    organisation = sorted(built.column("SELECT ?o { ?o a org:Organization }", "o"))[0].rsplit("/", 1)[1]
    return [
        *(f"/api/queries/{name}" for name in WITHOUT_PARAMETERS),
        "/api/categories",
        "/api/hashtags",
        "/api/countries",
        "/api/cities",
        "/api/personas",
        "/api/organisations",
        f"/api/organisations/{organisation}",
        "/api/countries/FI",
        "/api/countries/EU",
        "/api/countries/at",
        "/api/queries/materials_in_country?country=AT",
        "/api/queries/platform_profile?country=FI",
        "/api/queries/platform_profile?country=XX",  # no country XX: not kept, asked of the engine
        "/api/queries/materials_in_subcategory?subcategory=1.2",
        "/api/queries/materials_in_subcategory?subcategory=6.9",  # no subcategory 6.9: asked of the engine
        f"/api/queries/material_cards?material={MATERIAL}",  # no values_from: asked of the engine
    ]


@pytest.fixture(scope="module")
def servers(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One server on the build as it is, one on a copy without the kept answers (its manifest says so)."""
    release = Release.open(built.settings.build_dir / "current")
    scratch = tmp_path_factory.mktemp("no-answers") / "build"
    copy = scratch / "releases" / release.directory.name
    shutil.copytree(release.directory, copy)
    shutil.rmtree(copy / ANSWERS_DIR)
    summary = json.loads((copy / SUMMARY_FILE).read_text(encoding="utf-8"))
    del summary["answer_files"]
    (copy / SUMMARY_FILE).write_text(json.dumps(summary), encoding="utf-8")
    (scratch / "current").symlink_to(copy, target_is_directory=True)
    with running_server(built.settings.build_dir) as kept, running_server(scratch) as queried:
        yield {"kept": kept, "queried": queried}


def test_the_build_keeps_every_answer_it_can_list(built: Built) -> None:
    release = Release.open(built.settings.build_dir / "current").verify()
    assert release.answers is not None
    listed = set(release.summary["answer_files"])
    assert {f"{ANSWERS_DIR}/{name}.json" for name in WITHOUT_PARAMETERS} <= listed
    codes = built.column(
        "SELECT ?code { ?c skos:notation ?code FILTER(DATATYPE(?code) = "
        "<http://publications.europa.eu/ontology/euvoc#ISO_3166_1_ALPHA_2>) }",
        "code",
    )
    for name in ("materials_in_country", "platform_profile"):
        for code in codes:
            assert f"{ANSWERS_DIR}/{answer_path(name, {'country': json.dumps(code)})}" in listed, (name, code)
    subcategories = built.column("SELECT ?n { ?s a cap:ProblemStatement ; skos:broader ?c ; skos:notation ?n }", "n")
    for notation in subcategories:
        assert (
            f"{ANSWERS_DIR}/{answer_path('materials_in_subcategory', {'subcategory': json.dumps(notation)})}" in listed
        )
    assert len(listed) == len(WITHOUT_PARAMETERS) + 2 * len(codes) + len(subcategories)
    countries = json.loads((release.answers / "countries.json").read_text(encoding="utf-8"))
    assert countries["query"] == "countries" and {row["code"] for row in countries["rows"]} == codes


def test_kept_and_queried_answers_are_alike(built: Built, servers: dict[str, str]) -> None:
    for route in _routes(built):
        answers = [
            httpx.get(base + route, headers={"Accept": "application/json"}, timeout=60) for base in servers.values()
        ]
        assert [answer.status_code for answer in answers] == [200, 200], (route, [a.text[:200] for a in answers])
        assert answers[0].json() == answers[1].json(), route


def test_an_answer_is_kept_for_its_own_text_and_values_only(tmp_path: Path) -> None:
    rows = [{"code": "FI", "materials": 3}]
    write_answer(tmp_path, "countries", "SELECT 1", {}, rows)
    write_answer(tmp_path, "platform_profile", "SELECT 2", {"country": '"FI"'}, rows)
    kept = KeptAnswers(tmp_path)
    assert kept.rows("countries", "SELECT 1", {}) == rows
    assert kept.rows("countries", "SELECT 1 # edited", {}) is None  # another text: the engine answers
    assert kept.rows("platform_profile", "SELECT 2", {"country": '"FI"'}) == rows
    assert kept.rows("platform_profile", "SELECT 2", {"country": '"SE"'}) is None
    assert kept.rows("materials_in_country", "SELECT 3", {}) is None
    assert KeptAnswers(None).rows("countries", "SELECT 1", {}) is None


def test_a_damaged_kept_answer_is_refused_at_start_naming_it(built: Built, tmp_path: Path) -> None:
    release = Release.open(built.settings.build_dir / "current")
    copy = tmp_path / "build" / "releases" / release.directory.name
    shutil.copytree(release.directory, copy)
    (tmp_path / "build" / "current").symlink_to(copy, target_is_directory=True)
    damaged = copy / ANSWERS_DIR / "hashtags.json"
    text = damaged.read_text(encoding="utf-8")
    assert '"in_index":true' in text
    damaged.write_text(text.replace('"in_index":true', '"in_index":null', 1), encoding="utf-8")  # same size
    result = subprocess.run(
        [sys.executable, "-m", "kg.cli", "serve", "--port", "0"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "KG_BUILD_DIR": str(tmp_path / "build")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    message = " ".join(result.stderr.split())
    assert result.returncode == 5, (result.stdout, result.stderr)
    assert "hashtags.json" in message and "SHA-256" in message, message


@pytest.mark.parametrize(
    "source",
    [
        "countries.no_such_field",
        "organisations.roles",  # a list field: its values are arrays, not parameter values
        "materials_in_country.material",  # a query with a parameter of its own
    ],
)
def test_values_from_must_name_a_plain_field_of_a_query_without_parameters(tmp_path: Path, source: str) -> None:
    for path in QUERY_DIR.glob("*.rq"):
        shutil.copy(path, tmp_path / path.name)
    header = (tmp_path / "platform_profile.rq").read_text(encoding="utf-8")
    (tmp_path / "platform_profile.rq").write_text(
        header.replace("values_from: countries.code", f"values_from: {source}"), encoding="utf-8"
    )
    with pytest.raises(QueryDefinitionError, match=re.escape(source)):
        QueryRegistry.load(directory=tmp_path)


class Refusing:
    """A query engine that fails the test when it is asked anything."""

    async def run(self, job: QueryJob, *, timeout: float | None = None) -> QueryOutcome:
        raise AssertionError(f"the engine was asked: {job.text[:80]!r}")


def test_a_server_answers_kept_queries_without_its_engine(built: Built) -> None:
    """The lookup a server makes finds the build's file for the values a client sends (normalised as the
    parameter's type says: " at " is the code AT), and only a query the build did not keep reaches the engine."""
    release = Release.open(built.settings.build_dir / "current")
    assert release.answers is not None
    runtime = Runtime(built.settings, ProjectNamespaces(), REGISTRY, release, Refusing())

    def kept(name: str, bindings: dict[str, str]) -> list[dict[str, object]]:
        assert release.answers is not None
        return list(json.loads((release.answers / answer_path(name, bindings)).read_text(encoding="utf-8"))["rows"])

    asked = [
        ("materials_in_country", {"country": " at "}, {"country": '"AT"'}),
        ("platform_profile", {"country": "fi"}, {"country": '"FI"'}),
        ("materials_in_subcategory", {"subcategory": "1.2"}, {"subcategory": '"1.2"'}),
        ("hashtags", {}, {}),
        ("categories", {}, {}),
    ]
    for name, values, bindings in asked:
        rows = asyncio.run(runtime.rows(name, values))
        assert rows and rows == kept(name, bindings), name
    with pytest.raises(AssertionError, match="the engine was asked"):
        asyncio.run(runtime.rows("material_cards", {"material": MATERIAL}))
