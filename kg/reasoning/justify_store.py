"""The justifications in the release's store: their quads for the build, and the check of the published graph.

`Justifications.check` checks the proofs as computed; `check_published` checks the named graph as it is
in the store (the one the dumps, the SPARQL endpoint and /api/explain serve), with the queries of
a reading of its quads: every kept entailment has a justification node, every premise node is a
justification or a statement whose triple is in the graph it names, and every justification that is not a
hidden step justifies a triple of the inferred graph. A tampered or truncated graph stops the build.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from kg.namespaces import ProjectNamespaces
from kg.reasoning.justify import Triple, UnjustifiedInference

GRAPH = "justifications"  # ns.graph(GRAPH): the named graph of the justifications
CHECKS = {
    "check_unjustified": "an inferred triple has no justification in the justification graph",
    "check_premises": "a premise of a justification is not in the dataset",
    "check_conclusions": "a justification justifies a triple the inferred graph does not hold",
}


def justification_quads(triples: Iterable[Triple], ns: ProjectNamespaces) -> list[ox.Quad]:
    """`Justifications.triples(ns)` as quads of the justification graph, for `load_graphs`' `extra`.

    Blank nodes keep the label rdflib gives them, the label the other graphs' N-Triples carry (the chain
    axiom's list), so that a premise is the ontology's very blank node once loaded."""
    terms: dict[Node, ox.NamedNode | ox.BlankNode | ox.Literal] = {}
    graph = ox.NamedNode(str(ns.graph(GRAPH)))

    def term(node: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        converted = terms.get(node)
        if converted is None:
            converted = terms[node] = _term(node)
        return converted

    return [ox.Quad(term(s), term(p), term(o), graph) for s, p, o in triples]  # type: ignore[arg-type]


def _term(node: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    if isinstance(node, Literal):
        if node.language:
            return ox.Literal(str(node), language=node.language)
        if node.datatype is not None:
            return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
        return ox.Literal(str(node))
    raise TypeError(f"not an RDF term: {node!r}")


def check_published(store: ox.Store, ns: ProjectNamespaces) -> None:
    """Raise UnjustifiedInference naming the first triple (in N-Triples order) that breaks a check.

    Read from the store's quads, not with SPARQL: the premises' negated joins take a minute in Oxigraph."""
    rdf, cap = "http://www.w3.org/1999/02/22-rdf-syntax-ns#", str(ns.cap)
    graph = ox.NamedNode(str(ns.graph(GRAPH)))
    fields: dict[object, dict[str, list[object]]] = defaultdict(lambda: defaultdict(list))
    for quad in store.quads_for_pattern(None, None, None, graph):
        fields[quad.subject][quad.predicate.value].append(quad.object)
    graphs = {name: ox.NamedNode(str(ns.graph(name))) for name in ("asserted", "ontology", "inferred")}

    def triple_of(node: object) -> tuple[object, object, object] | None:
        about = fields.get(node, {})
        parts = [about.get(rdf + name, []) for name in ("subject", "predicate", "object")]
        return (parts[0][0], parts[1][0], parts[2][0]) if all(len(part) == 1 for part in parts) else None

    held = {
        name: {(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, iri)}
        for name, iri in graphs.items()
    }

    def holds(triple: tuple[object, object, object], name: str) -> bool:
        return triple in held[name]

    problems: list[tuple[str, str]] = []
    justified = set()
    for node, about in fields.items():
        if ox.NamedNode(cap + "Justification") not in about.get(rdf + "type", []):
            continue
        conclusion = triple_of(node)
        if conclusion is None or len(about.get(cap + "rule", [])) != 1:
            problems.append((_line((node, ox.NamedNode(cap + "rule"), ox.Literal("?"))), CHECKS["check_conclusions"]))
            continue
        justified.add(conclusion)
        if ox.Literal(True) not in about.get(cap + "hidden", []) and not holds(conclusion, "inferred"):
            problems.append((_line(conclusion), CHECKS["check_conclusions"]))
        for premise in about.get(cap + "premise", []):
            if ox.NamedNode(cap + "Justification") in fields.get(premise, {}).get(rdf + "type", []):
                continue
            stated = triple_of(premise)
            named = fields.get(premise, {}).get(cap + "inGraph", [])
            where = [name for name in ("asserted", "ontology") if graphs[name] in named]
            if stated is None or len(named) != 1 or not where or not holds(stated, where[0]):
                shown = stated or (premise, ox.NamedNode(cap + "premise"), premise)
                problems.append((_line(shown), CHECKS["check_premises"]))
    for triple in held["inferred"]:
        if triple not in justified and not holds(triple, "asserted") and not holds(triple, "ontology"):
            problems.append((_line(triple), CHECKS["check_unjustified"]))
    if problems:
        line, problem = min(problems)
        raise UnjustifiedInference(
            f"the justification graph does not hold ({len(problems)} problem(s)), first: {problem}: {line}"
        )


def _line(triple: tuple[object, object, object]) -> str:
    return " ".join(str(term) for term in triple) + " ."  # pyoxigraph writes its terms in N-Triples
