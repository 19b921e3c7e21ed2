"""Reading proposals (Turtle, JSON-LD; limits; no fetching) and the change they make to the real asserted graph."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF

from kg.changes.gate_errors import ProposalRefused, ProposalTargetMissing
from kg.changes.model import NEW
from kg.changes.patch import apply
from kg.changes.proposal import proposed_change, read_proposal, target_digest
from kg.errors import KGError
from kg.namespaces import EUCOUNTRY, ProjectNamespaces

DATASET = Path("/work/main/build/current/dataset.nq")
NS = ProjectNamespaces()
CAP, ID = NS.cap, NS.id
AUSTRIAN = ID["material/austrian-climate-neutral-cities-mission"]
AUSTRIAN_TITLE = Literal("Austrian Climate-Neutral Cities Mission and “Cities Mission Action Group”", lang="en")
EQUITY = ID["material/assessment-tool-climate-equity"]
EQUITY_CARD = ID["appearance/assessment-tool-climate-equity/4.1"]

NEW_MATERIAL = """
<m1> a cap:LearningMaterial ; dcterms:title "Heat action plans for small towns"@en ; dcterms:spatial eucountry:DNK .
<c1> a cap:MaterialAppearance ; cap:appearanceOf <m1> ; cap:inProblemStatement id:challenge\\/4.1 ;
    schema:position 9 ; cap:titleAsPrinted "Heat action plans for small towns" ; cap:typeLabel "Guide"@en .
"""


@pytest.fixture(scope="module")
def current() -> Graph:
    if not DATASET.exists():
        pytest.skip(f"no built dataset at {DATASET} (run kg build in /work/main)")
    dataset = Dataset()
    dataset.parse(DATASET, format="nquads")
    graph = Graph()
    for triple in dataset.graph(NS.graph("asserted")):
        graph.add(triple)
    return graph


def status(excinfo: pytest.ExceptionInfo[KGError]) -> int:
    return excinfo.value.http_status


# -- reading ---------------------------------------------------------------------------------------


def test_turtle_with_the_project_prefixes_predeclared_and_relative_iris_new() -> None:
    graph = read_proposal(NEW_MATERIAL.encode(), "text/turtle; charset=utf-8")
    material = URIRef(NEW + "m1")
    assert (material, RDF.type, CAP.LearningMaterial) in graph
    assert (material, DCTERMS.spatial, EUCOUNTRY.DNK) in graph
    assert (URIRef(NEW + "c1"), CAP.inProblemStatement, ID["challenge/4.1"]) in graph
    assert len(graph) == 9


def test_rdf_xml_and_n3_are_refused_with_415_naming_the_accepted_types() -> None:
    for media_type in ("application/rdf+xml", "text/n3", "application/n-triples"):
        with pytest.raises(KGError) as excinfo:
            read_proposal(b"<rdf:RDF/>", media_type)
        assert status(excinfo) == 415
        assert "text/turtle" in str(excinfo.value) and "application/ld+json" in str(excinfo.value)


def test_too_many_bytes_and_too_many_triples_are_413() -> None:
    with pytest.raises(KGError) as excinfo:
        read_proposal(b"#" * 101, "text/turtle", max_bytes=100)
    assert status(excinfo) == 413
    body = "".join(f"<n{i}> dcterms:title 't{i}' .\n" for i in range(11)).encode()
    with pytest.raises(KGError) as excinfo:
        read_proposal(body, "text/turtle", max_triples=10)
    assert status(excinfo) == 413
    assert len(read_proposal(body, "text/turtle", max_triples=11)) == 11


def test_a_turtle_syntax_error_is_400_with_its_line_and_column() -> None:
    body = b'<m1> a cap:LearningMaterial .\n<m1> dcterms:title "ok"@en .\n<m1> dcterms:title "broken .\n'
    with pytest.raises(KGError) as excinfo:
        read_proposal(body, "text/turtle")
    assert status(excinfo) == 400
    assert excinfo.value.line == 3  # the contributor's line, not counting the predeclared prefixes
    assert "line 3" in str(excinfo.value)
    assert excinfo.value.column is not None


def test_a_literal_over_20000_characters_is_422_naming_its_property() -> None:
    body = f'<m1> dcterms:description "{"x" * 20_001}"@en .'.encode()
    with pytest.raises(KGError) as excinfo:
        read_proposal(body, "text/turtle")
    assert status(excinfo) == 422
    assert str(DCTERMS.description) in str(excinfo.value)
    read_proposal(f'<m1> dcterms:description "{"x" * 20_000}"@en .'.encode(), "text/turtle")


def test_json_ld_with_an_inline_context() -> None:
    document = {
        "@context": {"cap": str(CAP), "dcterms": str(DCTERMS), "title": {"@id": "dcterms:title", "@language": "en"}},
        "@id": "m1",
        "@type": "cap:LearningMaterial",
        "title": "Heat action plans",
    }
    graph = read_proposal(json.dumps(document).encode(), "application/ld+json")
    assert set(graph) == {
        (URIRef(NEW + "m1"), RDF.type, CAP.LearningMaterial),
        (URIRef(NEW + "m1"), DCTERMS.title, Literal("Heat action plans", lang="en")),
    }


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that serves a valid context and records every request it gets."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            requests.append(self.path)
            body = json.dumps({"@context": {"title": "http://purl.org/dc/terms/title"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/ld+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/context.jsonld", requests
    finally:
        server.shutdown()
        server.server_close()


def test_remote_json_ld_contexts_are_422_and_never_fetched(listener: tuple[str, list[str]]) -> None:
    url, requests = listener
    documents = [
        {"@context": url, "@id": "m1", "title": "x"},
        {"@context": [{"cap": str(CAP)}, url], "@id": "m1", "title": "x"},
        {"@context": {"t": {"@id": str(DCTERMS.title), "@context": url}}, "@id": "m1", "t": "x"},
        {"@graph": [{"@context": url, "@id": "m1", "title": "x"}]},
        {"@context": {"@import": url}, "@id": "m1", "title": "x"},
    ]
    for document in documents:
        with pytest.raises(KGError) as excinfo:
            read_proposal(json.dumps(document).encode(), "application/ld+json")
        assert status(excinfo) == 422, document
        assert "remote contexts are not fetched" in str(excinfo.value)
    assert requests == []


def test_the_listener_would_have_seen_a_fetch(listener: tuple[str, list[str]]) -> None:
    """The control for the test above: rdflib left to itself does fetch the context from the listener."""
    url, requests = listener
    Graph().parse(data=json.dumps({"@context": url, "@id": "http://example.org/m", "title": "x"}), format="json-ld")
    assert requests == ["/context.jsonld"]


def test_json_syntax_error_is_400_with_line() -> None:
    with pytest.raises(KGError) as excinfo:
        read_proposal(b'{\n  "@id": "m1",\n  "x": }', "application/ld+json")
    assert status(excinfo) == 400 and excinfo.value.line == 3


# -- the change ------------------------------------------------------------------------------------


def test_add_new_resources(current: Graph) -> None:
    proposed = read_proposal(NEW_MATERIAL.encode(), "text/turtle")
    change = proposed_change(current, proposed, action="add", target=None, ns=NS)
    assert change.added == set(proposed) and not change.removed


def test_add_to_an_existing_resource_adds_only_what_is_not_there(current: Graph) -> None:
    body = f"<{EQUITY}> dcterms:spatial eucountry:DNK , eucountry:SWE .".encode()
    change = proposed_change(current, read_proposal(body, "text/turtle"), action="add", target=None, ns=NS)
    assert change.added == {(EQUITY, DCTERMS.spatial, EUCOUNTRY.SWE)}  # DNK is there already
    assert not change.removed


def test_contributors_do_not_choose_iris(current: Graph) -> None:
    body = b'id:material\\/my-own-iri a cap:LearningMaterial ; dcterms:title "Mine"@en .'
    with pytest.raises(ProposalRefused) as excinfo:
        proposed_change(current, read_proposal(body, "text/turtle"), action="add", target=None, ns=NS)
    assert excinfo.value.http_status == 422
    assert "contributors do not choose IRIs" in str(excinfo.value)


def test_a_proposal_does_not_set_the_importers_provenance(current: Graph) -> None:
    body = b"<m1> a cap:LearningMaterial ; cap:firstLine 3 ."
    with pytest.raises(ProposalRefused):
        proposed_change(current, read_proposal(body, "text/turtle"), action="add", target=None, ns=NS)


def test_replace_a_real_materials_title(current: Graph) -> None:
    new_title = Literal("Austrian Climate-Neutral Cities Mission", lang="en")
    proposed = Graph()
    for triple in current.triples((AUSTRIAN, None, None)):
        if triple[1] not in (DCTERMS.title, CAP.curationDecision):  # the editor's note is not the contributor's
            proposed.add(triple)
    proposed.add((AUSTRIAN, DCTERMS.title, new_title))
    change = proposed_change(current, proposed, action="replace", target=AUSTRIAN, ns=NS)
    assert change.added == {(AUSTRIAN, DCTERMS.title, new_title)}
    assert change.removed == {(AUSTRIAN, DCTERMS.title, AUSTRIAN_TITLE)}  # the curation decision is kept


def test_replace_drops_what_the_new_description_leaves_out(current: Graph) -> None:
    body = f'<{EQUITY}> a cap:LearningMaterial ; dcterms:title "Assessment tool: Climate equity"@en .'.encode()
    change = proposed_change(current, read_proposal(body, "text/turtle"), action="replace", target=EQUITY, ns=NS)
    assert not change.added
    assert change.removed == {
        (EQUITY, DCTERMS.spatial, EUCOUNTRY.DNK),
        (EQUITY, CAP.releaseYear, Literal("2024", datatype=URIRef("http://www.w3.org/2001/XMLSchema#gYear"))),
    }


def test_replace_or_remove_of_a_missing_resource_is_404(current: Graph) -> None:
    for action in ("replace", "remove"):
        with pytest.raises(ProposalTargetMissing) as excinfo:
            proposed_change(current, Graph(), action=action, target=ID["material/no-such-thing"], ns=NS)
        assert excinfo.value.http_status == 404


def test_remove_a_material(current: Graph) -> None:
    change = proposed_change(current, Graph(), action="remove", target=EQUITY, ns=NS)
    assert not change.added
    assert (EQUITY, DCTERMS.title, Literal("Assessment tool: Climate equity", lang="en")) in change.removed
    assert (EQUITY_CARD, CAP.appearanceOf, EQUITY) in change.removed
    assert all(EQUITY in (s, o) for s, _, o in change.removed)
    graph = Graph()
    for triple in current:
        graph.add(triple)
    apply(graph, change)
    assert (EQUITY, None, None) not in graph and (None, None, EQUITY) not in graph
    assert len(graph) == len(current) - len(change.removed)


def test_remove_carries_no_triples(current: Graph) -> None:
    proposed = read_proposal(b'<m1> dcterms:title "x"@en .', "text/turtle")
    with pytest.raises(ProposalRefused):
        proposed_change(current, proposed, action="remove", target=EQUITY, ns=NS)


def test_target_digest_follows_the_targets_description_only(current: Graph) -> None:
    before = target_digest(current, EQUITY)
    assert len(before) == 64 and before == target_digest(current, EQUITY)
    graph = Graph()
    for triple in current:
        graph.add(triple)
    graph.add((AUSTRIAN, DCTERMS.spatial, EUCOUNTRY.DEU))  # another resource changes
    assert target_digest(graph, EQUITY) == before
    graph.add((EQUITY, DCTERMS.spatial, EUCOUNTRY.DEU))
    assert target_digest(graph, EQUITY) != before


def test_json_nested_thousands_deep_is_422_not_a_crash() -> None:
    """5,000 nested arrays exhaust Python's JSON parser (RecursionError): refused before it runs."""
    with pytest.raises(ProposalRefused, match="nests 5000 levels deep") as refused:
        read_proposal(("[" * 5000 + "]" * 5000).encode(), "application/ld+json")
    assert refused.value.http_status == 422
    brackets_in_a_string = json.dumps({"@id": "urn:x-new:a", "http://purl.org/dc/terms/title": "[" * 5000})
    assert len(read_proposal(brackets_in_a_string.encode(), "application/ld+json")) == 1  # text is not nesting
