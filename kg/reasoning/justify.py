"""Justifications: why each inferred triple holds, as an OWL 2 RL rule instance whose premises are proven.

owlrl does not say which rule made a triple, and tracing it would slow the build. Instead the inferred
graph is explained after the fact by matching rule instances, in a well-founded fixpoint:

* the asserted triples and the ontology's are proven (depth 0);
* in each round, every rule instance with at least one premise proven in the previous round and all its
  premises proven is matched (semi-naive); an inferred triple that is the conclusion of such an instance
  gets ONE justification (the least instance by rule rank, then by the premises' N-Triples, so the choice
  does not depend on set order) and is proven from the next round on;
* the rounds stop when nothing new is proven.

Because a triple is justified only by premises proven in earlier rounds, every proof ends in asserted or
ontology triples and there are no cycles (a symmetric `a related b` / `b related a` pair: the inferred
direction is justified by the asserted one, never the other way round).

Hidden steps. The allow-list of kg.reasoning.infer drops some entailments (owl:Thing types, triples about
the ontology's terms, …). First the fixpoint uses only premises in the dataset (asserted, ontology,
inferred); only if some inferred triple is still unjustified does a second fixpoint accept any conclusion
of the rules as a *hidden* step (not in the dataset, but justified like the others) and go on until those
triples are justified or nothing new is derived. Hidden steps that no kept proof uses are dropped. The
check (`Justifications.check`) accepts a premise that is in the dataset or is a hidden step, so hidden steps
belong in the justification graph (`as_graph` writes them with `cap:hidden true`). On build/current
(4,448 inferred triples) no hidden step is needed: every subclass chain of the ontology stays within the
kept namespaces, and every intermediate of a chain or an inverse is kept. An inferred triple that is also
asserted (or in the ontology) needs no justification.

Rules (names from the OWL 2 RL rule tables, premises in the tables' order, the schema premise first):
prp-spo1, prp-spo2 (chains of any length), prp-eqp1/2, prp-inv1/2, prp-symp, prp-trp, prp-dom, prp-rng,
cax-sco, cax-eqc1/2. For prp-spo2 the schema premise is `p owl:propertyChainAxiom _:list` (the list's own
triples are not repeated). No scm-* rule: instance types are explained by cax-sco steps through the
intermediate classes, which the inferred graph holds.

RDF model (a named graph of its own). A justification node reifies the inferred triple it justifies
(standard reification, no RDF-star); a premise is either another justification node (an inferred triple or a
hidden step) or a statement node (an asserted or ontology triple). IRIs are the SHA-1 of the triple's
N-Triples line, blank nodes written `[]`, so they are the same in every build:

    id:justification/{sha1}  a cap:Justification ;         # sha1 of the conclusion's N-Triples line
        rdf:subject … ; rdf:predicate … ; rdf:object … ;   # the conclusion
        cap:rule "prp-spo2" ;                              # the OWL 2 RL rule's name
        cap:proofDepth 2 ;                                 # 1 + the deepest premise's depth (asserted: 0)
        cap:premise P1, P2, P3 ;                           # every premise, for simple queries
        rdf:_1 P1 ; rdf:_2 P2 ; rdf:_3 P3 ;                # the same, in the rule table's order
        cap:hidden true .                                  # only for a step whose conclusion is not kept
    id:statement/{sha1}                                    # an asserted or ontology premise
        rdf:subject … ; rdf:predicate … ; rdf:object … ;
        cap:inGraph id:graph/asserted .                    # or id:graph/ontology

For example, a material listed under a subcategory because one of its cards is printed there:

    id:justification/5e1…  a cap:Justification ;
        rdf:subject id:material/m1 ; rdf:predicate cap:listedUnder ; rdf:object id:subcategory/1-1 ;
        cap:rule "prp-spo2" ;
        cap:proofDepth 2 ;
        cap:premise id:statement/0a9…, id:justification/7c3…, id:statement/d42… ;
        rdf:_1 id:statement/0a9… ; rdf:_2 id:justification/7c3… ; rdf:_3 id:statement/d42… .
    id:statement/0a9…
        rdf:subject cap:listedUnder ; rdf:predicate owl:propertyChainAxiom ; rdf:object _:chain ;
        cap:inGraph id:graph/ontology .
    id:justification/7c3…  a cap:Justification ;           # hasAppearance: the inverse of appearanceOf
        rdf:subject id:material/m1 ; rdf:predicate cap:hasAppearance ; rdf:object id:card/c1 ;
        cap:rule "prp-inv2" ;
        cap:proofDepth 1 ;
        cap:premise id:statement/e88…, id:statement/41b… ;
        rdf:_1 id:statement/e88… ; rdf:_2 id:statement/41b… .
    id:statement/d42…
        rdf:subject id:card/c1 ; rdf:predicate cap:inProblemStatement ; rdf:object id:subcategory/1-1 ;
        cap:inGraph id:graph/asserted .

A SPARQL query for why a triple holds: `?j rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; cap:rule ?rule ;
cap:premise ?premise`, then the same for each ?premise that is a cap:Justification.

The statement nodes carry no `rdf:type rdf:Statement`, and `rdf:object` of the chain axiom's statement is
the ontology's blank node (the release labels it canonically with the rest of the dataset).
The terms cap:Justification, cap:rule, cap:premise, cap:proofDepth, cap:hidden and cap:inGraph are declared in
ontology/capacities.ttl; the build loads the graph as id:graph/justifications (kg.reasoning.justify_store).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import Node

from kg.errors import KGError
from kg.namespaces import ProjectNamespaces

Triple = tuple[Node, Node, Node]

RULES = (
    "prp-spo1",
    "prp-eqp1",
    "prp-eqp2",
    "prp-inv1",
    "prp-inv2",
    "prp-symp",
    "prp-spo2",
    "prp-trp",
    "prp-dom",
    "prp-rng",
    "cax-sco",
    "cax-eqc1",
    "cax-eqc2",
)
_RANK = {rule: rank for rank, rule in enumerate(RULES)}
# for the loop over every proven triple: RDF.type is looked up on each use, and == on rdflib terms runs
# Python code where a set compares hashes
_TYPE = RDF.type
_TYPES = frozenset({_TYPE})


class UnjustifiedInference(KGError):
    """A kept entailment has no justification, or a justification rests on a triple outside the dataset."""

    exit_code = 5
    title = "Unjustified inference"


@dataclass(frozen=True)
class Justification:
    """One rule instance: `premises` (in the rule table's order) give `conclusion` by `rule`."""

    conclusion: Triple
    rule: str
    premises: tuple[Triple, ...]
    depth: int
    hidden: bool = False


Instance = tuple[Triple, str, tuple[Triple, ...]]
T = TypeVar("T", covariant=True)


class Terms(Protocol[T]):
    """Makes the terms of `Justifications.triples_of`: an IRI from its text, and any rdflib term as a term."""

    def iri(self, text: str) -> T: ...

    def data(self, node: Node) -> T: ...


class RdflibTerms:
    def iri(self, text: str) -> Node:
        return URIRef(text)

    def data(self, node: Node) -> Node:
        return node


class _Schema:
    """The ontology's axioms that the rules read, indexed by the predicate or class they apply to."""

    def __init__(self, ontology: Graph) -> None:
        self.super_properties: dict[Node, list[tuple[Node, Triple]]] = defaultdict(list)
        self.inverses: dict[Node, list[tuple[Node, str, Triple]]] = defaultdict(list)
        self.equivalent_properties: dict[Node, list[tuple[Node, str, Triple]]] = defaultdict(list)
        self.symmetric: dict[Node, Triple] = {}
        self.transitive: dict[Node, Triple] = {}
        self.domains: dict[Node, list[tuple[Node, Triple]]] = defaultdict(list)
        self.ranges: dict[Node, list[tuple[Node, Triple]]] = defaultdict(list)
        self.super_classes: dict[Node, list[tuple[Node, str, Triple]]] = defaultdict(list)
        # chains[p] lists (chain property, axiom triple, chain, position of p in the chain)
        self.chains: dict[Node, list[tuple[Node, Triple, tuple[Node, ...], int]]] = defaultdict(list)
        for s, p, o in ontology:
            axiom = (s, p, o)
            if p == RDFS.subPropertyOf and s != o:
                self.super_properties[s].append((o, axiom))
            elif p == OWL.inverseOf:
                self.inverses[s].append((o, "prp-inv1", axiom))
                self.inverses[o].append((s, "prp-inv2", axiom))
            elif p == OWL.equivalentProperty and s != o:
                self.equivalent_properties[s].append((o, "prp-eqp1", axiom))
                self.equivalent_properties[o].append((s, "prp-eqp2", axiom))
            elif p == RDF.type and o == OWL.SymmetricProperty:
                self.symmetric[s] = axiom
            elif p == RDF.type and o == OWL.TransitiveProperty:
                self.transitive[s] = axiom
            elif p == RDFS.domain:
                self.domains[s].append((o, axiom))
            elif p == RDFS.range:
                self.ranges[s].append((o, axiom))
            elif p == RDFS.subClassOf and s != o:
                self.super_classes[s].append((o, "cax-sco", axiom))
            elif p == OWL.equivalentClass and s != o:
                self.super_classes[s].append((o, "cax-eqc1", axiom))
                self.super_classes[o].append((s, "cax-eqc2", axiom))
            elif p == OWL.propertyChainAxiom:
                chain = tuple(Collection(ontology, o))
                for position, step in enumerate(chain):
                    self.chains[step].append((s, axiom, chain, position))
        self.joined = frozenset(self.chains) | frozenset(self.transitive)


class _Proven:
    """Proven data triples of the predicates that rules join on (chains, transitivity), by subject and object."""

    def __init__(self, joined: frozenset[Node]) -> None:
        self.joined = joined
        self.by_subject: dict[Node, dict[Node, list[Node]]] = defaultdict(lambda: defaultdict(list))
        self.by_object: dict[Node, dict[Node, list[Node]]] = defaultdict(lambda: defaultdict(list))

    def add(self, triple: Triple) -> None:
        s, p, o = triple
        if p in self.joined:
            self.by_subject[p][s].append(o)
            self.by_object[p][o].append(s)

    def objects(self, s: Node, p: Node) -> list[Node]:
        return self.by_subject[p].get(s, []) if p in self.by_subject else []

    def subjects(self, p: Node, o: Node) -> list[Node]:
        return self.by_object[p].get(o, []) if p in self.by_object else []


def _instances(triple: Triple, schema: _Schema, proven: _Proven) -> Iterator[Instance]:
    """Every rule instance in which `triple` is a data premise and the other premises are proven."""
    s, p, o = triple
    resource = not isinstance(o, Literal)
    for parent, axiom in schema.super_properties.get(p, ()):
        yield (s, parent, o), "prp-spo1", (axiom, triple)
    for other, rule, axiom in schema.equivalent_properties.get(p, ()):
        yield (s, other, o), rule, (axiom, triple)
    if resource:
        for inverse, rule, axiom in schema.inverses.get(p, ()):
            yield (o, inverse, s), rule, (axiom, triple)
        if p in schema.symmetric:
            yield (o, p, s), "prp-symp", (schema.symmetric[p], triple)
        for chain_property, axiom, chain, position in schema.chains.get(p, ()):
            for start, left in _walk(s, chain[:position][::-1], proven.subjects, backwards=True):
                for end, right in _walk(o, chain[position + 1 :], proven.objects, backwards=False):
                    yield (start, chain_property, end), "prp-spo2", (axiom, *left, triple, *right)
        if p in schema.transitive:
            axiom = schema.transitive[p]
            for after in proven.objects(o, p):
                yield (s, p, after), "prp-trp", (axiom, triple, (o, p, after))
            for before in proven.subjects(p, s):
                yield (before, p, o), "prp-trp", (axiom, (before, p, s), triple)
        for cls, axiom in schema.ranges.get(p, ()):
            yield (o, _TYPE, cls), "prp-rng", (axiom, triple)
    for cls, axiom in schema.domains.get(p, ()):
        yield (s, _TYPE, cls), "prp-dom", (axiom, triple)
    if p in _TYPES:
        for parent, rule, axiom in schema.super_classes.get(o, ()):
            yield (s, _TYPE, parent), rule, (axiom, triple)


def _walk(
    node: Node, steps: tuple[Node, ...], neighbours: Callable[..., list[Node]], *, backwards: bool
) -> Iterator[tuple[Node, list[Triple]]]:
    """Paths from `node` along `steps` through proven triples: (far end, the path's triples in chain order)."""
    if not steps:
        yield node, []
        return
    step, rest = steps[0], steps[1:]
    if backwards:
        for previous in neighbours(step, node):
            for far, path in _walk(previous, rest, neighbours, backwards=True):
                yield far, [*path, (previous, step, node)]
    else:
        for following in neighbours(node, step):
            for far, path in _walk(following, rest, neighbours, backwards=False):
                yield far, [(node, step, following), *path]


def _ntriples(triple: Triple) -> str:
    return f"{_term_ntriples(triple[0])} {_term_ntriples(triple[1])} {_term_ntriples(triple[2])} ."


def _term_ntriples(term: Node) -> str:
    if type(term) is URIRef:  # what URIRef.n3() writes for an IRI the graph already holds, without checking it again
        return f"<{term}>"
    # blank nodes get no label: their labels change from one parse to the next
    return "[]" if isinstance(term, BNode) else term.n3()


def _choice_key(instance: Instance) -> tuple[int, tuple[str, ...]]:
    return _RANK[instance[1]], tuple(_ntriples(premise) for premise in instance[2])


class Justifications:
    """A justification for each kept inferred triple that has one, and the hidden steps they use."""

    def __init__(
        self,
        steps: dict[Triple, Justification],
        kept: frozenset[Triple],
        asserted: frozenset[Triple],
        ontology: frozenset[Triple],
    ) -> None:
        self._steps = steps
        self.kept = kept
        self._asserted = asserted
        self._ontology = ontology

    def __len__(self) -> int:
        return len(self._steps)

    def __contains__(self, triple: object) -> bool:
        return triple in self._steps

    def __iter__(self) -> Iterator[Justification]:
        return iter(sorted(self._steps.values(), key=lambda step: _ntriples(step.conclusion)))

    def get(self, triple: Triple) -> Justification | None:
        return self._steps.get(triple)

    def unjustified(self) -> list[Triple]:
        """Kept inferred triples with no justification, in N-Triples order."""
        return sorted((t for t in self.kept if t not in self._steps and t not in self._asserted), key=_ntriples)

    def hidden(self) -> list[Justification]:
        return [step for step in self if step.hidden]

    def by_rule(self) -> Counter[str]:
        return Counter(step.rule for step in self._steps.values())

    def depth(self, triple: Triple) -> int:
        """0 for an asserted or ontology triple, else 1 + the depth of its deepest premise."""
        step = self._steps.get(triple)
        if step is not None:
            return step.depth
        if triple in self._asserted or triple in self._ontology:
            return 0
        raise KeyError(triple)

    @property
    def max_depth(self) -> int:
        return max((step.depth for step in self._steps.values()), default=0)

    def proof(self, triple: Triple) -> dict[str, object]:
        """The proof tree of `triple` as nested dicts (leaves: asserted or ontology triples)."""
        step = self._steps.get(triple)
        node: dict[str, object] = {"triple": triple, "origin": self._origin(triple)}
        if step is not None:
            node["rule"] = step.rule
            node["premises"] = [self.proof(premise) for premise in step.premises]
        return node

    def check(self, dataset_triples: Container[Triple]) -> None:
        """Raise UnjustifiedInference naming a kept triple without justification, or a premise outside the
        dataset (a hidden step counts as part of the justification graph, not as missing)."""
        missing = self.unjustified()
        if missing:
            raise UnjustifiedInference(
                f"{len(missing)} inferred triple(s) have no justification, first: {_ntriples(missing[0])}"
            )
        for step in self:
            for premise in step.premises:
                if premise in dataset_triples:
                    continue
                hidden = self._steps.get(premise)
                if hidden is None or not hidden.hidden:
                    raise UnjustifiedInference(
                        f"the justification of {_ntriples(step.conclusion)} ({step.rule}) has a premise that is "
                        f"not in the dataset: {_ntriples(premise)}"
                    )

    def triples(self, ns: ProjectNamespaces) -> Iterator[Triple]:
        """The justifications in the RDF model of the module docstring, justification by justification."""
        return self.triples_of(ns, RdflibTerms())

    def triples_of(self, ns: ProjectNamespaces, terms: Terms[T]) -> Iterator[tuple[T, T, T]]:
        """`triples` made of `terms`' terms (kg.reasoning.justify_store makes pyoxigraph's)."""
        iri, data = terms.iri, terms.data
        prefix = str(ns.id)
        type_, subject, predicate, object_ = (data(term) for term in (RDF.type, RDF.subject, RDF.predicate, RDF.object))
        justification_class, rule_property, depth_property, premise_property, hidden_property, in_graph = (
            data(term)
            for term in (
                ns.cap.Justification,
                ns.cap.rule,
                ns.cap.proofDepth,
                ns.cap.premise,
                ns.cap.hidden,
                ns.cap.inGraph,
            )
        )
        graphs = {"asserted": data(ns.graph("asserted")), "ontology": data(ns.graph("ontology"))}
        steps = self._steps.values()  # in any order: the node names come from the triples, not from the order
        slots = [
            data(RDF[f"_{position}"]) for position in range(1, 1 + max((len(s.premises) for s in steps), default=0))
        ]
        rules = {rule: data(Literal(rule)) for rule in RULES}
        depths: dict[int, Any] = {}
        hidden = data(Literal(True))
        nodes: dict[Triple, Any] = {}  # a premise is often shared: hash it once

        def node_of(triple: Triple, kind: str) -> Any:
            node = nodes.get(triple)
            if node is None:
                node = nodes[triple] = iri(f"{prefix}{kind}/{_sha1(triple)}")
            return node

        for step in steps:
            node = node_of(step.conclusion, "justification")
            yield node, type_, justification_class
            yield node, subject, data(step.conclusion[0])
            yield node, predicate, data(step.conclusion[1])
            yield node, object_, data(step.conclusion[2])
            yield node, rule_property, rules[step.rule]
            if step.depth not in depths:
                depths[step.depth] = data(Literal(step.depth))
            yield node, depth_property, depths[step.depth]
            if step.hidden:
                yield node, hidden_property, hidden
            for slot, premise in zip(slots, step.premises, strict=False):
                if premise in self._steps:
                    premise_node = node_of(premise, "justification")
                elif premise in nodes:
                    premise_node = nodes[premise]
                else:
                    premise_node = node_of(premise, "statement")
                    yield premise_node, subject, data(premise[0])
                    yield premise_node, predicate, data(premise[1])
                    yield premise_node, object_, data(premise[2])
                    yield premise_node, in_graph, graphs[self._origin(premise)]
                yield node, premise_property, premise_node
                yield node, slot, premise_node

    def as_graph(self, ns: ProjectNamespaces) -> Graph:
        """`triples` in an rdflib graph (for a bulk load into the store, `triples` is faster)."""
        graph = Graph()
        ns.bind(graph)
        for triple in self.triples(ns):
            graph.add(triple)
        return graph

    def _origin(self, triple: Triple) -> str:
        if triple in self._asserted:
            return "asserted"
        if triple in self._ontology:
            return "ontology"
        step = self._steps.get(triple)
        if step is not None and step.hidden:
            return "hidden"
        return "inferred"


def _sha1(triple: Triple) -> str:
    return hashlib.sha1(_ntriples(triple).encode("utf-8")).hexdigest()


def justify(asserted: Graph, inferred: Graph, ontology: Graph) -> Justifications:
    """Justify every triple of `inferred` by OWL 2 RL rule instances over the three graphs (see the module)."""
    schema = _Schema(ontology)
    asserted_triples = frozenset(asserted)
    ontology_triples = frozenset(ontology)
    kept = frozenset(inferred)
    steps: dict[Triple, Justification] = {}
    depth: dict[Triple, int] = {}  # of the triples derived so far; an asserted or ontology triple's is 0
    given = (asserted_triples, ontology_triples)
    targets = set(kept - asserted_triples - ontology_triples)

    proven = _Proven(schema.joined)
    _fixpoint(asserted_triples, schema, proven, given, depth, steps, targets, hidden=False)
    if targets:
        # restart from everything proven, now deriving hidden steps too
        _fixpoint([*asserted_triples, *depth], schema, None, given, depth, steps, targets, hidden=True)
        _drop_unused_hidden(steps, kept)
    return Justifications(steps, kept, asserted_triples, ontology_triples)


def _fixpoint(
    first: Iterable[Triple],
    schema: _Schema,
    proven: _Proven | None,
    given: tuple[frozenset[Triple], ...],
    depth: dict[Triple, int],
    steps: dict[Triple, Justification],
    targets: set[Triple],
    *,
    hidden: bool,
) -> None:
    """Semi-naive rounds: fire the rules on the triples proven last round, prove what they conclude.

    Without `hidden`, only triples in `targets` are proven (none of them is given or derived); with it, any
    conclusion is that is neither (a hidden step unless it is a target). `proven` None: rebuild the join index
    from `first`.
    """
    if proven is None:
        proven = _Proven(schema.joined)
    delta = list(first)
    while delta and (targets or hidden):
        for triple in delta:
            proven.add(triple)
        candidates: dict[Triple, list[Instance]] = defaultdict(list)
        for triple in delta:
            for instance in _instances(triple, schema, proven):
                conclusion = instance[0]
                if hidden:
                    if conclusion in depth or any(conclusion in triples for triples in given):
                        continue
                elif conclusion not in targets:
                    continue
                if not isinstance(conclusion[0], Literal):
                    candidates[conclusion].append(instance)
        delta = []
        for conclusion, instances in candidates.items():
            conclusion, rule, premises = min(instances, key=_choice_key) if len(instances) > 1 else instances[0]
            level = 1 + max(depth.get(premise, 0) for premise in premises)
            is_target = conclusion in targets
            steps[conclusion] = Justification(conclusion, rule, premises, level, hidden=not is_target)
            targets.discard(conclusion)
            delta.append(conclusion)
        for conclusion in delta:
            depth[conclusion] = steps[conclusion].depth
        if hidden and not targets:
            break


def _drop_unused_hidden(steps: dict[Triple, Justification], kept: frozenset[Triple]) -> None:
    used: set[Triple] = set()
    pending = [t for t in kept if t in steps]
    while pending:
        triple = pending.pop()
        if triple in used:
            continue
        used.add(triple)
        pending.extend(premise for premise in steps[triple].premises if premise in steps)
    for triple in [t for t, step in steps.items() if step.hidden and t not in used]:
        del steps[triple]
