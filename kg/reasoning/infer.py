"""Inference: OWL 2 RL (owlrl) over the ontology and the asserted data, keeping only useful entailments.

owlrl's full closure of the whole dataset is slow (about 5 s here) and mostly noise
(`x owl:sameAs x`, `owl:Thing` types, literal subjects). The rules we keep need only the
ontology and the data triples whose predicates take part in them, so owlrl runs on that
slice, and an allow-list picks the entailments that go into the inferred graph.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import owlrl
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, PROV, RDF, RDFS, SKOS
from rdflib.term import Identifier, Node

from kg.namespaces import SCHEMA, ProjectNamespaces
from kg.reasoning.rdflib_tuning import resolve_vocabulary_terms


@dataclass(frozen=True)
class InferencePolicy:
    """Which data triples feed owlrl and which entailments are kept."""

    rule_predicates: frozenset[URIRef]
    kept_predicates: frozenset[URIRef]
    type_namespaces: tuple[str, ...]

    @classmethod
    def for_namespaces(cls, ns: ProjectNamespaces) -> InferencePolicy:
        cap = ns.cap
        chains_and_inverses = {
            cap.appearanceOf,
            cap.inProblemStatement,
            cap.hasHashtag,
            cap.appearancePartner,
            cap.persona,
            cap.profileOf,
            cap.materialType,
            cap.learnMoreLink,
            cap.partOfProgramme,
            cap.followsUp,
            cap.recordedEventOf,
            cap.collaboratesWith,
            SKOS.broader,
            SKOS.topConceptOf,
            SKOS.inScheme,
            SKOS.related,
            SKOS.exactMatch,
            ORG.member,
            ORG.organization,
            ORG.originalOrganization,
            ORG.resultingOrganization,
            ORG.subOrganizationOf,
        }
        kept = {
            cap.hasAppearance,
            cap.listedUnder,
            cap.listedUnderChallenge,
            cap.taggedWith,
            cap.nationalPartner,
            cap.isNationalPartnerOf,
            cap.hasProgrammePart,
            cap.followedUpBy,
            cap.hasRecordedEvent,
            cap.collaboratesWith,  # symmetric: the other direction
            SKOS.narrower,
            SKOS.broaderTransitive,
            SKOS.narrowerTransitive,
            SKOS.hasTopConcept,
            SKOS.inScheme,
            SKOS.related,
            ORG.hasMembership,
            ORG.changedBy,
            ORG.resultedFrom,
            ORG.hasSubOrganization,
            ORG.transitiveSubOrganizationOf,
            SCHEMA.about,
            DCTERMS.subject,
            RDFS.seeAlso,
            SCHEMA.learningResourceType,
            SCHEMA.spokenByCharacter,
            PROV.used,
            PROV.wasGeneratedBy,
        }
        namespaces = (str(cap), str(SCHEMA), str(SKOS), str(ORG), str(FOAF), str(PROV), str(DCTERMS))
        return cls(frozenset(chains_and_inverses | {RDF.type}), frozenset(kept | {RDF.type}), namespaces)


@dataclass
class InferenceResult:
    graph: Graph
    input_triples: int
    closure_triples: int

    def by_predicate(self) -> Counter[str]:
        normalise = self.graph.namespace_manager.normalizeUri
        return Counter(normalise(p) for _, p, _ in self.graph if isinstance(p, URIRef))


class KeptRules(owlrl.OWLRL_Semantics):
    """OWL 2 RL without rule eq-ref.

    eq-ref adds `x owl:sameAs x` for every node, which triples the closure's size and
    time and is dropped anyway. The other equality rules still run on owl:sameAs and
    owl:differentFrom statements (the data has none; SHACL keeps it that way).
    """

    def _equality(self, triple: tuple, cycle_num: int) -> None:
        _, predicate, value = triple
        if predicate in (OWL.sameAs, OWL.differentFrom) or (predicate == RDF.type and value == OWL.AllDifferent):
            super()._equality(triple, cycle_num)


def infer(asserted: Graph, ontology: Graph, ns: ProjectNamespaces) -> InferenceResult:
    """Entailments of the kept rules that are not asserted already.

    Class membership is closed per class, not per instance: one probe individual stands in
    for all instances of a class, and its inferred types are copied to them (rule cax-sco
    gives every instance of a class the same superclasses).
    """
    resolve_vocabulary_terms()
    policy = InferencePolicy.for_namespaces(ns)
    work = Graph()
    for triple in ontology:
        work.add(triple)
    for triple in asserted:
        if triple[1] in policy.rule_predicates and triple[1] != RDF.type:
            work.add(triple)
    classes = sorted({cls for cls in asserted.objects(None, RDF.type) if isinstance(cls, Identifier)})
    probes = {cls: URIRef(f"urn:capacities:probe:{number}") for number, cls in enumerate(classes)}
    for cls, probe in probes.items():
        work.add((probe, RDF.type, cls))
    input_triples = len(work)
    before = set(work)
    owlrl.DeductiveClosure(KeptRules, axiomatic_triples=False, datatype_axioms=False).expand(work)

    inferred = Graph()
    ns.bind(inferred)
    probe_set = set(probes.values())
    for triple in work:
        if triple[0] in probe_set or triple in before or triple in asserted:
            continue
        if _keep(triple, policy, ontology):
            inferred.add(triple)
    superclasses: dict[Node, list[Node]] = {
        cls: [t for t in work.objects(probe, RDF.type) if t != cls] for cls, probe in probes.items()
    }
    for instance, instance_class in asserted.subject_objects(RDF.type):
        for superclass in superclasses.get(instance_class, ()):
            triple = (instance, RDF.type, superclass)
            if triple not in asserted and _keep(triple, policy, ontology):
                inferred.add(triple)
    return InferenceResult(inferred, input_triples, len(work))


def _keep(triple: tuple, policy: InferencePolicy, ontology: Graph) -> bool:
    subject, predicate, value = triple
    if isinstance(subject, Literal) or not isinstance(subject, URIRef) or predicate not in policy.kept_predicates:
        return False
    if subject == value or (subject, None, None) in ontology:
        return False  # reflexive noise and statements about the ontology's own terms
    if predicate == RDF.type:
        return (
            isinstance(value, URIRef)
            and str(value).startswith(policy.type_namespaces)
            and value not in {OWL.Thing, RDFS.Resource, OWL.NamedIndividual}
        )
    return isinstance(value, URIRef)
