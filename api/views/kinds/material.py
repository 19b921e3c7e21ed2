"""The page of a learning material: a summary of where it appears, then its cards side by side, each text once."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import urlencode

from api.plumbing.runtime import Runtime, field_text
from api.views.kinds import Facts
from api.views.kinds.shared import by_kind, lines, linked_rows, place_path, source_link, unique_links
from api.views.render import local

CLASSES = ("cap:LearningMaterial",)
TEMPLATE = "kinds/material.html"
CAP = "https://w3id.org/capacities/lp/ontology#"

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


# what a card prints, in the order a card shows it: (field of material_cards, heading, how it is shown)
CARD_FIELDS = (
    ("type_label", "Type", "text"),
    ("title_as_printed", "Title as printed", "text"),
    ("country_as_printed", "Country as printed", "text"),
    ("year_as_printed", "Year as printed", "text"),
    ("description", "Description", "text"),
    ("key_features", "Key features", "list"),
    ("partners", "National partners", "links"),
    ("links", "Learn more (link labels; the targets are not in the source text)", "list"),
)


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    iri = facts.iri
    parts = by_kind(await linked_rows(runtime, "material_summary", iri))
    subcategories = unique_links(runtime, parts["subcategory"])
    challenges = unique_links(runtime, parts["challenge"])
    # the material is listed under these by inference (from its cards): each says why, down to the source lines
    for links, predicate in ((challenges, CAP + "listedUnderChallenge"), (subcategories, CAP + "listedUnder")):
        for link in links:
            link["why"] = "/explain?" + urlencode({"subject": iri, "predicate": predicate, "object": link["iri"]})
    summary = {
        "challenges": challenges,
        "subcategories": subcategories,
        "places": unique_links(runtime, parts["place"], path=place_path),
        "years": sorted({row["text"] for row in parts["year"]}),
        "partners": sorted(unique_links(runtime, parts["partner"]), key=lambda p: p["label"].casefold()),
        "types": sorted({row["text"] for row in parts["type"]}),
        "hashtags": sorted(unique_links(runtime, parts["hashtag"]), key=lambda p: p["label"].casefold()),
    }
    cards = await runtime.rows("material_cards", {"material": iri})
    related = await runtime.rows("related_materials", {"material": iri})
    for row in related:
        row["path"] = local(runtime, field_text(row, "related"))
    shared, compared = compare_cards(runtime, facts.title, cards, parts, {s["extra"]: s for s in subcategories})
    return {
        "summary": summary,
        "shared": shared,
        "cards": compared,
        "related": related[:8],  # the closest eight of up to twenty
        "related_total": len(related),
        **await _text_relations(runtime, iri),
    }


def compare_cards(
    runtime: Runtime, title: str, cards: list[dict], parts: dict[str, list[dict]], subcategories: dict[str, dict]
) -> tuple[list[dict], list[dict]]:
    """What every card prints alike (shown once), and per card only what differs from the others.

    A value one card shares with an earlier card (but not with all) is not repeated: the later card says
    which card printed it first."""
    partners: dict[str, list[dict]] = defaultdict(list)
    for row in parts["partner"]:
        partners[row["card"]].append({"path": local(runtime, row["link"]), "label": row["text"]})
    sources = {row["card"]: source_link(runtime, row["text"]) for row in parts["locator"]}
    values: list[dict[str, object]] = []
    for card in cards:
        own = {name: card.get(name) or None for name, _, _ in CARD_FIELDS}
        unique = {p["path"]: p for p in partners.get(card["card"], [])}
        own["partners"] = sorted(unique.values(), key=lambda p: p["label"].casefold()) or None
        if own["title_as_printed"] == title:
            own["title_as_printed"] = None  # the material's own title: nothing to say
        values.append(own)
    several = len(cards) > 1
    shared = []
    for name, heading, shown in CARD_FIELDS:
        first = values[0][name] if values else None
        if several and first and all(v[name] == first for v in values):
            shared.append({"heading": heading, "shown": shown, "value": first})
            for v in values:
                v[name] = None
    compared = []
    for index, card in enumerate(cards):
        notation = card["subcategory"]
        sub = subcategories.get(notation, {"path": None})
        fields = []
        for name, heading, shown in CARD_FIELDS:
            value = values[index][name]
            if not value:
                continue
            earlier = next((cards[i] for i in range(index) if values[i][name] == value), None)
            fields.append(
                {
                    "heading": heading,
                    "shown": shown,
                    "value": value,
                    "same_as": earlier["subcategory_title"] if earlier else None,
                }
            )
        compared.append(
            {
                "title": card["subcategory_title"],
                "notation": notation,
                "path": sub["path"],
                "card_path": local(runtime, card["card"]),
                "source": sources.get(card["card"]),
                "fields": fields,
            }
        )
    return shared, compared


async def _text_relations(runtime: Runtime, iri: str) -> dict[str, list[dict]]:
    """What the text says relates this material to others, and its recorded webinars (material_relations)."""
    relations: dict[str, dict] = {}
    recordings: dict[str, dict] = {}
    for row in await runtime.rows("material_relations", {"material": iri}):
        kind = field_text(row, "kind")
        quote = {
            "text": field_text(row, "quote"),
            "lines": lines(row["first_line"], row["last_line"]),
            "href": _source_path(runtime, field_text(row, "locator")),
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


def _source_path(runtime: Runtime, locator: str) -> str:
    """The quoted lines highlighted on the source text's page (as every other source link on the site)."""
    found = source_link(runtime, locator)
    return found["path"] if found else local(runtime, locator)
