"""The gate: SHACL on a change and what it touches, not on the whole graph.

The data validated is the graph as the change would leave it, cut down to the resources the change touches
(the subjects it adds to, changes or removes, and the resources its triples point to), their links in and
out, the descriptions of the resources those links reach, and one step further along those descriptions
(a card's subcategory notation, a problem statement's type), with the ontology for subclasses. Only
results about touched resources are reported; about a resource the change only points to, only the results
the change brings (a warning it had before is not the contributor's).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS
from rdflib.term import Node

from kg.changes.model import NEW, Change, Triple, is_new
from kg.namespaces import SH, ProjectNamespaces
from kg.reasoning.rdflib_tuning import parse_each_query_once
from kg.reasoning.validate import SEVERITIES

# a change set the gate pretends exists, so that new resources are judged as they will be once approved
PENDING_CHANGE_SET = URIRef(NEW + "pending-change-set")
_SKOLEM = "urn:x-gate-bnode:"  # blank nodes as IRIs, so that a result names the same node in data and report


@dataclass
class Finding:
    severity: str  # "Violation", "Warning" or "Info"
    focus: str  # the IRI, or for a blank node a label saying what it is
    path: str | None  # the property's IRI
    value: str | None
    message: str
    shape: str | None = None
    node: Node | None = field(default=None, repr=False)  # the focus as a term of the change

    def describe(self) -> str:
        path = f" {self.path}:" if self.path else ""
        return f"{self.severity}: {self.focus}{path} {self.message}"


@dataclass
class GateReport:
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    triples: int = 0  # in the graph validated

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "Violation"]

    @property
    def conforms(self) -> bool:
        return not self.violations


class _View:
    """The graph as the change leaves it, read triple pattern by triple pattern (the graph is not copied)."""

    def __init__(self, current: Graph, change: Change) -> None:
        self.current = current
        self.removed = change.removed
        self.out_added: dict[Node, set[Triple]] = defaultdict(set)
        self.in_added: dict[Node, set[Triple]] = defaultdict(set)
        for triple in change.added:
            self.out_added[triple[0]].add(triple)
            self.in_added[triple[2]].add(triple)

    def out(self, node: Node) -> set[Triple]:
        kept = {t for t in self.current.triples((node, None, None)) if t not in self.removed}
        return kept | self.out_added.get(node, set())

    def into(self, node: Node) -> set[Triple]:
        kept = {t for t in self.current.triples((None, None, node)) if t not in self.removed}
        return kept | self.in_added.get(node, set())


def touched(change: Change) -> tuple[set[Node], set[Node]]:
    """The subjects the change adds to, changes or removes; and the resources it links (or unlinks) them to."""
    subjects = change.subjects
    objects = {
        o
        for _, p, o in change.added | change.removed
        if p != RDF.type and not isinstance(o, Literal) and o not in subjects
    }
    return subjects, objects


def neighbourhood(
    view: _View,
    subjects: set[Node],
    objects: set[Node] = frozenset(),  # type: ignore[assignment]
    inverse: dict[Node, bool] | None = None,
) -> Graph:
    """The subjects' links in and out and the descriptions they reach, two steps out; for the resources the
    change only points to, their own description and the links in that the shapes follow backwards (`inverse`,
    with the types of what links, for sh:class) and no further: a country has hundreds of links in."""
    graph = Graph()
    first: set[Node] = set()
    for node in subjects:
        for triple in view.out(node) | view.into(node):
            graph.add(triple)
            first.update(term for term in (triple[0], triple[2]) if not isinstance(term, Literal))
    for node in objects - subjects:
        for triple in view.out(node):
            graph.add(triple)
            if not isinstance(triple[2], Literal):
                first.add(triple[2])
        for triple in view.into(node):
            if inverse is not None and triple[1] not in inverse:
                continue
            graph.add(triple)
            if inverse is None or inverse[triple[1]]:
                # the types of what links to it, for sh:class on the inverse path; only then, since a typed
                # node becomes a focus node of its class's shapes, and validating it costs time for nothing
                graph.addN((*kind, graph) for kind in view.out(triple[0]) if kind[1] == RDF.type)
    second: set[Node] = set()
    for node in first - subjects - objects:
        for triple in view.out(node):
            graph.add(triple)
            if not isinstance(triple[2], Literal):
                second.add(triple[2])
    for node in second - first - subjects - objects:
        for triple in view.out(node):
            graph.add(triple)
    return graph


def check(change: Change, current: Graph, shapes: Graph, ontology: Graph, ns: ProjectNamespaces) -> GateReport:
    """SHACL results of `change` applied to the asserted graph `current`, about what the change touches."""
    started = time.perf_counter()
    change = _pending_provenance(change, ns)
    subjects, objects = touched(change)
    after = neighbourhood(_View(current, change), subjects, objects, _inverse_predicates(shapes))
    findings = _validate(after, shapes, ontology, subjects | objects, ns)
    brought = [f for f in findings if f.node in subjects]
    linked = [f for f in findings if f.node not in subjects]
    if linked:
        linked_nodes = {f.node for f in linked if f.node is not None}
        # the linked resources as subjects: more of their context than the change's own check read, never less
        before = neighbourhood(_View(current, Change()), linked_nodes)
        known = {_key(f) for f in _validate(before, shapes, ontology, linked_nodes, ns)}
        brought += [f for f in linked if _key(f) not in known]
    brought = [f for f in brought if f.node != PENDING_CHANGE_SET]
    brought.sort(key=lambda f: (f.severity, f.focus, f.path or "", f.message, f.value or ""))
    return GateReport(findings=brought, seconds=time.perf_counter() - started, triples=len(after))


def _pending_provenance(change: Change, ns: ProjectNamespaces) -> Change:
    """Before approval a new resource has no change set; give it a pending one, so that the shapes judge it as
    a contributed resource (no source lines) rather than as one read from a source text."""
    generated = {s for s, p, _ in change.added if p == PROV.wasGeneratedBy}
    new = {s for s, _, _ in change.added if is_new(s)} - generated
    if not new:
        return change
    extra = {(s, PROV.wasGeneratedBy, PENDING_CHANGE_SET) for s in new}
    extra.add((PENDING_CHANGE_SET, RDF.type, ns.cap.ChangeSet))
    return Change(added=change.added | extra, removed=change.removed)


def _validate(data: Graph, shapes: Graph, ontology: Graph, focus: set[Node], ns: ProjectNamespaces) -> list[Finding]:
    skolem: dict[Node, URIRef] = {
        node: URIRef(_SKOLEM + str(node)) for node in data.all_nodes() if isinstance(node, BNode)
    }
    back: dict[Node, Node] = {iri: node for node, iri in skolem.items()}
    if skolem:
        data = _relabelled(data, skolem)
    with parse_each_query_once():
        _, results, _ = pyshacl.validate(
            data_graph=data,
            shacl_graph=shapes,
            ont_graph=_subclasses(ontology),
            inference="none",
            allow_warnings=True,
            advanced=True,
            abort_on_first=False,
            meta_shacl=False,
        )
    findings = []
    for result in results.subjects(SH.focusNode):
        node = results.value(result, SH.focusNode)
        node = back.get(node, node)
        if node not in focus:
            continue
        value = results.value(result, SH.value)
        value = back.get(value, value)
        path = results.value(result, SH.resultPath)
        message = results.value(result, SH.resultMessage)
        shape = results.value(result, SH.sourceShape)
        findings.append(
            Finding(
                severity=SEVERITIES.get(results.value(result, SH.resultSeverity), "Violation"),
                focus=_label(node, data, skolem),
                path=str(path) if isinstance(path, URIRef) else None,
                value=str(value) if value is not None else None,
                message=str(message) if message is not None else "does not conform",
                shape=str(shape) if isinstance(shape, URIRef) else None,
                node=node,
            )
        )
    return findings


def _relabelled(data: Graph, skolem: dict[Node, URIRef]) -> Graph:
    graph = Graph()
    for triple in data:
        graph.add(tuple(skolem.get(term, term) for term in triple))  # type: ignore[arg-type]
    return graph


def _label(node: Node | None, data: Graph, skolem: dict[Node, URIRef]) -> str:
    """An IRI as it is; a blank node as "new <class> “title”", which says more to a contributor than _:b0."""
    if not isinstance(node, BNode):
        return str(node)
    iri = skolem.get(node, node)
    kinds = sorted(str(t).rsplit("#", 1)[-1].rsplit("/", 1)[-1] for t in data.objects(iri, RDF.type))
    title = data.value(iri, DCTERMS.title)
    return "new " + (" ".join(kinds) or "resource") + (f" “{title}”" if title is not None else f" _:{node}")


def _key(finding: Finding) -> tuple[str | None, ...]:
    """What makes a result the same one as before: not its message, which a SPARQL constraint may word from
    what the change added (a warning on a material that lists its cards' year cells is still that warning)."""
    return (str(finding.node), finding.severity, finding.path, finding.value, finding.shape)


# -- speed: what makes SHACL on a few hundred triples cost more than the triples ----------------------

_INVERSE: dict[tuple[int, int], dict[Node, bool]] = {}


def _inverse_predicates(shapes: Graph) -> dict[Node, bool]:
    """The properties some shape follows backwards (sh:inversePath), each with whether such a shape checks the
    class of what links (sh:class). cap:appearanceOf, which the SPARQL constraints on materials also follow
    backwards, is one of them."""
    key = (id(shapes), len(shapes))
    if key not in _INVERSE:
        found: dict[Node, bool] = {}
        for path, predicate in shapes.subject_objects(SH.inversePath):
            if isinstance(predicate, URIRef):
                typed = any((shape, SH["class"], None) in shapes for shape in shapes.subjects(SH.path, path))
                found[predicate] = found.get(predicate, False) or typed
        _INVERSE.clear()
        _INVERSE[key] = found
    return _INVERSE[key]


_SUBCLASSES: dict[tuple[int, int], Graph] = {}


def _subclasses(ontology: Graph) -> Graph:
    """The ontology's subclass axioms: all that sh:class and sh:targetClass read of it, without cloning the
    rest into every validation."""
    key = (id(ontology), len(ontology))
    if key not in _SUBCLASSES:
        graph = Graph()
        for triple in ontology.triples((None, RDFS.subClassOf, None)):
            graph.add(triple)
        _SUBCLASSES.clear()  # one ontology at a time
        _SUBCLASSES[key] = graph
    return _SUBCLASSES[key]
