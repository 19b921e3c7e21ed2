"""The page of a glossary term (an acronym the texts use): the term, what it stands for, where it is printed."""

from __future__ import annotations

import re

from api.plumbing.runtime import Runtime
from api.views.kinds import Facts
from api.views.kinds.shared import link, source_link
from api.views.render import local

CLASSES = ("cap:GlossaryTerm",)
TEMPLATE = "kinds/glossary_term.html"
PRIORITY = 1  # over skos:Concept pages
SKOS = "http://www.w3.org/2004/02/skos/core#"
CAP = "https://w3id.org/capacities/lp/ontology#"

# a note's references to other texts than the term's own ("001 l.60", "website 001:243"): its lines are not linked
OTHER_TEXT = re.compile(r"\b00\d\b|website", re.IGNORECASE)
LINE_REFERENCE = re.compile(r"\bl\.(\d+(?:,\s*\d+)*)")  # "l.754, 1386, 2366"


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    term = facts.one(SKOS + "notation") or facts.title
    expansion = facts.labels.get(facts.iri)
    spelled_out = bool(expansion) and expansion != term
    facts.labels[facts.iri] = term  # the page is named after the term as printed
    source = source_link(runtime, facts.one(CAP + "sourceLocator"))
    note = facts.one(SKOS + "editorialNote")
    return {
        "term": term,
        "expansion": expansion if spelled_out else None,
        "alternatives": [a for a in facts.values(SKOS + "altLabel") if a != term],
        "related": [link(runtime, iri, facts.label(iri)) for iri in facts.values(SKOS + "related")],
        "source": source,
        "note": note_parts(runtime, note, source_text(facts)) if note else None,
    }


def source_text(facts: Facts) -> str | None:
    derived = facts.one("http://www.w3.org/ns/prov#wasDerivedFrom")
    return derived if derived and "/source/" in derived else None


def note_parts(runtime: Runtime, note: str, text: str | None) -> list[dict[str, str]] | None:
    """The editors' note as pieces of text, its line references ("l.2347") made links to those lines of the
    source text. A note that names other texts (whose lines would be ambiguous) is left to the data section."""
    if text is None or OTHER_TEXT.search(note):
        return None
    pieces: list[dict[str, str]] = []
    position = 0
    for found in LINE_REFERENCE.finditer(note):
        pieces.append({"text": note[position : found.start()]})
        numbers = re.split(r",\s*", found[1])
        for index, number in enumerate(numbers):
            path = f"{local(runtime, text)}?lines={number}-{number}#line-{number}"
            pieces.append({"text": f"line {number}" if index == 0 else number, "path": path})
            if index < len(numbers) - 1:
                pieces.append({"text": ", "})
        position = found.end()
    pieces.append({"text": note[position:]})
    return pieces
