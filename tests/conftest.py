"""Shared fixtures: one real build of the whole portfolio per test session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.pipeline import BuildResult, build
from kg.release.dataset import open_dataset
from kg.settings import Settings

# every session: no test is skipped without a reason, no xfail is lenient (tests/skip_reasons.py)
pytest_plugins = ["tests.skip_reasons"]

PREFIXES = """
PREFIX cap: <https://w3id.org/capacities/lp/ontology#>
PREFIX id: <https://w3id.org/capacities/lp/id/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX schema: <http://schema.org/>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX eucountry: <http://publications.europa.eu/resource/authority/country/>
PREFIX eulang: <http://publications.europa.eu/resource/authority/language/>
"""
ASSERTED = "https://w3id.org/capacities/lp/id/graph/asserted"
INFERRED = "https://w3id.org/capacities/lp/id/graph/inferred"
ROOT = Path(__file__).resolve().parent.parent
PORTFOLIO = ROOT / "data" / "sources" / "000_11870afa8f6afaf9.txt"


@dataclass
class Built:
    settings: Settings
    result: BuildResult
    store: ox.Store

    def select(self, query: str, *, union: bool = True) -> list[dict[str, str]]:
        """Rows of a SELECT as {variable: lexical value}."""
        solutions = self.store.query(PREFIXES + query, use_default_graph_as_union=union)
        names = [v.value for v in solutions.variables]
        return [{n: s[n].value for n in names if s[n] is not None} for s in solutions]

    def ask(self, query: str, *, union: bool = True) -> bool:
        return bool(self.store.query(PREFIXES + query, use_default_graph_as_union=union))

    def column(self, query: str, name: str, *, union: bool = True) -> set[str]:
        return {row[name] for row in self.select(query, union=union) if name in row}


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    settings = Settings(build_dir=tmp_path_factory.mktemp("build"))
    result = build(settings)
    return Built(settings, result, open_dataset(result.directory))


@pytest.fixture(scope="session")
def portfolio_lines() -> list[str]:
    return PORTFOLIO.read_text(encoding="utf-8").split("\n")
