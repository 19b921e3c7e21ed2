"""The W3C SPARQL 1.1 Protocol tests against the real server, over raw HTTP on 127.0.0.1.

The manifest (tests/conformance/w3c-sparql11-protocol/manifest.ttl) has 34 mf:ProtocolTests:
13 query_*, 7 update_*, 7 bad query tests and 7 bad update tests (bad_*). The query and bad_* tests run as
the manifest states them. The endpoint is read-only by design, so the 7 positive update_*
tests do not apply as written; for them (ids ending "-refused-read-only") the update must be
refused with 403 and a JSON problem body, and any follow-up query of the test must see that
nothing was written. The runner itself is tests/w3c_runner.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rdflib import RDF

from tests.server import make_build
from tests.stores import STORES, serving
from tests.w3c_runner import (
    DATA_GRAPHS,
    MANIFEST,
    MF,
    ProtocolTest,
    check,
    dataset_quads,
    describe,
    entry_iris,
    load_manifest,
    local_name,
    manifest_graph,
    parse_boolean,
    send,
)

TESTS = load_manifest()
READ_ONLY_REFUSED = {
    "update_dataset_default_graph",
    "update_dataset_default_graphs",
    "update_dataset_named_graphs",
    "update_dataset_full",
    "update_post_form",
    "update_post_direct",
    "update_base_uri",
}
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Endpoint:
    port: int
    graphs: frozenset[str]
    store: str = "embedded"


@pytest.fixture(scope="module", params=STORES)
def endpoint(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """One server over data1..3.nt in their named graphs, for the whole manifest (nothing writes to it);
    on the embedded store and on external stores the same data was published into."""
    root: Path = tmp_path_factory.mktemp("w3c-protocol")
    make_build(root / "builds" / "w3c-protocol", dataset_quads(), version="w3c-protocol")
    with serving(request.param, root / "builds", root / "store", query_workers="2") as base:
        port = urlsplit(base).port
        assert port is not None
        yield Endpoint(port, frozenset(DATA_GRAPHS.values()), request.param)


# Failures caused by bugs in api/ or kg/ (strict: an unexpected pass means the bug is fixed; drop the entry).
KNOWN_BUGS: dict[str, str] = {}  # test name → reason, marked xfail(strict=True) until fixed


def _params(tests: list[ProtocolTest], refused: bool) -> list:
    def marks(name: str) -> list:
        return [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[name])] if name in KNOWN_BUGS else []

    return [
        pytest.param(t, id=t.name + ("-refused-read-only" if refused else ""), marks=marks(t.name))
        for t in tests
        if (t.name in READ_ONLY_REFUSED) is refused
    ]


def test_manifest_has_the_34_protocol_tests() -> None:
    graph = manifest_graph()
    entries = [local_name(iri) for iri in entry_iris(graph)]
    assert len(entries) == 34 and len(set(entries)) == 34
    assert all((iri, RDF.type, MF.ProtocolTest) in graph for iri in entry_iris(graph))
    assert [t.name for t in TESTS] == entries
    kinds = {
        "query": [n for n in entries if n.startswith("query_")],
        "update": [n for n in entries if n.startswith("update_")],
        "bad query": [n for n in entries if n.startswith("bad_") and "update" not in n],
        "bad update": [n for n in entries if n.startswith("bad_") and "update" in n],
    }
    assert {kind: len(names) for kind, names in kinds.items()} == {
        "query": 13,
        "update": 7,
        "bad query": 7,
        "bad update": 7,
    }
    assert set(kinds["update"]) == READ_ONLY_REFUSED
    # 27 run as the manifest states them + 7 refused-read-only variants
    assert len(_params(TESTS, False)) + len(_params(TESTS, True)) == 34
    assert all(r.absolute_path.startswith("/sparql/") for t in TESTS for r in t.requests), MANIFEST


@pytest.mark.parametrize("test", _params(TESTS, refused=False))
def test_protocol(endpoint: Endpoint, test: ProtocolTest) -> None:
    missing = {name for _, name in test.graph_data} - endpoint.graphs
    assert not missing, f"{test.name} needs graphs the fixture did not load: {missing}"
    for number, request in enumerate(test.requests, 1):
        response = send(endpoint.port, request)
        problems = check(response, request.expected)
        assert not problems, (
            f"{test.name} ({test.title}), request {number}/{len(test.requests)}: "
            f"{'; '.join(problems)}\n{describe(request, response)}"
        )


# Virtuoso 7.2.5: when the request names its graphs (named-graph-uri), GRAPH <iri> of a graph outside them
# matches the named graphs' data instead of nothing (docs/remote-stores.md). The follow-up ASKs of these
# tests look into such graphs. Strict: should a Virtuoso answer right, the mark must go.
VIRTUOSO_GRAPH_CONSTANT_BUG = {
    "update_dataset_default_graph",
    "update_dataset_default_graphs",
    "update_dataset_named_graphs",
    "update_dataset_full",
    "update_base_uri",
}


@pytest.mark.parametrize("test", _params(TESTS, refused=True))
def test_update_refused_read_only(endpoint: Endpoint, test: ProtocolTest, request: pytest.FixtureRequest) -> None:
    """Not applicable as written (read-only endpoint): the update is refused and changes nothing."""
    if endpoint.store == "virtuoso" and test.name in VIRTUOSO_GRAPH_CONSTANT_BUG:
        request.applymarker(pytest.mark.xfail(strict=True, reason="Virtuoso: GRAPH <iri> outside named-graph-uri"))
    update, *follow_ups = test.requests
    response = send(endpoint.port, update)
    exchange = describe(update, response)
    assert response.status == 403, f"{test.name}: expected 403 for an update on a read-only endpoint\n{exchange}"
    assert response.media_type == PROBLEM, f"{test.name}: expected {PROBLEM}\n{exchange}"
    body = json.loads(response.body)
    assert body.get("status") == 403 and body.get("title") and "read-only" in body.get("detail", ""), exchange
    for request in follow_ups:  # the ASKs that would see the update's effect must see none
        response = send(endpoint.port, request)
        exchange = describe(request, response)
        assert response.status // 100 == 2, f"{test.name}: follow-up query failed\n{exchange}"
        if request.expected.boolean is not None:
            assert parse_boolean(response) is (not request.expected.boolean), (
                f"{test.name}: the refused update seems to have changed the dataset\n{exchange}"
            )


def test_dataset_unchanged_after_refused_updates(endpoint: Endpoint) -> None:
    """After CLEAR ALL / DROP ALL attempts (update_* and bad_update_*), data1..3 are all still there."""
    for test in TESTS:
        if test.name in READ_ONLY_REFUSED or (test.name.startswith("bad_") and "update" in test.name):
            for request in test.requests[:1]:
                assert send(endpoint.port, request).status // 100 == 4
    query = next(t for t in TESTS if t.name == "query_dataset_full").requests[0]
    response = send(endpoint.port, query)
    assert not check(response, query.expected), describe(query, response)
