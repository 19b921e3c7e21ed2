"""Shared state of one mapping run: the graph, the namespaces, provenance helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.namespaces import DCTERMS, PROV, RDF, XSD, ProjectNamespaces
from kg.sources.bundle import Sources
from kg.sources.cells import slugify, slugify_untransliterated
from kg.sources.curation import Curation
from kg.sources.text import Span


@dataclass
class Finding:
    """Something the importer noticed that an editor should see (not a SHACL result)."""

    severity: str  # Violation | Warning | Info
    message: str
    focus: str | None = None
    source: str | None = None  # "file:first-last"
    group: str | None = None  # subcategory notation or section name, for grouping in the report


@dataclass
class MappingContext:
    sources: Sources
    curation: Curation
    ns: ProjectNamespaces
    graph: Graph = field(default_factory=Graph)
    findings: list[Finding] = field(default_factory=list)
    used_ids: set[URIRef] = field(default_factory=set)
    moved_slugs: dict[str, str] = field(default_factory=dict)  # segment minted before transliteration → now
    blank_nodes: int = field(default=0, init=False)  # how many `node` has made

    def __post_init__(self) -> None:
        self.ns.bind(self.graph)
        self.cap = self.ns.cap
        self.id = self.ns.id

    # -- triples ------------------------------------------------------------------

    def add(
        self,
        subject: Node,
        predicate: URIRef,
        value: Node | str | int | None,
        *,
        lang: str | None = None,
        datatype: URIRef | None = None,
    ) -> None:
        """Add one statement; plain Python values become literals, None adds nothing."""
        if value is None or value == "":
            return
        if not isinstance(value, Node):
            value = Literal(value, lang=lang) if lang else Literal(value, datatype=datatype)
        self.graph.add((subject, predicate, value))

    def typed(self, subject: URIRef, *classes: URIRef) -> URIRef:
        for cls in classes:
            self.graph.add((subject, RDF.type, cls))
        return subject

    def mint(self, path: str) -> URIRef:
        return self.id[path]

    def unique(self, path: str) -> URIRef:
        """A new IRI under `path`, suffixed -2, -3 … if already used in this run."""
        candidate, number = self.id[path], 1
        while candidate in self.used_ids:
            number += 1
            candidate = self.id[f"{path}-{number}"]
        self.used_ids.add(candidate)
        return candidate

    def node(self) -> BNode:
        """A new blank node, labelled by the order it was made in (node1, node2 …), not at random.

        The build relabels blank nodes canonically before it versions and writes the dataset
        (kg.release.dataset.load_graphs); these labels keep what names them before that, the
        validation report, the same from one run to the next.
        """
        self.blank_nodes += 1
        return BNode(f"node{self.blank_nodes}")

    # -- provenance ---------------------------------------------------------------

    def source_iri(self, file_name: str) -> URIRef:
        return self.id["source/" + file_name]

    def locate(self, subject: Node, file_name: str, span: Span, derived_from: URIRef | None = None) -> None:
        """Where a resource was read: RFC 5147 line range, first/last line, section or source."""
        locator = f"{self.source_iri(file_name)}#{span.rfc5147()}"
        self.add(subject, self.cap.sourceLocator, Literal(locator, datatype=XSD.anyURI))
        self.add(subject, self.cap.firstLine, Literal(span.first, datatype=XSD.integer))
        self.add(subject, self.cap.lastLine, Literal(span.last, datatype=XSD.integer))
        self.add(subject, PROV.wasDerivedFrom, derived_from or self.source_iri(file_name))

    def decision(self, subject: Node, note: str | None) -> None:
        if note:
            self.add(subject, self.cap.curationDecision, " ".join(note.split()), lang="en")

    def finding(
        self,
        severity: str,
        message: str,
        *,
        focus: Node | None = None,
        source: str | None = None,
        group: str | None = None,
    ) -> None:
        self.findings.append(Finding(severity, message, str(focus) if focus is not None else None, source, group))

    def text(self, subject: Node, predicate: URIRef, value: str | None) -> None:
        """English prose from the portfolio."""
        if value:
            self.add(subject, predicate, value, lang="en")

    def title(self, subject: Node, value: str) -> None:
        self.text(subject, DCTERMS.title, value)

    def slug(self, text: str) -> str:
        """The IRI segment for a printed name; remembers the one minted before letters were transliterated
        (Łódź: "odz" then, "lodz" now) so that the old IRI can answer with a redirect (kg.rdf.redirects)."""
        slug, before = slugify(text), slugify_untransliterated(text)
        if before != slug:
            self.moved_slugs[before] = slug
        return slug
