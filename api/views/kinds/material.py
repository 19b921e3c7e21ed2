"""The page of a learning material: where it appears, and its cards side by side."""

from __future__ import annotations

from api.plumbing.runtime import Runtime, field_text
from api.views.kinds import Facts
from api.views.kinds.shared import lines
from api.views.render import local

CLASSES = ("cap:LearningMaterial",)
TEMPLATE = "kinds/material.html"

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


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    iri = facts.iri
    cards = await runtime.rows("material_cards", {"material": iri})
    for card in cards:
        card["path"] = local(runtime, field_text(card, "card"))
    related = await runtime.rows("related_materials", {"material": iri})
    for row in related:
        row["path"] = local(runtime, field_text(row, "related"))
    return {"cards": cards, "related": related[:8], **await _text_relations(runtime, iri)}


async def _text_relations(runtime: Runtime, iri: str) -> dict[str, list[dict]]:
    """What the text says relates this material to others, and its recorded webinars (material_relations)."""
    relations: dict[str, dict] = {}
    recordings: dict[str, dict] = {}
    for row in await runtime.rows("material_relations", {"material": iri}):
        kind = field_text(row, "kind")
        quote = {
            "text": field_text(row, "quote"),
            "lines": lines(row["first_line"], row["last_line"]),
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
