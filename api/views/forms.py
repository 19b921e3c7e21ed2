"""Contribution forms derived from the SHACL shapes: the fields of a learning material and its card, the proposal
they make as Turtle, and the editorial loop's findings placed beside the fields they concern.

The shapes are the single description of what a material and a card hold, so a property added to a shape appears
in the form without touching this module; only what the importer owns (provenance, source lines, positions) is
left out, because a contributor never writes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kg.changes.model import NEW
from kg.changes.proposal import owned_properties
from kg.errors import KGError
from kg.namespaces import DCTERMS, ORG, OWL, PROV, RDF, RDFS, SCHEMA, SH, SKOS, XSD, ProjectNamespaces

MATERIAL = "material"
CARD = "card"
NEW_MATERIAL = URIRef(NEW + MATERIAL)
NEW_CARD = URIRef(NEW + CARD)
LONG_TEXT_CHARACTERS = 160  # a property whose values in the graph run longer, on average, gets a text area

LABELS = (SKOS.prefLabel, RDFS.label, DCTERMS.title, SCHEMA.name)
LONG_TEXT = {DCTERMS.description, SKOS.note}
NUMBERS = {XSD.integer, XSD.decimal, XSD.nonNegativeInteger, XSD.positiveInteger, XSD.int}
# classes whose instances are offered only when they have a name: an unnamed place cannot be told apart
NAMED_ONLY = {DCTERMS.Location}


class FormValueError(KGError):
    """A submitted value the form cannot turn into RDF: a choice it did not offer, a second value for a single field."""

    exit_code = 2
    http_status = 422
    title = "Invalid form value"


@dataclass
class Field:
    key: str  # "material.title": the input's name
    label: str
    help: str
    path: URIRef
    resource: str  # the part of the form: MATERIAL, CARD, "organisation" …
    kind: str  # text, textarea, year, number, choice, multi-choice
    required: bool = False
    repeatable: bool = False
    language: bool = False  # values are written as English-tagged literals
    choices: list[tuple[str, str]] = field(default_factory=list)  # (IRI, label)
    values: list[str] = field(default_factory=list)
    node: URIRef = NEW_MATERIAL  # the resource the field describes: its findings have this focus
    datatype: URIRef | None = None

    @property
    def html_id(self) -> str:
        return "field-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.key)


def _not_in_the_form(ns: ProjectNamespaces) -> set[URIRef]:
    """What a contributor never writes (kg.changes.proposal.owned_properties), and what the form makes itself."""
    cap = ns.cap
    return owned_properties(ns) | {
        SCHEMA.position,  # the service places the card in its subcategory
        cap.appearanceOf,  # implied: the card of the form is the card of its material
        RDF.type,
        cap.learnMoreLink,  # a link is a resource of its own (name, position, languages): a flat form cannot make one
    }


def _natural(text: str) -> list[object]:
    """Sort key that puts "1.2" before "1.10"."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text.casefold())]


def _text(graph: Graph, node: Node, predicates: Iterable[URIRef]) -> str | None:
    """English first, then untagged, then any language; earlier predicates first within each."""
    literals = [
        o for p in predicates for o in sorted(graph.objects(node, p), key=str) if isinstance(o, Literal) and str(o)
    ]
    for acceptable in (lambda o: o.language == "en", lambda o: not o.language, lambda o: True):
        for literal in literals:
            if acceptable(literal):
                return str(literal)
    return None


def _local_name(iri: str) -> str:
    return re.split(r"[/#]", iri.rstrip("/#"))[-1]


def _subclasses(ontology: Graph, graph: Graph, cls: URIRef) -> set[URIRef]:
    found = {cls}
    for source in (ontology, graph):
        found |= {c for c in source.transitive_subjects(RDFS.subClassOf, cls) if isinstance(c, URIRef)}
    return found


def _choices(graph: Graph, ontology: Graph, classes: list[URIRef], ns: ProjectNamespaces) -> list[tuple[str, str]]:
    labelled: dict[str, str] = {}
    for cls in classes:
        for subclass in _subclasses(ontology, graph, cls):
            for instance in graph.subjects(RDF.type, subclass):
                if not isinstance(instance, URIRef) or str(instance) in labelled:
                    continue
                label = _text(graph, instance, LABELS)
                if label is None and cls in NAMED_ONLY:
                    continue
                label = label or _local_name(str(instance))
                notation = _text(graph, instance, [SKOS.notation])
                if notation and (instance, RDF.type, ns.cap.ProblemStatement) in graph:
                    label = f"{notation} {label}"
                labelled[str(instance)] = label
    return sorted(labelled.items(), key=lambda item: (_natural(item[1]), item[0]))


def _tagged(graph: Graph, path: URIRef) -> bool:
    """Whether the graph's values of `path` are all language-tagged text (and there are some)."""
    values = list(graph.objects(None, path))
    return bool(values) and all(isinstance(v, Literal) and v.language for v in values)


def _long(graph: Graph, path: URIRef) -> bool:
    """Whether the graph's texts for `path` are, on average, longer than a line."""
    lengths = [len(str(v)) for v in graph.objects(None, path) if isinstance(v, Literal)]
    return bool(lengths) and sum(lengths) / len(lengths) > LONG_TEXT_CHARACTERS


def _list(shapes: Graph, head: Node | None) -> list[Node]:
    return list(Collection(shapes, head)) if head is not None else []


def _severity(shapes: Graph, shape: Node) -> URIRef:
    severity = shapes.value(shape, SH.severity)
    return severity if isinstance(severity, URIRef) else SH.Violation  # a property shape's default severity


def _field(
    shapes: Graph,
    ontology: Graph,
    graph: Graph,
    resource: str,
    path: URIRef,
    property_shapes: list[Node],
    node: URIRef,
    ns: ProjectNamespaces,
) -> Field:
    # the shape that states the constraint names the field; helper shapes (a warning, a sh:not) come after it
    property_shapes = sorted(
        property_shapes,
        key=lambda s: (_severity(shapes, s) != SH.Violation, (s, SH["not"], None) in shapes, str(s)),
    )
    main = property_shapes[0]
    label = _text(shapes, main, [SH.name, RDFS.label]) or _text(ontology, path, [RDFS.label]) or _local_name(path)
    help_text = _text(shapes, main, [SH.description]) or _text(shapes, main, [RDFS.comment]) or ""  # people first
    datatype = next((d for s in property_shapes if (d := shapes.value(s, SH.datatype)) is not None), None)
    classes: list[URIRef] = []
    allowed: list[Node] = []
    max_count: int | None = None
    required = unique_lang = False
    for shape in property_shapes:
        classes += [c for c in shapes.objects(shape, SH["class"]) if isinstance(c, URIRef)]
        for alternative in _list(shapes, shapes.value(shape, SH["or"])):
            classes += [c for c in shapes.objects(alternative, SH["class"]) if isinstance(c, URIRef)]
        allowed += _list(shapes, shapes.value(shape, SH["in"]))
        minimum = shapes.value(shape, SH.minCount)
        if minimum is not None and int(str(minimum)) >= 1 and _severity(shapes, shape) == SH.Violation:
            required = True
        maximum = shapes.value(shape, SH.maxCount)
        if maximum is not None:
            max_count = int(str(maximum)) if max_count is None else min(max_count, int(str(maximum)))
        unique_lang = unique_lang or bool(shapes.value(shape, SH.uniqueLang))
    if (path, RDF.type, OWL.FunctionalProperty) in ontology:  # checked by a shape on any subject, not on the card's
        max_count = 1
    # sh:uniqueLang only means something for tagged text; the form writes English, so such a field holds one value.
    # Where the shapes are silent, the graph's own convention decides, so that a proposal reads like the data.
    language = datatype == RDF.langString or unique_lang or (datatype is None and not classes and _tagged(graph, path))
    repeatable = (max_count is None or max_count > 1) and not (language and unique_lang)
    choices: list[tuple[str, str]] = []
    if classes:
        kind = "multi-choice" if repeatable else "choice"
        choices = _choices(graph, ontology, list(dict.fromkeys(classes)), ns)
    elif allowed:
        kind = "multi-choice" if repeatable else "choice"
        choices = sorted(
            ((str(v), _text(graph, v, LABELS) or _local_name(str(v))) for v in allowed),
            key=lambda c: (_natural(c[1]), c[0]),
        )
    elif datatype == XSD.gYear:
        kind = "year"
    elif datatype in NUMBERS:
        kind = "number"
    elif path in LONG_TEXT or _long(graph, path):
        kind = "textarea"
    else:
        kind = "text"
    return Field(
        key=f"{resource}.{_local_name(path)}",
        label=label,
        help=help_text,
        path=path,
        resource=resource,
        kind=kind,
        required=required,
        repeatable=repeatable,
        language=language,
        choices=choices,
        node=node,
        datatype=None if language or choices or not isinstance(datatype, URIRef) else datatype,
    )


def _current_values(graph: Graph, form_field: Field) -> list[str]:
    objects = list(graph.objects(form_field.node, form_field.path))
    if form_field.choices:
        return sorted(str(o) for o in objects if isinstance(o, URIRef))
    literals = [o for o in objects if isinstance(o, Literal)]
    if form_field.language:
        # the form writes English: other languages are not its to show or replace
        literals = [o for o in literals if o.language == "en"] or [o for o in literals if not o.language]
    return sorted(str(o) for o in literals)


@dataclass(frozen=True)
class Part:
    """One resource of a form: its fields come from `shape`'s property shapes."""

    resource: str  # the prefix of its inputs' names, and its node `urn:x-new:{resource}` when new
    legend: str
    shape: URIRef
    cls: URIRef  # the type of a new one
    only: frozenset[URIRef] | None = None  # just these properties (a note form)
    skip: frozenset[URIRef] = frozenset()  # not these (what identifies the resource): kept as they are

    @property
    def new_node(self) -> URIRef:
        return URIRef(NEW + self.resource)


@dataclass(frozen=True)
class FormKind:
    """What a form proposes: a new resource (`new` parts), a correction of one (`edit` part), or both."""

    slug: str  # /contribute/{slug}
    noun: str  # "learning material"
    new: tuple[Part, ...]
    edit: Part | None
    target_class: URIRef  # what an edited resource is
    parent: URIRef | None = None  # a new one belongs to an existing resource by this property (a card's material)
    parent_class: URIRef | None = None
    edit_heading: str = "Correct “{name}”"  # the page's heading when `edit` is the form: {name} the resource's

    @property
    def can_add(self) -> bool:
        return bool(self.new)


def form_kinds(ns: ProjectNamespaces) -> dict[str, FormKind]:
    cap, capsh = ns.cap, ns.capsh
    material = Part(MATERIAL, "The learning material", capsh.LearningMaterialShape, cap.LearningMaterial)
    card = Part(CARD, "Its card in a problem statement", capsh.MaterialAppearanceShape, cap.MaterialAppearance)
    organisation = Part("organisation", "The organisation", capsh.OrganizationShape, ORG.Organization)
    profile = Part(
        "profile",
        "The national platform's profile",
        capsh.PlatformProfileShape,
        cap.PlatformProfile,
        skip=frozenset({cap.profileOf, DCTERMS.spatial, cap.listsCity}),
    )
    note = Part(
        "statement", "A note on the problem statement", capsh.ProblemStatementShape, cap.ProblemStatement,
        only=frozenset({SKOS.note}),
    )  # fmt: skip
    kinds = [
        FormKind("material", "learning material", (material, card), material, cap.LearningMaterial),
        FormKind(
            "card",
            "card of a learning material",
            (card,),
            card,
            cap.MaterialAppearance,
            parent=cap.appearanceOf,
            parent_class=cap.LearningMaterial,
        ),  # fmt: skip
        FormKind("organisation", "organisation", (organisation,), organisation, ORG.Organization),
        FormKind(
            "profile", "national platform profile", (), profile, cap.PlatformProfile, edit_heading="Update “{name}”"
        ),
        FormKind(
            "note",
            "note on a problem statement",
            (),
            note,
            cap.ProblemStatement,
            edit_heading="A note for readers of “{name}”",
        ),  # fmt: skip
    ]
    return {kind.slug: kind for kind in kinds}


def form_fields(
    kind: FormKind,
    shapes: Graph,
    ontology: Graph,
    graph: Graph,
    *,
    existing: URIRef | None = None,
    ns: ProjectNamespaces | None = None,
) -> list[Field]:
    """The fields of a new resource of `kind` (each part in turn) or of `existing`, required fields first in each
    part, an existing resource's current values filled in."""
    ns = ns or ProjectNamespaces()
    skipped = _not_in_the_form(ns)
    fields: list[Field] = []
    parts = [(kind.edit, existing)] if existing is not None and kind.edit else [(p, p.new_node) for p in kind.new]
    for part, node in parts:
        by_path: dict[URIRef, list[Node]] = {}
        for property_shape in shapes.objects(part.shape, SH.property):
            path = shapes.value(property_shape, SH.path)
            if not isinstance(path, URIRef) or path in skipped or path in part.skip or path.startswith(str(PROV)):
                continue  # blank-node paths are inverse or sequence paths: another resource states them
            if part.only is not None and path not in part.only:
                continue
            by_path.setdefault(path, []).append(property_shape)
        section = [_field(shapes, ontology, graph, part.resource, p, s, node, ns) for p, s in by_path.items()]
        section.sort(key=lambda f: (not f.required, _natural(f.label), f.key))
        fields += section
    keys = [f.key for f in fields]
    if len(keys) != len(set(keys)):  # two paths with the same local name: the form could not tell their inputs apart
        raise KGError(f"two form fields share a name: {sorted(k for k in keys if keys.count(k) > 1)}")
    if existing is not None:
        for form_field in fields:
            form_field.values = _current_values(graph, form_field)
            offered = {value for value, _ in form_field.choices}
            # a current value the choices miss (an unnamed resource) stays selectable, so that editing keeps it
            missed = [v for v in form_field.values if form_field.choices and v not in offered]
            form_field.choices += [(v, _local_name(v)) for v in missed]
    return fields


def _term(form_field: Field, value: str) -> Node:
    if form_field.kind in ("choice", "multi-choice"):
        if value not in {iri for iri, _ in form_field.choices}:
            shown = value if len(value) <= 80 else value[:77] + "..."
            raise FormValueError(
                f"{form_field.label}: {shown!r} is not one of the choices offered", field=form_field.key
            )
        return URIRef(value)
    if form_field.language:
        return Literal(value, lang="en")
    return Literal(value, datatype=form_field.datatype)


def form_to_turtle(
    kind: FormKind,
    fields: list[Field],
    submitted: list[tuple[str, str]],
    *,
    existing: URIRef | None = None,
    parent: URIRef | None = None,
    current: Graph | None = None,
    ns: ProjectNamespaces | None = None,
) -> str:
    """The proposal the submitted form makes, as Turtle. Keys that are not fields (csrf, note) are ignored.

    A new resource: each part's node typed, a new card tied to its material (`parent`, or the form's own).
    A correction: the resource's whole new description, as a replacement is: what the form does not show
    (its type, its links, its other properties) is written as it is in `current`, so that only what the form
    changed changes."""
    ns = ns or ProjectNamespaces()
    proposal = Graph()
    ns.bind(proposal)
    owned = owned_properties(ns)
    if existing is not None:
        shown = {f.path for f in fields}
        for _, predicate, kept in (current if current is not None else Graph()).triples((existing, None, None)):
            if predicate not in shown and predicate not in owned:
                proposal.add((existing, predicate, kept))
    else:
        nodes = {part.resource: part.new_node for part in kind.new}
        for part in kind.new:
            proposal.add((part.new_node, RDF.type, part.cls))
        if MATERIAL in nodes and CARD in nodes:
            proposal.add((nodes[CARD], ns.cap.appearanceOf, nodes[MATERIAL]))
        if kind.parent is not None:
            if parent is None:
                raise FormValueError(f"a new {kind.noun} names the resource it belongs to", field="parent")
            proposal.add((kind.new[0].new_node, kind.parent, parent))
    by_key = {f.key: f for f in fields}
    values: dict[str, list[str]] = {}
    for key, value in submitted:
        text = value.replace("\r\n", "\n").strip()  # browsers send CRLF from textareas
        if key in by_key and text and text not in values.setdefault(key, []):
            values[key].append(text)
    for key, texts in values.items():
        form_field = by_key[key]
        if len(texts) > 1 and not form_field.repeatable:
            raise FormValueError(f"{form_field.label}: one value only, {len(texts)} given", field=key)
        for text in texts:
            proposal.add((form_field.node, form_field.path, _term(form_field, text)))
    return proposal.serialize(format="turtle")


def findings_by_field(fields: list[Field], findings: list[dict]) -> dict[str, list[str]]:
    """Each finding's message under the key of the field it concerns (same path, same focus node); the rest under ""."""
    placed: dict[str, list[str]] = {}
    for finding in findings:
        path = str(finding.get("path") or "")
        focus = str(finding.get("focus") or "")
        message = str(finding.get("message") or "")
        keys = [f.key for f in fields if path and str(f.path) == path and str(f.node) == focus] or [""]
        for key in keys:
            if message not in placed.setdefault(key, []):
                placed[key].append(message)
    return placed
