"""Justifications of inferred triples, on small hand-made ontologies and data (no build)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import FOAF, ORG, OWL, RDF, RDFS, SKOS

from kg.namespaces import ProjectNamespaces
from kg.reasoning.infer import infer
from kg.reasoning.justify import Triple, UnjustifiedInference, justify
from kg.reasoning.validate import load_turtle_dir

NS = ProjectNamespaces()
CAP = NS.cap
EX = Namespace("https://example.org/")
ROOT = Path(__file__).resolve().parent.parent

PREFIXES = f"""
@prefix cap: <{CAP}> .
@prefix ex: <{EX}> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
"""


def turtle(text: str) -> Graph:
    return Graph().parse(data=PREFIXES + text, format="turtle")


def graph_of(*triples: Triple) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    return graph


CHAIN_ONTOLOGY = """
cap:hasAppearance owl:inverseOf cap:appearanceOf .
cap:listedUnder owl:propertyChainAxiom ( cap:hasAppearance cap:inProblemStatement ) .
"""


def chain_axiom(ontology: Graph, prop: URIRef) -> Triple:
    chain = ontology.value(prop, OWL.propertyChainAxiom)
    assert chain is not None
    return (prop, OWL.propertyChainAxiom, chain)


def test_a_property_chain_rests_on_an_inverse_and_an_asserted_card() -> None:
    ontology = turtle(CHAIN_ONTOLOGY)
    card_of = (EX.card1, CAP.appearanceOf, EX.material1)
    printed_in = (EX.card1, CAP.inProblemStatement, EX.subcategory1)
    has_appearance = (EX.material1, CAP.hasAppearance, EX.card1)
    listed = (EX.material1, CAP.listedUnder, EX.subcategory1)

    result = justify(graph_of(card_of, printed_in), graph_of(has_appearance, listed), ontology)

    inverse = result.get(has_appearance)
    assert inverse is not None
    # the axiom reads "hasAppearance inverseOf appearanceOf" and the data uses appearanceOf: the second inverse rule
    assert inverse.rule == "prp-inv2"
    assert inverse.premises == ((CAP.hasAppearance, OWL.inverseOf, CAP.appearanceOf), card_of)
    assert inverse.depth == 1
    chain = result.get(listed)
    assert chain is not None
    assert chain.rule == "prp-spo2"
    assert chain.premises == (chain_axiom(ontology, CAP.listedUnder), has_appearance, printed_in)
    assert chain.depth == 2
    assert result.unjustified() == []
    result.check(set(ontology) | {card_of, printed_in, has_appearance, listed})


def test_a_three_step_chain() -> None:
    ontology = turtle("ex:grandUncle owl:propertyChainAxiom ( ex:parent ex:parent ex:brother ) .")
    steps = [(EX.a, EX.parent, EX.b), (EX.b, EX.parent, EX.c), (EX.c, EX.brother, EX.d)]
    conclusion = (EX.a, EX.grandUncle, EX.d)

    step = justify(graph_of(*steps), graph_of(conclusion), ontology).get(conclusion)

    assert step is not None
    assert step.rule == "prp-spo2"
    assert step.premises == (chain_axiom(ontology, EX.grandUncle), *steps)
    assert step.depth == 1


def test_when_both_inverse_axioms_are_stated_the_first_rule_wins() -> None:
    ontology = turtle("org:member owl:inverseOf org:hasMembership . org:hasMembership owl:inverseOf org:member .")
    member = (EX.membership1, ORG.member, EX.person1)
    conclusion = (EX.person1, ORG.hasMembership, EX.membership1)

    step = justify(graph_of(member), graph_of(conclusion), ontology).get(conclusion)

    assert step is not None
    assert (step.rule, step.premises) == ("prp-inv1", ((ORG.member, OWL.inverseOf, ORG.hasMembership), member))


def test_a_subclass_typing_chain_of_two_steps() -> None:
    ontology = turtle(
        "org:FormalOrganization rdfs:subClassOf org:Organization . org:Organization rdfs:subClassOf foaf:Agent ."
    )
    typed = (EX.org1, RDF.type, ORG.FormalOrganization)
    organization = (EX.org1, RDF.type, ORG.Organization)
    agent = (EX.org1, RDF.type, FOAF.Agent)

    result = justify(graph_of(typed), graph_of(organization, agent), ontology)

    first, second = result.get(organization), result.get(agent)
    assert first is not None and second is not None
    assert (first.rule, first.premises, first.depth) == (
        "cax-sco",
        ((ORG.FormalOrganization, RDFS.subClassOf, ORG.Organization), typed),
        1,
    )
    assert (second.rule, second.premises, second.depth) == (
        "cax-sco",
        ((ORG.Organization, RDFS.subClassOf, FOAF.Agent), organization),
        2,
    )
    assert result.max_depth == 2
    assert result.depth(typed) == 0


def test_a_transitive_broader_chain_of_three() -> None:
    ontology = turtle(
        "skos:broader rdfs:subPropertyOf skos:broaderTransitive . skos:broaderTransitive a owl:TransitiveProperty ."
    )
    broader = [(EX.a, SKOS.broader, EX.b), (EX.b, SKOS.broader, EX.c), (EX.c, SKOS.broader, EX.d)]
    one_step = {(s, SKOS.broaderTransitive, o) for s, _, o in broader}
    a_c = (EX.a, SKOS.broaderTransitive, EX.c)
    b_d = (EX.b, SKOS.broaderTransitive, EX.d)
    a_d = (EX.a, SKOS.broaderTransitive, EX.d)
    transitive = (SKOS.broaderTransitive, RDF.type, OWL.TransitiveProperty)

    result = justify(graph_of(*broader), graph_of(*one_step, a_c, b_d, a_d), ontology)

    for s, _, o in broader:
        step = result.get((s, SKOS.broaderTransitive, o))
        assert step is not None
        assert (step.rule, step.premises, step.depth) == (
            "prp-spo1",
            ((SKOS.broader, RDFS.subPropertyOf, SKOS.broaderTransitive), (s, SKOS.broader, o)),
            1,
        )
    middle = result.get(a_c)
    assert middle is not None
    assert (middle.rule, middle.premises, middle.depth) == (
        "prp-trp",
        (transitive, (EX.a, SKOS.broaderTransitive, EX.b), (EX.b, SKOS.broaderTransitive, EX.c)),
        2,
    )
    # a..d has two proofs of depth 3 (via b, or via c); the tie-break takes the premises first in N-Triples order
    longest = result.get(a_d)
    assert longest is not None
    assert (longest.rule, longest.premises, longest.depth) == (
        "prp-trp",
        (transitive, (EX.a, SKOS.broaderTransitive, EX.b), b_d),
        3,
    )
    assert result.by_rule() == {"prp-spo1": 3, "prp-trp": 3}


def test_a_symmetric_pair_ends_in_the_asserted_direction() -> None:
    ontology = turtle("skos:related a owl:SymmetricProperty .")
    asserted = (EX.a, SKOS.related, EX.b)
    other = (EX.b, SKOS.related, EX.a)

    result = justify(graph_of(asserted), graph_of(other), ontology)

    step = result.get(other)
    assert step is not None
    assert (step.rule, step.premises) == ("prp-symp", ((SKOS.related, RDF.type, OWL.SymmetricProperty), asserted))
    assert asserted not in result
    assert result.proof(other)["premises"][1] == {"triple": asserted, "origin": "asserted"}  # type: ignore[index]


def test_a_symmetric_pair_with_neither_asserted_is_not_a_proof() -> None:
    ontology = turtle("skos:related a owl:SymmetricProperty .")
    pair = [(EX.a, SKOS.related, EX.b), (EX.b, SKOS.related, EX.a)]

    result = justify(Graph(), graph_of(*pair), ontology)

    assert result.unjustified() == sorted(pair, key=lambda t: str(t[0]))
    assert len(result) == 0


def test_domain_and_range_types() -> None:
    ontology = turtle("cap:hasHashtag rdfs:domain cap:ProblemStatement ; rdfs:range cap:Hashtag .")
    tagged = (EX.subcategory1, CAP.hasHashtag, EX.tag1)
    subject_type, value_type = (EX.subcategory1, RDF.type, CAP.ProblemStatement), (EX.tag1, RDF.type, CAP.Hashtag)

    result = justify(graph_of(tagged), graph_of(subject_type, value_type), ontology)

    assert result.get(subject_type).rule == "prp-dom"  # type: ignore[union-attr]
    assert result.get(value_type).rule == "prp-rng"  # type: ignore[union-attr]
    assert result.get(value_type).premises == ((CAP.hasHashtag, RDFS.range, CAP.Hashtag), tagged)  # type: ignore[union-attr]


def test_an_inferred_triple_no_rule_explains_is_unjustified_and_check_names_it() -> None:
    ontology = turtle(CHAIN_ONTOLOGY)
    stray = (EX.material9, CAP.listedUnder, EX.subcategory9)

    result = justify(Graph(), graph_of(stray), ontology)

    assert result.unjustified() == [stray]
    with pytest.raises(UnjustifiedInference, match="material9> <.*listedUnder> <https://example.org/subcategory9>"):
        result.check(set(ontology) | {stray})


def test_check_names_a_premise_missing_from_the_dataset() -> None:
    ontology = turtle(CHAIN_ONTOLOGY)
    card_of = (EX.card1, CAP.appearanceOf, EX.material1)
    has_appearance = (EX.material1, CAP.hasAppearance, EX.card1)
    result = justify(graph_of(card_of), graph_of(has_appearance), ontology)

    result.check(set(ontology) | {card_of, has_appearance})
    with pytest.raises(UnjustifiedInference, match="card1> <.*appearanceOf> <https://example.org/material1>"):
        result.check(set(ontology) | {has_appearance})


@pytest.mark.parametrize("ontology_states_it_too", [False, True])
def test_a_dropped_intermediate_type_becomes_a_hidden_step(ontology_states_it_too: bool) -> None:
    """Also when the ontology states the asserted triple too: it is asserted, and the hidden steps start from it
    (until this session they started from the asserted triples minus the ontology's, and left `x a C`
    unjustified)."""
    also = " ex:x a ex:A ." if ontology_states_it_too else ""
    ontology = turtle("ex:A rdfs:subClassOf ex:B . ex:B rdfs:subClassOf ex:C ." + also)
    typed, dropped, kept = (EX.x, RDF.type, EX.A), (EX.x, RDF.type, EX.B), (EX.x, RDF.type, EX.C)

    result = justify(graph_of(typed), graph_of(kept), ontology)

    assert result.unjustified() == []
    assert [(step.conclusion, step.rule, step.premises) for step in result.hidden()] == [
        (dropped, "cax-sco", ((EX.A, RDFS.subClassOf, EX.B), typed))
    ]
    assert result.get(kept).premises == ((EX.B, RDFS.subClassOf, EX.C), dropped)  # type: ignore[union-attr]
    assert result.depth(kept) == 2
    result.check(set(ontology) | {typed, kept})  # the hidden premise is part of the justifications


def test_as_graph_is_deterministic_and_answers_sparql() -> None:
    ontology = turtle(CHAIN_ONTOLOGY)
    card_of = (EX.card1, CAP.appearanceOf, EX.material1)
    printed_in = (EX.card1, CAP.inProblemStatement, EX.subcategory1)
    inferred = graph_of((EX.material1, CAP.hasAppearance, EX.card1), (EX.material1, CAP.listedUnder, EX.subcategory1))

    graph = justify(graph_of(card_of, printed_in), inferred, ontology).as_graph(NS)
    again = justify(graph_of(card_of, printed_in), inferred, turtle(CHAIN_ONTOLOGY)).as_graph(NS)

    def without_blank_nodes(g: Graph) -> set[tuple[object, ...]]:
        return {tuple(None if isinstance(term, BNode) else term for term in triple) for triple in g}

    # a fresh parse gives the chain's list another blank node; every IRI stays the same
    assert without_blank_nodes(graph) == without_blank_nodes(again)
    assert len(graph) == len(again)
    rows = list(
        graph.query(
            """SELECT ?rule ?depth ?axiom ?inverse_rule ?card_graph WHERE {
                ?j rdf:subject ?m ; rdf:predicate cap:listedUnder ; cap:rule ?rule ; cap:proofDepth ?depth ;
                   rdf:_1 [ rdf:predicate ?axiom ] ; rdf:_2 [ a cap:Justification ; cap:rule ?inverse_rule ] ;
                   rdf:_3 [ cap:inGraph ?card_graph ] .
            }""",
            initNs={"cap": CAP, "rdf": RDF},
        )
    )
    assert [tuple(row) for row in rows] == [  # type: ignore[arg-type]
        (Literal("prp-spo2"), Literal(2), OWL.propertyChainAxiom, Literal("prp-inv2"), NS.graph("asserted"))
    ]
    justifications = set(graph.subjects(RDF.type, CAP.Justification))
    statements = set(graph.subjects(CAP.inGraph, None))
    assert len(justifications) == 2  # the two inferred triples
    assert len(statements) == 4  # two axioms and two asserted triples
    for j in justifications:  # rdf:_n and cap:premise name the same premises
        slots = {o for p, o in graph.predicate_objects(j) if str(p).startswith(str(RDF) + "_")}
        assert slots == set(graph.objects(j, CAP.premise))
        assert slots <= justifications | statements
    assert not any(isinstance(s, BNode) for s in graph.subjects())


def test_everything_infer_keeps_from_a_small_portfolio_is_justified() -> None:
    ontology = load_turtle_dir(ROOT / "ontology", NS)
    asserted = _small_portfolio()

    inferred = infer(asserted, ontology, NS).graph
    result = justify(asserted, inferred, ontology)

    assert len(inferred) > 10
    assert result.unjustified() == []
    result.check(set(asserted) | set(ontology) | set(inferred))
    rules = result.by_rule()
    assert {"prp-spo2", "prp-inv2", "cax-sco", "prp-spo1"} <= set(rules)


def _small_portfolio() -> Graph:
    x = Namespace(str(NS.id) + "x/")
    graph = Graph()
    for triple in [
        (x.m1, RDF.type, CAP.LearningMaterial),
        (x.c1, RDF.type, CAP.MaterialAppearance),
        (x.c1, CAP.appearanceOf, x.m1),
        (x.c1, CAP.inProblemStatement, x.ps1),
        (x.ps1, RDF.type, CAP.ProblemStatement),
        (x.ps1, SKOS.broader, x.core1),
        (x.ps1, CAP.hasHashtag, x.tag1),
        (x.core1, RDF.type, CAP.CoreChallenge),
        (x.tag1, RDF.type, CAP.Hashtag),
        (x.o1, RDF.type, ORG.FormalOrganization),
    ]:
        graph.add(triple)
    return graph
