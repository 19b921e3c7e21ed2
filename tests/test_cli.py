"""The capkg command as a user runs it: help, exit codes, bad input, atomic builds, exports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from tests.conftest import ASSERTED, INFERRED, ROOT

VERBS = ["build", "validate", "report", "export", "query"]
ONTOLOGY = "https://w3id.org/capacities/lp/id/graph/ontology"


def capkg(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kg.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd or ROOT,
        timeout=300,
    )


@pytest.mark.parametrize("verb", [None, *VERBS])
def test_help(verb: str | None) -> None:
    result = capkg(*([verb] if verb else []), "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A copy of data/, ontology/ and shapes/ plus a good build, for breaking things in."""
    root = tmp_path_factory.mktemp("workspace")
    for name in ("data", "ontology", "shapes"):
        shutil.copytree(ROOT / name, root / name)
    env = {
        "KG_DATA_DIR": str(root / "data"),
        "KG_ONTOLOGY_DIR": str(root / "ontology"),
        "KG_SHAPES_DIR": str(root / "shapes"),
        "KG_BUILD_DIR": str(root / "build"),
    }
    result = capkg("build", "--quiet", env=env)
    assert result.returncode == 0, result.stderr
    return {"root": root, **{k: Path(v) for k, v in env.items()}}


def _env(workspace: dict[str, Path], **overrides: Path) -> dict[str, str]:
    keys = ("KG_DATA_DIR", "KG_ONTOLOGY_DIR", "KG_SHAPES_DIR", "KG_BUILD_DIR")
    return {key: str(overrides.get(key, workspace[key])) for key in keys}


def _broken_copy(workspace: dict[str, Path], name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(workspace["root"] / name, target)
    return target


PORTFOLIO = Path("sources") / "000_11870afa8f6afaf9.txt"


def _replace(path: Path, old: str, new: str) -> int:
    """Replace once; return the 1-based line of the change."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def _assert_previous_build_intact(workspace: dict[str, Path], before: Path, data: bytes) -> None:
    """`current` still the good build, unchanged, and nothing else written: no new release, no staging left."""
    build_dir = workspace["KG_BUILD_DIR"]
    current = build_dir / "current"
    assert current.resolve() == before
    assert (current / "dataset.nq").read_bytes() == data
    assert sorted(p.name for p in build_dir.iterdir()) in (
        ["current", "releases"],
        ["current", "current-inputs.sha256", "releases"],  # what the previous build was made from
    )
    assert [p.name for p in (build_dir / "releases").iterdir()] == [before.name]


BAD_SOURCES = [
    (
        "Hungarian Informal working group\tHungary\t2021\tn/a",
        "Hungarian Informal working group\tHungary\t2021",
        r"000_11870afa8f6afaf9\.txt:{line}: table row has 3 cells, expected 4",
    ),
    (
        "Hungarian Informal working group\tHungary\t2021",
        "Hungarian Informal working group\tHungria\t2021",
        r"000_11870afa8f6afaf9\.txt:{line}: unknown country 'Hungria'",
    ),
    (
        "Hungarian Informal working group\tHungary\t2021",
        "Hungarian Informal working group\tHungary\tsoon",
        r"000_11870afa8f6afaf9\.txt:{line}: year cell 'soon'",
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), BAD_SOURCES, ids=["missing-cell", "unknown-country", "bad-year"])
def test_malformed_source_names_file_and_line_and_keeps_previous_build(
    workspace: dict[str, Path], tmp_path: Path, old: str, new: str, expected: str
) -> None:
    before = (workspace["KG_BUILD_DIR"] / "current").resolve()
    data = (before / "dataset.nq").read_bytes()
    broken = _broken_copy(workspace, "data", tmp_path)
    line = _replace(broken / PORTFOLIO, old, new)
    result = capkg("build", env=_env(workspace, KG_DATA_DIR=broken))
    assert result.returncode == 3, result.stderr
    assert re.search(expected.format(line=line), " ".join(result.stderr.split())), result.stderr
    assert "Traceback" not in result.stderr
    _assert_previous_build_intact(workspace, before, data)


def test_curation_entry_naming_a_card_that_does_not_exist(workspace: dict[str, Path], tmp_path: Path) -> None:
    before = (workspace["KG_BUILD_DIR"] / "current").resolve()
    data = (before / "dataset.nq").read_bytes()
    broken = _broken_copy(workspace, "data", tmp_path)
    path = broken / "curation" / "materials.yaml"
    path.write_text(
        path.read_text(encoding="utf-8") + '\n  - id: ghost\n    title: "Ghost"\n'
        '    cards: [{title: "A card nobody printed"}]\n',
        encoding="utf-8",
    )
    line = path.read_text(encoding="utf-8").split("\n").index('    cards: [{title: "A card nobody printed"}]') + 1
    result = capkg("build", env=_env(workspace, KG_DATA_DIR=broken))
    assert result.returncode == 3, result.stderr
    message = " ".join(result.stderr.split())
    assert f"materials.yaml:{line}" in message and "no card of the portfolio matches 'A card nobody printed'" in message
    _assert_previous_build_intact(workspace, before, data)


@pytest.mark.parametrize("folder", ["ontology", "shapes"])
def test_invalid_turtle_names_file_and_line(workspace: dict[str, Path], tmp_path: Path, folder: str) -> None:
    before = (workspace["KG_BUILD_DIR"] / "current").resolve()
    data = (before / "dataset.nq").read_bytes()
    broken = _broken_copy(workspace, folder, tmp_path)
    bad = broken / "zz-broken.ttl"
    bad.write_text("@prefix ex: <http://example.org/> .\n\nex:a ex:b ex:c ;\n    ex:d .\n", encoding="utf-8")
    result = capkg("build", env=_env(workspace, **{f"KG_{folder.upper()}_DIR": broken}))
    assert result.returncode == 4, result.stderr
    assert re.search(r"zz-broken\.ttl:\d+: invalid Turtle", " ".join(result.stderr.split())), result.stderr
    _assert_previous_build_intact(workspace, before, data)


def test_violation_stops_the_build_naming_focus_property_problem_and_lines(
    workspace: dict[str, Path], tmp_path: Path
) -> None:
    before = (workspace["KG_BUILD_DIR"] / "current").resolve()
    data = (before / "dataset.nq").read_bytes()
    shapes = _broken_copy(workspace, "shapes", tmp_path)
    (shapes / "zz-strict.ttl").write_text(
        """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix cap: <https://w3id.org/capacities/lp/ontology#> .
<urn:test:TwoFeatures> a sh:NodeShape ; sh:targetClass cap:MaterialAppearance ;
    sh:property [ sh:path cap:keyFeature ; sh:minCount 2 ; sh:severity sh:Violation ;
                  sh:message "a card needs at least two key features" ] .
""",
        encoding="utf-8",
    )
    result = capkg("build", env=_env(workspace, KG_SHAPES_DIR=shapes))
    assert result.returncode == 1, result.stderr
    message = " ".join(result.stderr.split())
    # line 1390 of the portfolio: the System Demonstrator card prints one key feature
    assert "SHACL violation" in message and "a card needs at least two key features" in message
    assert re.search(
        r"appearance/system-demonstrator-program/2\.4\S* cap:keyFeature: a card needs at least two "
        r"key features \(000_11870afa8f6afaf9\.txt:\d+-\d+\)",
        message,
    ), message
    _assert_previous_build_intact(workspace, before, data)


def test_validate_and_report_on_the_real_data(workspace: dict[str, Path]) -> None:
    result = capkg("validate", env=_env(workspace))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^0 violations, \d+ warnings, \d+ infos$", result.stdout.strip().splitlines()[-1])
    report = capkg("report", env=_env(workspace))
    assert report.returncode == 0
    assert "## Subcategory 2.5" in report.stdout
    assert "000_11870afa8f6afaf9.txt:" in report.stdout


@pytest.mark.parametrize(
    ("fmt", "rdflib_format", "dataset"),
    [("trig", "trig", True), ("nquads", "nquads", True), ("turtle", "turtle", False), ("jsonld", "json-ld", True)],
)
def test_exports_parse_back_with_an_independent_parser(
    workspace: dict[str, Path], tmp_path: Path, fmt: str, rdflib_format: str, dataset: bool
) -> None:
    """Each export holds every named graph with its triples; Turtle, which has no graphs, holds their union."""
    target = tmp_path / f"dump.{fmt}"
    result = capkg("export", "--format", fmt, "--output", str(target), env=_env(workspace))
    assert result.returncode == 0, result.stderr
    current = workspace["KG_BUILD_DIR"] / "current"
    graphs = json.loads((current / "summary.json").read_text(encoding="utf-8"))["graphs"]
    assert set(graphs) == {ASSERTED, INFERRED, ONTOLOGY, ASSERTED.replace("asserted", "justifications")}
    if dataset:
        parsed = Dataset()
        parsed.parse(target, format=rdflib_format)
        counts = {str(g.identifier): len(g) for g in parsed.graphs() if len(g)}
        assert counts == graphs
    else:
        exported = Graph().parse(target, format=rdflib_format)
        quads = Dataset()
        quads.parse(current / "dataset.nq", format="nquads")
        union = Graph()
        for s, p, o, _ in quads.quads((None, None, None, None)):
            union.add((s, p, o))
        assert len(exported) == len(union)
        assert isomorphic(exported, union)  # the same triples, blank nodes matched up


def test_query_verb(workspace: dict[str, Path]) -> None:
    result = capkg(
        "query",
        "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/capacities/lp/ontology#CoreChallenge> }",
        env=_env(workspace),
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"\b6\b", result.stdout)
    bad = capkg("query", "SELECT WHERE {", env=_env(workspace))
    assert bad.returncode == 2
    assert "malformed SPARQL" in bad.stderr
    # the endpoint's predeclared prefixes, and its errors in words with their position
    short = capkg("query", "SELECT (COUNT(*) AS ?n) WHERE { ?s a cap:CoreChallenge }", env=_env(workspace))
    assert short.returncode == 0, short.stderr
    assert re.search(r"\b6\b", short.stdout)
    unknown = capkg("query", "SELECT ?s WHERE {\n  ?s a foo:Bar }", env=_env(workspace))
    assert unknown.returncode == 2
    assert "Unknown prefix 'foo:'" in unknown.stderr and "line 2, column 8" in unknown.stderr


def test_export_without_a_build(tmp_path: Path) -> None:
    result = capkg("export", env={"KG_BUILD_DIR": str(tmp_path / "none")})
    assert result.returncode == 5
    assert "no build yet" in result.stderr


def test_env_example_names_every_setting() -> None:
    """.env.example is where an operator finds the settings: each field of kg.settings.Settings is in it."""
    from kg.settings import Settings

    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    missing = [f"KG_{name.upper()}" for name in Settings.model_fields if f"KG_{name.upper()}=" not in text]
    assert not missing, f".env.example lacks {missing}"
