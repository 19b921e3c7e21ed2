"""Validation: SHACL shapes over the asserted graph (pySHACL).

Violations stop the build; warnings and infos become the data-quality report. Every result
carries the source lines of its focus node, so an editor can find the text to fix.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyshacl
from rdflib import Graph, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kg.errors import SchemaFileError
from kg.namespaces import SH, ProjectNamespaces
from kg.reasoning.rdflib_tuning import parse_each_query_once

SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


def load_turtle_dir(directory: Path, ns: ProjectNamespaces) -> Graph:
    """Parse every Turtle file under `directory`; a syntax error names the file and line."""
    graph = Graph()
    ns.bind(graph)
    files = sorted(directory.rglob("*.ttl"))
    if not files:
        raise SchemaFileError("no Turtle (.ttl) files", file=directory)
    for path in files:
        try:
            graph.parse(
                data=ns.rebase(path.read_text(encoding="utf-8")), format="turtle", publicID=path.resolve().as_uri()
            )
        except Exception as exc:  # rdflib raises several exception types for bad Turtle
            match = re.search(r"line (\d+)", str(exc))
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SchemaFileError(
                f"invalid Turtle: {detail}", file=path.name, line=int(match.group(1)) if match else None
            ) from exc
    return graph


@dataclass
class ValidationResult:
    severity: str
    focus: str
    path: str | None
    message: str
    value: str | None
    shape: str | None
    lines: str | None = None  # "file:first-last" of the focus node
    group: str | None = None  # subcategory notation the focus belongs to, when known

    def describe(self) -> str:
        where = f" ({self.lines})" if self.lines else ""
        path = f" {self.path}:" if self.path else ""
        return f"{self.severity}: {self.focus}{path} {self.message}{where}"


@dataclass
class ValidationReport:
    results: list[ValidationResult] = field(default_factory=list)

    @property
    def violations(self) -> list[ValidationResult]:
        return [r for r in self.results if r.severity == "Violation"]

    @property
    def conforms(self) -> bool:
        return not self.violations

    def counts(self) -> Counter[str]:
        return Counter(r.severity for r in self.results)


def validate(data: Graph, shapes: Graph, ontology: Graph, ns: ProjectNamespaces) -> ValidationReport:
    """Run the shapes over the asserted data, the ontology supplying subclass axioms."""
    with parse_each_query_once():
        _, results_graph, _ = pyshacl.validate(
            data_graph=data,
            shacl_graph=shapes,
            ont_graph=ontology,
            inference="none",
            allow_warnings=True,
            advanced=True,
            abort_on_first=False,
            meta_shacl=False,
        )
    report = ValidationReport()
    locate = _Locator(data, ns)
    for result in results_graph.subjects(predicate=SH.focusNode):
        severity = SEVERITIES.get(results_graph.value(result, SH.resultSeverity), "Violation")
        focus = results_graph.value(result, SH.focusNode)
        path = results_graph.value(result, SH.resultPath)
        value = results_graph.value(result, SH.value)
        message = results_graph.value(result, SH.resultMessage)
        shape = results_graph.value(result, SH.sourceShape)
        report.results.append(
            ValidationResult(
                severity=severity,
                focus=_short(focus, data),
                path=_short(path, results_graph) if path is not None else None,
                message=str(message) if message is not None else "does not conform",
                value=_short(value, data) if value is not None else None,
                shape=_short(shape, shapes) if isinstance(shape, URIRef) else None,
                lines=locate.lines(focus),
                group=locate.group(focus),
            )
        )
    report.results.sort(key=_result_order)
    return report


def _result_order(result: ValidationResult) -> tuple[str, ...]:
    """Severity, group, focus, message, then every other field: a total order, so that the report never
    follows the order pySHACL happened to find the results in."""
    r = result
    return (r.severity, r.group or "~", r.focus, r.message, r.path or "", r.value or "", r.shape or "", r.lines or "")


def _short(node: Node | None, graph: Graph) -> str:
    if node is not None and not isinstance(node, URIRef):
        inverse = graph.value(node, SH.inversePath)
        if inverse is not None:
            return "^" + _short(inverse, graph)
        alternatives = graph.value(node, SH.alternativePath)
        if alternatives is not None:
            return "(" + "|".join(_short(item, graph) for item in Collection(graph, alternatives)) + ")"
    if isinstance(node, URIRef):
        try:
            return graph.namespace_manager.normalizeUri(node)
        except Exception:  # fall back to the full IRI
            return str(node)
    return str(node)


class _Locator:
    """Source lines and subcategory of a focus node, from its provenance triples."""

    def __init__(self, data: Graph, ns: ProjectNamespaces) -> None:
        self.data = data
        self.cap = ns.cap

    def lines(self, focus: Node | None) -> str | None:
        locator = self.data.value(focus, self.cap.sourceLocator) if focus is not None else None
        if locator is None:
            return None
        file_part, _, fragment = str(locator).rpartition("/")[2].partition("#line=")
        first, _, last = fragment.partition(",")
        return f"{file_part}:{int(first) + 1}-{last}" if first.isdigit() else file_part

    def group(self, focus: Node | None) -> str | None:
        """The subcategory (or category) a result belongs to, else the kind of resource it is about."""
        if focus is None:
            return None
        cap = self.cap
        for predicate in (cap.inProblemStatement, _SCHEMA_ABOUT, None):
            target = self.data.value(focus, predicate) if predicate else focus
            notation = self.data.value(target, _SKOS_NOTATION) if target is not None else None
            if notation is not None and re.fullmatch(r"\d\.\d|0\d", str(notation)):
                return str(notation)
        # a material has a card in each subcategory it is printed in: the first, in IRI order, not any one
        material_card = min(self.data.subjects(cap.appearanceOf, focus), key=str, default=None)
        if material_card is not None:
            return self.group(material_card)
        kinds = sorted(str(t).rsplit("#", 1)[-1].rsplit("/", 1)[-1] for t in self.data.objects(focus, _RDF_TYPE))
        return KIND_GROUPS.get(kinds[0], kinds[0].lower() + "s") if kinds else None


_SKOS_NOTATION = URIRef("http://www.w3.org/2004/02/skos/core#notation")
_SCHEMA_ABOUT = URIRef("http://schema.org/about")
_RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
KIND_GROUPS = {
    "Collection": "hashtags",
    "Hashtag": "hashtags",
    "GlossaryTerm": "glossary",
    "FormalOrganization": "organisations",
    "Organization": "organisations",
    "OrganizationalCollaboration": "organisations",
    "OrganizationalUnit": "organisations",
    "Event": "events",
    "Webinar": "events",
    "NewsArticle": "events",
    "PlatformProfile": "profiles",
    "NationalPlatform": "profiles",
    "City": "cities",
    "MissionCity": "cities",
    "DeepDiveExample": "deep dives",
    "InterviewQuote": "quotes",
}
