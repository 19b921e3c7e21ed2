"""The justifications in the release's store: their quads for the build, and the check of the published graph.

`Justifications.check` checks the proofs as computed; `check_published` checks the named graph as it is
in the store (the one the dumps, the SPARQL endpoint and /api/explain serve), with the queries
kg/sparql/queries/explain/check_*.rq: every kept entailment has a justification node, every premise node is a
justification or a statement whose triple is in the graph it names, and every justification that is not a
hidden step justifies a triple of the inferred graph. A tampered or truncated graph stops the build.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from kg.namespaces import ProjectNamespaces
from kg.reasoning.justify import Justifications, UnjustifiedInference
from kg.sparql.registry import QueryRegistry

GRAPH = "justifications"  # ns.graph(GRAPH): the named graph of the justifications
CHECKS = {
    "check_unjustified": "an inferred triple has no justification in the justification graph",
    "check_premises": "a premise of a justification is not in the dataset",
    "check_conclusions": "a justification justifies a triple the inferred graph does not hold",
}


def justification_quads(justifications: Justifications, ns: ProjectNamespaces) -> Iterator[ox.Quad]:
    """`justifications.triples(ns)` as quads of the justification graph, for `load_graphs`' `extra`, made of
    pyoxigraph's terms directly (through rdflib's, the quads took twice as long), one at a time as the store
    takes them (a list of them all took a fifth longer to load at 10 times the portfolio).

    Blank nodes keep the label rdflib gives them, the label the other graphs' N-Triples carry (the chain
    axiom's list), so that a premise is the ontology's very blank node once loaded."""
    graph = ox.NamedNode(str(ns.graph(GRAPH)))
    for s, p, o in justifications.triples_of(ns, OxigraphTerms()):
        yield ox.Quad(s, p, o, graph)  # type: ignore[arg-type]


class OxigraphTerms:
    """pyoxigraph terms for `Justifications.triples`, each rdflib term converted once."""

    def __init__(self) -> None:
        self._converted: dict[Node, ox.NamedNode | ox.BlankNode | ox.Literal] = {}

    def iri(self, text: str) -> ox.NamedNode:
        return ox.NamedNode(text)

    def data(self, node: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        converted = self._converted.get(node)
        if converted is None:
            converted = self._converted[node] = _term(node)
        return converted


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


def check_published(store: ox.Store, registry: QueryRegistry) -> None:
    """Raise UnjustifiedInference naming the first triple (in N-Triples order) that breaks a check.

    The checks are anti-joins (MINUS), which Oxigraph answers by hashing: 0.2 s on the portfolio, where the
    same checks with FILTER NOT EXISTS take a minute."""
    problems: list[tuple[str, str]] = []
    for name, problem in CHECKS.items():
        solutions = store.query(registry.text(f"explain/{name}"))
        assert isinstance(solutions, ox.QuerySolutions), f"explain/{name}.rq is a SELECT"
        for solution in solutions:
            # pyoxigraph writes its terms in N-Triples
            problems.append((" ".join(str(solution[variable]) for variable in ("s", "p", "o")) + " .", problem))
    if problems:
        line, problem = min(problems)
        raise UnjustifiedInference(
            f"the justification graph does not hold ({len(problems)} problem(s)), first: {problem}: {line}"
        )
