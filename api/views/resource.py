"""The page of any resource: its label, types, statements both ways, and what its kind adds."""

from __future__ import annotations

import re
from collections import defaultdict

import pyoxigraph as ox
from fastapi import Request

from api.plumbing.runtime import Runtime, field_text
from api.views.render import curie, local, render
from kg.engines.protocol import EncodedTriple, Term, encode_term

LABELS = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://purl.org/dc/terms/title",
    "http://schema.org/name",
    "http://www.w3.org/2000/01/rdf-schema#label",
)
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


async def resource_page(request: Request, runtime: Runtime, iri: str, rows: list[EncodedTriple]) -> str:
    labels: dict[str, str] = {}
    outgoing: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    incoming: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    types = []
    for subject, predicate, value in rows:
        if predicate[1] in LABELS and value[0] == "literal" and (value[3] in (None, "en") or subject[1] not in labels):
            labels.setdefault(subject[1], value[1])
    for subject, predicate, value in rows:
        if subject[1] == iri:
            if predicate[1] == RDF_TYPE:
                types.append(value[1])
            outgoing[predicate[1]].append(_value(runtime, value, labels))
        elif value[1] == iri:
            incoming[predicate[1]].append(_value(runtime, subject, labels))
    title = labels.get(iri, iri.rsplit("/", 1)[-1])
    extra: dict[str, object] = {}
    cap = str(runtime.ns.cap)
    if cap + "LearningMaterial" in types:
        cards = await runtime.rows("material_cards", {"material": iri})
        for card in cards:
            card["path"] = local(runtime, field_text(card, "card"))
        related = await runtime.rows("related_materials", {"material": iri})
        for row in related:
            row["path"] = local(runtime, field_text(row, "related"))
        extra = {"cards": cards, "related": related[:8], **await _text_relations(runtime, iri)}
    if cap + "ProblemStatement" in types:
        details: dict[str, list] = defaultdict(list)
        for detail in await _linked_rows(runtime, "subcategory", iri):
            details[detail["kind"]].append(
                detail | {"path": local(runtime, detail["link"]) if detail.get("link") else None}
            )
        extra = {"details": details}
    if cap + "Persona" in types:
        needs: dict[str, dict] = {}
        for answer in await _linked_rows(runtime, "persona", iri):
            need = needs.setdefault(answer["need"], {"text": answer["text"], "quoted": answer["quoted"], "answers": []})
            if answer.get("sub"):
                need["answers"].append(
                    {"path": local(runtime, answer["sub"]), "label": f"{answer['notation']} {answer['title']}"}
                )
        extra = {"needs": list(needs.values())}
    properties = sorted(((curie(runtime, p), values) for p, values in outgoing.items()), key=lambda item: item[0])
    inverse = sorted(((curie(runtime, p), values) for p, values in incoming.items()), key=lambda item: item[0])
    return render(
        "resource.html",
        request,
        runtime,
        iri=iri,
        title=title,
        types=[(curie(runtime, t), local(runtime, t)) for t in types],
        properties=properties,
        incoming=inverse,
        **extra,
    )


# how a relation reads from its object's page (kg.rdf.relations.KINDS)
INVERSE_LABELS = {
    "part-of": "has part",
    "output-of": "produced",
    "follow-up-of": "followed up by",
    "prepares-for": "prepared by",
    "supported-by": "supports",
    "collaborates-with": "collaborates with",
    "see-also": "referred to from",
    "mentions": "mentioned by",
}


async def _text_relations(runtime: Runtime, iri: str) -> dict[str, list[dict]]:
    """What the text says relates this material to others, and its recorded webinars (material_relations)."""
    relations: dict[str, dict] = {}
    recordings: dict[str, dict] = {}
    for row in await runtime.rows("material_relations", {"material": iri}):
        kind = field_text(row, "kind")
        quote = {
            "text": field_text(row, "quote"),
            "lines": _lines(row["first_line"], row["last_line"]),
            "href": local(runtime, field_text(row, "locator")),
        }
        other = field_text(row, "other")
        if kind.startswith("recorded-"):
            recording = recordings.setdefault(
                field_text(row, "relation"),
                {
                    "title": row.get("other_title") or other,
                    "path": local(runtime, other),
                    "kind": field_text(row, "kind_label"),
                    "date": row.get("date_as_printed") or row.get("date"),
                    "recording": row.get("recording"),
                    "link_label": row.get("link_label"),
                    "quotes": [],
                },
            )
            recording["quotes"].append(quote)
            continue
        outgoing = row["direction"] == "outgoing"
        relation = relations.setdefault(
            field_text(row, "relation"),
            {
                "kind": field_text(row, "kind_label") if outgoing else INVERSE_LABELS.get(kind, kind),
                "title": row.get("other_title") or other,
                "path": local(runtime, other),
                "same": other == iri,
                "quotes": [],
            },
        )
        relation["quotes"].append(quote)
    return {"text_relations": list(relations.values()), "recordings": list(recordings.values())}


def _lines(first: object, last: object) -> str:
    return f"line {first}" if first == last else f"lines {first}–{last}"


async def _linked_rows(runtime: Runtime, name: str, iri: str) -> list[dict]:
    """Rows of one of the queries in kg/sparql/queries/linked/, its ?s bound to the resource."""
    return await runtime.plain_rows(runtime.registry.text(f"linked/{name}"), {"s": encode_term(ox.NamedNode(iri))})


EU_COUNTRY = "http://publications.europa.eu/resource/authority/country/"


PROVENANCE = re.compile(r"^(?P<text>.+)#line=(?P<after>\d+),(?P<last>\d+)$")


def _value(runtime: Runtime, term: Term, labels: dict[str, str]) -> tuple[str, str | None]:
    kind, value, _, language = term
    located = PROVENANCE.match(value) if kind == "literal" else None
    if located and located["text"].startswith(f"{runtime.ns.id}source/"):
        # an RFC 5147 locator: lines after+1 to last, shown highlighted on the source text's page
        first, last = int(located["after"]) + 1, int(located["last"])
        return value, f"{local(runtime, located['text'])}?lines={first}-{last}#line-{first}"
    if kind == "iri":
        href = f"/country/{value[len(EU_COUNTRY) :]}" if value.startswith(EU_COUNTRY) else local(runtime, value)
        return labels.get(value, curie(runtime, value)), href
    return (value + (f" @{language}" if language and language != "en" else "")), None
