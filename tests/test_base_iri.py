"""KG_BASE_IRI is honoured everywhere: the build mints under it, and every route the server answers speaks it
(named queries, linked data, JSON-LD contexts, pages, the editor's examples, VoID)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pyoxigraph as ox
import pytest

from kg.pipeline import build
from kg.settings import Settings
from tests.server import running_server

BASE = "https://example.org/capkg/"
DEFAULT = "https://w3id.org/capacities/lp/"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    build_dir = tmp_path_factory.mktemp("rebased")
    build(Settings(build_dir=build_dir, base_iri=BASE))
    with running_server(build_dir, base_iri=BASE, query_workers="1") as base:
        yield base


def test_the_build_mints_under_the_configured_base(server: str) -> None:
    health = httpx.get(server + "/health", timeout=30).json()
    assert sorted(health["triples"]) == [
        f"{BASE}id/graph/{name}" for name in ("asserted", "inferred", "justifications", "ontology")
    ]
    query = f'SELECT (COUNT(*) AS ?n) {{ ?s ?p ?o FILTER(CONTAINS(STR(?s), "{DEFAULT}")) }}'
    stale = httpx.get(server + "/sparql", params={"query": query}, timeout=30).json()
    assert stale["results"]["bindings"][0]["n"]["value"] == "0"


def test_named_queries_answer_under_the_configured_base(server: str) -> None:
    rows = httpx.get(server + "/api/queries/materials_in_subcategory", params={"subcategory": "1.2"}, timeout=30)
    assert rows.status_code == 200 and rows.json()
    assert all(row["material"].startswith(BASE + "id/material/") for row in rows.json())
    reused = httpx.get(server + "/api/queries/materials_reused_across_categories", timeout=30).json()
    assert reused and all(row["material"].startswith(BASE) for row in reused)


def test_json_ld_contexts_name_the_configured_vocabulary(server: str) -> None:
    answer = httpx.get(server + "/api/categories", headers={"Accept": "application/ld+json"}, timeout=30).json()
    assert answer["@context"]["cap"] == BASE + "ontology#"
    assert answer["@context"]["api"] == BASE + "api#"
    assert all(member["@id"].startswith(BASE + "id/challenge/") for member in answer["member"])
    assert DEFAULT not in str(answer)
    vocabulary = httpx.get(server + "/api", headers={"Accept": "text/turtle"}, timeout=30)
    assert vocabulary.status_code == 200 and f"<{BASE}api#" in vocabulary.text and DEFAULT not in vocabulary.text


def test_linked_data_pages_and_the_editor_use_the_configured_base(server: str) -> None:
    turtle = httpx.get(server + "/id/material/greek-moc", headers={"Accept": "text/turtle"}, timeout=30)
    assert turtle.status_code == 200
    triples = list(ox.parse(turtle.content, format=ox.RdfFormat.TURTLE))
    assert triples and {t.subject.value for t in triples} >= {BASE + "id/material/greek-moc"}
    page = httpx.get(server + "/id/challenge/1.2", headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200 and DEFAULT not in page.text
    editor = httpx.get(server + "/editor", timeout=30).text
    assert BASE + "ontology#" in editor and DEFAULT not in editor
    void = httpx.get(server + "/.well-known/void", headers={"Accept": "text/turtle"}, timeout=30).text
    assert BASE in void and DEFAULT not in void
