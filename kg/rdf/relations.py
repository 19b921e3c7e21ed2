"""Relations the portfolio text states between learning materials, and the recorded webinars of materials.

They are read by a person from prose ("the second initiative developed under the M100 National Hub",
"see more in section 1.4.") into data/curation/relations.yaml; here each entry is checked against the
text (the materials exist, the lines exist and print the quoted phrase) and becomes a direct property
between the two resources and a cap:MaterialRelation node with its kind, quotes and source lines.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rdflib import Literal, URIRef

from kg.namespaces import DCTERMS, RDFS, SCHEMA, SKOS, XSD
from kg.rdf.context import MappingContext
from kg.rdf.documents import Documents
from kg.rdf.events import Events
from kg.rdf.materials import Materials
from kg.sources.curation import Entry
from kg.sources.text import Span

FILE = "relations.yaml"


@dataclass(frozen=True)
class Kind:
    label: str  # read subject → object
    inverse_label: str  # read object → subject
    property: str  # the direct cap: property, subject → object
    definition: str
    recording: bool = False


KINDS: dict[str, Kind] = {
    "part-of": Kind(
        "part of",
        "has part",
        "partOfProgramme",
        "The subject is an initiative, project, event or funding line developed under or within the object.",
    ),
    "output-of": Kind("output of", "produced", "outputOf", "The subject was produced by the object."),
    "follow-up-of": Kind("follow-up of", "followed up by", "followsUp", "The subject follows up the object."),
    "prepares-for": Kind(
        "prepares for", "prepared by", "preparesFor", "The subject was set up to prepare cities for the object."
    ),
    "supported-by": Kind("supported by", "supports", "supportedByMaterial", "The object supports the subject."),
    "collaborates-with": Kind(
        "collaborates with", "collaborates with", "collaboratesWith", "The subject works with the object."
    ),
    "see-also": Kind(
        "see also", "referred to from", "seeAlsoMaterial", "The subject's text sends the reader to the object."
    ),
    "mentions": Kind(
        "mentions", "mentioned by", "mentionsMaterial", "The subject's text names the object without saying more."
    ),
    "recorded-session-of": Kind(
        "recorded session of",
        "recorded session",
        "recordedEventOf",
        "The subject, a recorded webinar of the Recorded material page, is the session the object's card presents.",
        recording=True,
    ),
    "recorded-event-of": Kind(
        "recorded event of",
        "recorded event",
        "recordedEventOf",
        "The subject, a recorded event of the Recorded material page, is an event of the initiative the object "
        "presents.",
        recording=True,
    ),
}


def fold(text: str) -> str:
    """Text compared for quotes: emphasis marks, typographic quotes and dashes, spacing and case folded."""
    text = unicodedata.normalize("NFC", text).replace("*", "")
    for fancy, plain in (("“", '"'), ("”", '"'), ("„", '"'), ("’", "'"), ("–", "-"), ("—", "-")):
        text = text.replace(fancy, plain)
    return re.sub(r"\s+", " ", text).strip().casefold()


class Relations:
    def __init__(self, ctx: MappingContext, documents: Documents, materials: Materials, events: Events) -> None:
        self.ctx = ctx
        self.documents = documents
        self.materials = materials
        self.events = events
        self.src = ctx.sources.by_role("portfolio").text
        self.kinds: dict[str, URIRef] = {}
        self.appearances = {
            (str(printed.material), printed.card.notation): printed.appearance for printed in materials.printed
        }

    def add(self) -> None:
        root = self.ctx.curation.file(FILE)
        self._kinds()
        for entry in root.entries("relations"):
            self._relation(entry)
        linked: set[str] = set()
        for entry in root.entries("recordings"):
            linked.add(self._recording(entry))
        for entry in root.entries("unlinked"):
            event = self._recorded(entry)
            if str(event) in linked:
                raise entry.error("this recorded item is linked to a material under 'recordings'", "recorded")
            self.ctx.decision(event, entry.note())
            linked.add(str(event))
        for title, event in sorted(self.events.recorded.items()):
            if str(event) not in linked:
                self.ctx.finding(
                    "Warning",
                    f"the recorded item {title!r} is linked to no material and not listed under 'unlinked' in {FILE}",
                    focus=event,
                    group="recorded-material",
                )

    def _kinds(self) -> None:
        ctx = self.ctx
        scheme = ctx.typed(ctx.mint("scheme/relation-kinds"), SKOS.ConceptScheme)
        ctx.add(scheme, SKOS.prefLabel, "Kinds of relation the portfolio text states between materials", lang="en")
        for notation, kind in KINDS.items():
            concept = ctx.typed(ctx.mint(f"relation-kind/{notation}"), SKOS.Concept)
            ctx.add(concept, SKOS.notation, notation)
            ctx.add(concept, SKOS.prefLabel, kind.label, lang="en")
            ctx.add(concept, SKOS.definition, kind.definition, lang="en")
            ctx.add(concept, SKOS.inScheme, scheme)
            ctx.add(concept, SKOS.topConceptOf, scheme)
            self.kinds[notation] = concept

    # -- entries --------------------------------------------------------------------

    def _kind(self, entry: Entry, *, recording: bool) -> str:
        notation = entry.text("kind")
        kind = KINDS.get(notation)
        if kind is None or kind.recording != recording:
            allowed = sorted(n for n, k in KINDS.items() if k.recording == recording)
            raise entry.error(f"unknown kind {notation!r}; one of {allowed}", "kind")
        return notation

    def _material(self, entry: Entry, field_name: str) -> URIRef:
        material_id = entry.text(field_name)
        material = self.materials.materials.get(material_id)
        if material is None:
            raise entry.error(
                f"no material with id {material_id!r} (ids are those of materials.yaml or the slug of a card title)",
                field_name,
            )
        return material

    def _card(self, entry: Entry, field_name: str, material: URIRef) -> URIRef | None:
        notation = entry.text(field_name, required=False)
        if notation is None:
            return None
        appearance = self.appearances.get((str(material), notation))
        if appearance is None:
            raise entry.error(f"the material has no card in subcategory {notation}", field_name)
        return appearance

    def _relation(self, entry: Entry) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        notation = self._kind(entry, recording=False)
        subject, target = self._material(entry, "subject"), self._material(entry, "object")
        subject_card = self._card(entry, "subject_card", subject)
        object_card = self._card(entry, "object_card", target)
        if subject == target and (subject_card is None or object_card is None or subject_card == object_card):
            raise entry.error("a material related to itself needs subject_card and object_card, two different cards")
        node = self._node(
            entry,
            notation,
            subject,
            target,
            f"relation/{entry.text('subject')}/{notation}/{entry.text('object')}",
        )
        ctx.add(node, cap.subjectAppearance, subject_card)
        ctx.add(node, cap.objectAppearance, object_card)
        if subject != target:  # a card pointing at another card of the same material is no material relation
            ctx.add(subject, cap[KINDS[notation].property], target)
        else:
            name, cards = self._name(subject), (entry.text("subject_card"), entry.text("object_card"))
            ctx.graph.remove((node, RDFS.label, None))
            ctx.add(
                node,
                RDFS.label,
                f"{name}: the {cards[0]} card — {KINDS[notation].label} — the {cards[1]} card",
                lang="en",
            )

    def _recorded(self, entry: Entry) -> URIRef:
        title = entry.text("recorded")
        found = [event for printed, event in self.events.recorded.items() if fold(printed) == fold(title)]
        if len(found) != 1:
            raise entry.error(
                f"the Recorded material page prints no item titled {title!r}; it prints {sorted(self.events.recorded)}",
                "recorded",
            )
        return found[0]

    def _recording(self, entry: Entry) -> str:
        ctx, cap = self.ctx, self.ctx.cap
        notation = self._kind(entry, recording=True)
        event, material = self._recorded(entry), self._material(entry, "material")
        slug = str(event).rsplit("/", 1)[1]
        self._node(entry, notation, event, material, f"relation/recorded/{slug}/{notation}/{entry.text('material')}")
        ctx.add(event, cap[KINDS[notation].property], material)
        return str(event)

    def _node(self, entry: Entry, notation: str, subject: URIRef, target: URIRef, path: str) -> URIRef:
        ctx, cap = self.ctx, self.ctx.cap
        node = ctx.typed(ctx.unique(path), cap.MaterialRelation)
        ctx.add(node, cap.relationSubject, subject)
        ctx.add(node, cap.relationObject, target)
        ctx.add(node, cap.relationKind, self.kinds[notation])
        ctx.add(node, RDFS.label, f"{self._name(subject)} — {KINDS[notation].label} — {self._name(target)}", lang="en")
        ctx.decision(node, entry.note())
        evidence = entry.entries("evidence")
        if not evidence:
            raise entry.error("a relation needs at least one evidence {lines, quote}", "evidence")
        for number, item in enumerate(evidence, start=1):
            span = self._span(item)
            quote = item.text("quote")
            text = " ".join(self.src.line(n) for n in range(span.first, span.last + 1))
            if fold(quote) not in fold(text):
                raise item.error(
                    f"lines {span} of {self.src.name} do not print {quote!r}",
                    "quote",
                )
            quoted = ctx.typed(URIRef(f"{node}/evidence/{number}"), cap.TextEvidence)
            ctx.add(node, cap.evidence, quoted)
            ctx.add(quoted, SCHEMA.text, quote, lang="en")
            ctx.add(quoted, SCHEMA.position, Literal(number, datatype=XSD.integer))
            ctx.locate(quoted, self.src.name, span)
            ctx.locate(node, self.src.name, span)
        return node

    def _name(self, resource: URIRef) -> str:
        graph = self.ctx.graph
        return str(graph.value(resource, DCTERMS.title) or graph.value(resource, SCHEMA.name) or resource)

    def _span(self, item: Entry) -> Span:
        raw = item.text("lines")
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", raw)
        if not match:
            raise item.error(f"lines {raw!r} is not a line number or 'first-last'", "lines")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if not 1 <= first <= last <= len(self.src):
            raise item.error(f"lines {raw!r} are not within lines 1-{len(self.src)} of {self.src.name}", "lines")
        return Span(first, last)
