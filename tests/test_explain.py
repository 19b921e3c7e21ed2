"""Why is this true? (issue 15) on the real build: the justification graph, its build check, /api/explain and the
pages.

The expected rules and premises are derived by hand from ontology/capacities.ttl and ontology/imports/*.ttl and
from what the portfolio prints (data/sources/000_11870afa8f6afaf9.txt): the Greek Memorandum of Cooperation
(MoC), a learning material printed on a card in subcategory 4.1 "National Ecosystem Development" of core
challenge 04.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterator
from typing import Any

import html5lib
import httpx
import pyoxigraph as ox
import pytest

from kg.errors import KGError
from kg.reasoning.justify_store import check_published
from kg.sparql.registry import QueryRegistry
from tests.conftest import ASSERTED, Built
from tests.stores import serving

ID = "https://w3id.org/capacities/lp/id/"
CAP = "https://w3id.org/capacities/lp/ontology#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
SCHEMA = "http://schema.org/"
JUSTIFICATIONS = ID + "graph/justifications"
MOC = ID + "material/greek-moc"
CARD = ID + "appearance/greek-moc/4.1"  # its card printed in subcategory 4.1
SUBCATEGORY, CHALLENGE = ID + "challenge/4.1", ID + "challenge/04"
MOC_TITLE = "Memorandum of Cooperation (MoC)"  # as the portfolio prints it


@pytest.fixture(scope="module")
def server(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving("embedded", built.settings.build_dir, tmp_path_factory.mktemp("store"), query_timeout=5) as base:
        yield base


def explain(server: str, s: str, p: str, o: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(f"{server}/api/explain", params={"subject": s, "predicate": p, "object": o}, timeout=30, **kwargs)


def triple(node: dict[str, Any]) -> tuple[str, str, str]:
    c = node["conclusion"]
    return c["s"], c["p"], c["o"]


def quoted(node: dict[str, Any], portfolio_lines: list[str]) -> str:
    """The text of an asserted premise's source lines, checked against the portfolio's own lines."""
    assert node["origin"] == "asserted" and node["source"], node
    texts = []
    for source in node["source"]:
        if "curation_decision" in source:  # a curator's decision about the subject (a merged material) is no text
            continue
        first, last = source["first"], source["last"]
        assert source["text"] == "\n".join(portfolio_lines[first - 1 : last])  # printed as the text has them
        texts.append(source["text"])
    assert texts, node
    return "\n".join(texts)


# -- the four kinds of kept entailment ------------------------------------------------------------------------


def test_a_property_chain_listed_under_a_subcategory(server: str, portfolio_lines: list[str]) -> None:
    """cap:listedUnder owl:propertyChainAxiom (cap:hasAppearance cap:inProblemStatement); the card says
    `appearanceOf` the material and the ontology makes hasAppearance its inverse: two steps."""
    answer = explain(server, MOC, CAP + "listedUnder", SUBCATEGORY).json()
    assert answer["asserted"] is False and answer["rule"] == "prp-spo2" and answer["depth"] == 2
    assert answer["conclusion"]["labels"][MOC] == MOC_TITLE
    axiom, has_appearance, printed_in = answer["premises"]
    assert axiom["origin"] == "ontology"
    assert triple(axiom)[:2] == (CAP + "listedUnder", OWL + "propertyChainAxiom")
    assert triple(has_appearance) == (MOC, CAP + "hasAppearance", CARD) and has_appearance["rule"] == "prp-inv2"
    assert triple(printed_in) == (CARD, CAP + "inProblemStatement", SUBCATEGORY)
    assert "National Ecosystem Development" in answer["conclusion"]["labels"][SUBCATEGORY]
    # the card's source lines print the material's title (the card is where the subcategory lists it)
    assert MOC_TITLE in quoted(printed_in, portfolio_lines)


def test_an_inverse_has_appearance(server: str, portfolio_lines: list[str]) -> None:
    """prp-inv2: T(hasAppearance owl:inverseOf appearanceOf), T(card appearanceOf material) → T(material
    hasAppearance card)."""
    answer = explain(server, MOC, CAP + "hasAppearance", CARD).json()
    assert answer["rule"] == "prp-inv2" and answer["depth"] == 1
    assert "other way round" in answer["rule_label"]
    axiom, stated = answer["premises"]
    assert triple(axiom) == (CAP + "hasAppearance", OWL + "inverseOf", CAP + "appearanceOf")
    assert axiom["origin"] == "ontology"
    assert triple(stated) == (CARD, CAP + "appearanceOf", MOC)
    assert MOC_TITLE in quoted(stated, portfolio_lines)
    # a card has no name of its own: it is named as people would, never by its IRI
    assert answer["conclusion"]["labels"][CARD] == f"the card of “{MOC_TITLE}” in problem statement 4.1"


def test_a_subclass_typing(server: str, portfolio_lines: list[str]) -> None:
    """cap:LearningMaterial ⊑ schema:LearningResource ⊑ schema:CreativeWork: two cax-sco steps."""
    answer = explain(server, MOC, RDF + "type", SCHEMA + "CreativeWork").json()
    assert answer["rule"] == "cax-sco" and answer["depth"] == 2
    axiom, learning_resource = answer["premises"]
    assert triple(axiom) == (SCHEMA + "LearningResource", RDFS + "subClassOf", SCHEMA + "CreativeWork")
    assert triple(learning_resource) == (MOC, RDF + "type", SCHEMA + "LearningResource")
    assert learning_resource["rule"] == "cax-sco"
    axiom, typed = learning_resource["premises"]
    assert triple(axiom) == (CAP + "LearningMaterial", RDFS + "subClassOf", SCHEMA + "LearningResource")
    assert triple(typed) == (MOC, RDF + "type", CAP + "LearningMaterial") and typed["origin"] == "asserted"
    assert MOC_TITLE in quoted(typed, portfolio_lines)


def test_a_transitive_broader(server: str, built: Built) -> None:
    """skos:broader ⊑ skos:broaderTransitive (imports/skos-axioms.ttl): a subcategory's broader core challenge
    is broader transitively by prp-spo1; the hierarchy has two levels, so no prp-trp step is needed."""
    answer = explain(server, SUBCATEGORY, SKOS + "broaderTransitive", CHALLENGE).json()
    assert answer["rule"] == "prp-spo1" and answer["depth"] == 1
    axiom, broader = answer["premises"]
    assert triple(axiom) == (SKOS + "broader", RDFS + "subPropertyOf", SKOS + "broaderTransitive")
    assert triple(broader) == (SUBCATEGORY, SKOS + "broader", CHALLENGE) and broader["origin"] == "asserted"
    assert built.ask(f"ASK {{ GRAPH <{ASSERTED}> {{ <{SUBCATEGORY}> skos:broader <{CHALLENGE}> }} }}", union=False)


def test_every_proof_ends_in_asserted_or_ontology_triples(server: str) -> None:
    def leaves(node: dict[str, Any]) -> Iterator[str]:
        if "premises" in node:
            for premise in node["premises"]:
                yield from leaves(premise)
        else:
            yield node["origin"]

    answer = explain(server, MOC, CAP + "listedUnderChallenge", CHALLENGE).json()
    assert answer["rule"] == "prp-spo2" and set(leaves(answer)) == {"asserted", "ontology"}


def test_the_json_ld_is_the_proof_s_justification_nodes(server: str) -> None:
    response = explain(server, MOC, CAP + "hasAppearance", CARD, headers={"Accept": "application/ld+json"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/ld+json")
    graph = list(ox.parse(response.content, format=ox.RdfFormat.JSON_LD))
    rules = {t.object.value for t in graph if t.predicate.value == CAP + "rule"}
    assert rules == {"prp-inv2"}
    premises = [t for t in graph if t.predicate.value == CAP + "premise"]
    assert len(premises) == 2 and all(t.object.value.startswith(ID + "statement/") for t in premises)


# -- the graph in the dataset and the build check ---------------------------------------------------------------


def test_the_justification_graph_is_part_of_the_release(built: Built) -> None:
    graphs = built.result.graphs
    assert graphs[JUSTIFICATIONS] > graphs[ID + "graph/inferred"]
    assert "justify" in {t.name for t in built.result.timings}
    void = (built.result.directory / "void.ttl").read_text(encoding="utf-8")
    assert "dataset/lp-kg/graph/justifications" in void
    # one justification per kept entailment that is not asserted
    kept = built.select(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{ID}graph/inferred> {{ ?s ?p ?o }} "
        f"FILTER NOT EXISTS {{ GRAPH <{ASSERTED}> {{ ?s ?p ?o }} }} }}",
        union=False,
    )[0]["n"]
    justified = built.select(
        f"SELECT (COUNT(?j) AS ?n) WHERE {{ GRAPH <{JUSTIFICATIONS}> {{ ?j a cap:Justification }} }}", union=False
    )[0]["n"]
    assert int(kept) == int(justified) > 4000


def copy_of(built: Built) -> ox.Store:
    store = ox.Store()
    store.extend(built.store.quads_for_pattern(None, None, None, None))
    return store


def test_the_build_check_passes_on_the_release(built: Built) -> None:
    check_published(built.store, QueryRegistry.load())


def one(store: ox.Store, query: str) -> ox.QuerySolution:
    solutions = store.query(query)
    assert isinstance(solutions, ox.QuerySolutions)
    return next(iter(solutions))


def test_the_build_check_fails_on_a_premise_outside_the_dataset(built: Built) -> None:
    store = copy_of(built)
    graph = ox.NamedNode(JUSTIFICATIONS)
    found = one(
        store,
        f"SELECT ?n ?o WHERE {{ GRAPH <{JUSTIFICATIONS}> {{ ?n <{CAP}inGraph> <{ASSERTED}> ; <{RDF}object> ?o }} }} "
        "LIMIT 1",
    )
    store.remove(ox.Quad(found["n"], ox.NamedNode(RDF + "object"), found["o"], graph))
    store.add(ox.Quad(found["n"], ox.NamedNode(RDF + "object"), ox.NamedNode(ID + "material/not-printed"), graph))
    with pytest.raises(KGError, match="not in the dataset.*material/not-printed"):
        check_published(store, QueryRegistry.load())


def test_the_build_check_fails_on_an_entailment_without_justification(built: Built) -> None:
    store = copy_of(built)
    graph = ox.NamedNode(JUSTIFICATIONS)
    found = one(
        store,
        f"SELECT ?j WHERE {{ GRAPH <{JUSTIFICATIONS}> {{ ?j <{RDF}subject> <{MOC}> ; <{RDF}predicate> "
        f"<{CAP}hasAppearance> ; <{RDF}object> <{CARD}> }} }}",
    )
    for quad in list(store.quads_for_pattern(found["j"], None, None, graph)):
        store.remove(quad)
    with pytest.raises(KGError, match="problem") as raised:
        check_published(store, QueryRegistry.load())
    # the first problem in N-Triples order: a proof that uses the removed justification as a premise
    assert found["j"].value in str(raised.value) or "greek-moc" in str(raised.value)


# -- the API's errors ------------------------------------------------------------------------------------------


def test_a_bad_iri_is_400_naming_the_parameter(server: str) -> None:
    response = explain(server, MOC, "not an iri", SUBCATEGORY)
    assert response.status_code == 400 and response.json()["field"] == "predicate"
    response = httpx.get(f"{server}/api/explain", params={"subject": MOC, "predicate": CAP + "listedUnder"})
    assert response.status_code == 400 and response.json()["field"] == "object"
    response = httpx.get(f"{server}/api/explain", params={"subject": MOC, "predicate": MOC, "object": MOC, "x": "1"})
    assert response.status_code == 400


def test_a_triple_the_dataset_does_not_hold_is_404(server: str) -> None:
    response = explain(server, MOC, CAP + "listedUnder", ID + "challenge/6.5")  # greek-moc is not printed in 6.5
    assert response.status_code == 404 and "neither asserted nor inferred" in response.json()["detail"]


def test_an_asserted_triple_answers_its_source(server: str, portfolio_lines: list[str]) -> None:
    answer = explain(server, CARD, CAP + "appearanceOf", MOC).json()
    assert answer["asserted"] is True and "rule" not in answer
    assert MOC_TITLE in quoted(answer, portfolio_lines)


# -- the pages -------------------------------------------------------------------------------------------------


def test_the_page_marks_inferred_statements_and_links_their_explanation(server: str) -> None:
    page = httpx.get(f"{server}/id/material/greek-moc", headers={"Accept": "text/html"}, timeout=30).text
    markers = re.findall(r'<a class="inferred" href="([^"]+)" aria-label="([^"]+)">([^<]+)</a>', page)
    assert markers and all("inferred" in text for _, _, text in markers)  # in words, not colour alone
    assert ID + "justification/" not in page  # the proofs' nodes are not listed as pointing at the material
    listed = [href for href, _, _ in markers if "listedUnder&" in html.unescape(href) and "4.1" in href]
    assert listed
    explained = httpx.get(server + html.unescape(listed[0]), timeout=30)
    assert explained.status_code == 200
    text = explained.text
    assert "Why is this true?" in text and "prp-spo2" in text and "property chain" in text.lower()
    assert html.escape(MOC_TITLE) in text and "<blockquote>" in text
    # source text is escaped, not markup: the card's text has "Environment & Energy"
    assert "Environment &amp; Energy" in text and "Environment & Energy" not in text


def test_the_explanation_page_escapes_what_it_is_given(server: str) -> None:
    response = httpx.get(
        f"{server}/explain", params={"subject": MOC, "predicate": '<script>alert("x")</script>', "object": MOC}
    )
    assert response.status_code == 400 and response.headers["content-type"].startswith("application/problem+json")
    response = httpx.get(f"{server}/explain", params={"subject": MOC, "predicate": CAP + "x", "object": MOC})
    assert response.status_code == 404 and "<script" not in response.text.split("</main>")[0].split("<main")[1]


def test_the_explanation_page_is_valid_html_on_the_site_s_template(server: str) -> None:
    response = httpx.get(
        f"{server}/explain",
        params={"subject": MOC, "predicate": CAP + "listedUnderChallenge", "object": CHALLENGE},
        timeout=30,
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html5lib.HTMLParser(strict=True).parse(response.text)  # raises on a parse error
    text = response.text
    assert '<meta name="viewport"' in text and "/static/site.css" in text and "/static/explain.css" in text
    assert "//cdn" not in text and "https://unpkg" not in text  # everything from here
    assert text.count("<h1") == 1 and '<html lang="en">' in text
    # names, not IRIs, for people: the material's title and the challenge's name, the rule in a sentence
    assert html.escape(MOC_TITLE) in text and "Engagement of Stakeholders and Co-Creation" in text
    assert "A property chain" in text and "An inverse property" in text


def test_linked_data_about_a_resource_leaves_the_proofs_out(server: str) -> None:
    """A material's Turtle and a property's Turtle describe them, not the reified statements that name them
    (thousands of justifications name cap:listedUnder); the proofs stay one link away, on /api/explain."""
    from rdflib import Graph, URIRef

    rdf_subject = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#subject")
    for path in ("/id/material/greek-moc", "/id/appearance/greek-moc/4.1"):
        answer = httpx.get(server + path, headers={"Accept": "text/turtle"}, timeout=60, follow_redirects=True)
        assert answer.status_code == 200, answer.text
        graph = Graph().parse(data=answer.text, format="turtle")
        assert len(graph) > 5
        assert not list(graph.triples((None, rdf_subject, None)))
        assert "/id/justification/" not in answer.text and "/id/statement/" not in answer.text


def test_a_justification_s_iri_dereferences(server: str) -> None:
    """id:justification/… and id:statement/… are minted IRIs (the SHA-1 of the triple's N-Triples line): machines
    get the node's triples, people the explanation of the triple it stands for, or its subject's page when
    that triple has a blank node (the chain axiom's list)."""
    from urllib.parse import parse_qs, urlsplit

    from rdflib import Graph, Literal, URIRef

    line = f"<{MOC}> <{CAP}listedUnder> <{SUBCATEGORY}> ."
    path = "/id/justification/" + hashlib.sha1(line.encode()).hexdigest()
    answer = httpx.get(server + path, headers={"Accept": "text/turtle"}, timeout=30)
    assert answer.status_code == 200, answer.text
    graph, node = Graph().parse(data=answer.text, format="turtle"), URIRef(ID + path[len("/id/") :])
    assert graph.value(node, URIRef(RDF + "subject")) == URIRef(MOC)
    assert graph.value(node, URIRef(RDF + "object")) == URIRef(SUBCATEGORY)
    assert graph.value(node, URIRef(CAP + "rule")) == Literal("prp-spo2")
    axiom, has_appearance, printed_in = (graph.value(node, URIRef(f"{RDF}_{n}")) for n in (1, 2, 3))
    assert {axiom, has_appearance, printed_in} == set(graph.objects(node, URIRef(CAP + "premise")))
    assert str(has_appearance).startswith(ID + "justification/") and str(printed_in).startswith(ID + "statement/")

    page = httpx.get(server + path, headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 303 and page.headers["location"].startswith("/explain?")
    said = parse_qs(urlsplit(page.headers["location"]).query)
    assert said == {"subject": [MOC], "predicate": [CAP + "listedUnder"], "object": [SUBCATEGORY]}
    explained = httpx.get(server + page.headers["location"], timeout=30)
    assert explained.status_code == 200 and "prp-spo2" in explained.text and MOC_TITLE in explained.text

    # the card's statement: asserted, explained by its source lines
    statement = httpx.get(server + local_path(printed_in), headers={"Accept": "text/html"}, timeout=30)
    assert statement.status_code == 303
    assert parse_qs(urlsplit(statement.headers["location"]).query)["subject"] == [CARD]
    # the chain axiom's statement: its object is the axiom's blank node, which /explain cannot be asked about; a
    # person is sent to the property's entry in the ontology's page
    axiom_page = httpx.get(server + local_path(axiom), headers={"Accept": "text/html"}, timeout=30)
    assert axiom_page.status_code == 303 and axiom_page.headers["location"] == "/ontology#listedUnder"
    ontology = httpx.get(server + "/ontology", headers={"Accept": "text/html"}, timeout=30)
    assert ontology.status_code == 200 and 'id="listedUnder"' in ontology.text
    missing = httpx.get(server + "/id/justification/" + "0" * 40, headers={"Accept": "text/turtle"}, timeout=30)
    assert missing.status_code == 404


def local_path(iri: object) -> str:
    assert str(iri).startswith(ID), iri
    return "/id/" + str(iri)[len(ID) :]


def test_a_material_says_why_it_is_listed_under_each_core_challenge(server: str) -> None:
    """The question an editor asks ("why does this material show up under that challenge?") is answered where
    it arises: beside each core challenge and problem statement of the material's summary."""
    page = httpx.get(f"{server}/id/material/greek-moc", headers={"Accept": "text/html"}, timeout=30).text
    summary = page.split("<dt>Core challenge", 1)[1].split("</dl>", 1)[0]
    whys = re.findall(r'<a class="inferred" href="([^"]+)" aria-label="(Why is [^"]+)">', summary)
    challenges = [why for why in whys if "listedUnderChallenge" in html.unescape(why[0])]
    statements = [why for why in whys if "listedUnder&" in html.unescape(why[0])]
    assert len(challenges) >= 2 and len(statements) >= 2  # the MoC is printed under several of each
    assert all(MOC_TITLE in html.unescape(label) for _, label in whys)
    for href, _ in (challenges[0], statements[0]):
        explained = httpx.get(server + html.unescape(href), timeout=30)
        assert explained.status_code == 200 and "Why is this true?" in explained.text
        assert "prp-spo2" in explained.text  # a chain through one of its cards
