"""The page of a core challenge: its problem statements, lessons learned, deep dive, quotes and materials."""

from __future__ import annotations

from collections import defaultdict

from api.plumbing.runtime import Runtime
from api.views.kinds import Facts
from api.views.kinds.deep_dive import steps_and_quotes
from api.views.kinds.shared import by_kind, is_true, linked_rows, source_link
from api.views.render import local

CLASSES = ("cap:CoreChallenge",)
TEMPLATE = "kinds/core_challenge.html"
SKOS = "http://www.w3.org/2004/02/skos/core#"


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    parts = by_kind(await linked_rows(runtime, "core_challenge", facts.iri))
    materials: dict[str, list[dict]] = defaultdict(list)
    for row in parts["card"]:
        materials[row["notation"]].append(
            {"path": local(runtime, row["link"]), "label": row["text"], "type": row["extra"]}
        )
    subcategories = [
        {
            "path": local(runtime, row["link"]),
            "label": row["text"],
            "notation": row["notation"],
            "materials": int(row["count"]),
            "placeholders": int(row["placeholders"]),
            "cards": materials.get(row["notation"], []),
        }
        for row in parts["subcategory"]
    ]
    names = {s["notation"]: s for s in subcategories}
    lessons = [
        {
            "path": local(runtime, row["link"]),
            "title": row["text"],
            "text": row["extra"],
            "placeholder": is_true(row.get("other")) or (row["extra"] or "").strip().lower() in ("tbc", "tbd"),
            "about": names.get(row.get("notation") or ""),
        }
        for row in sorted(parts["lesson"], key=lambda r: int(r["position"]))
    ]
    deep_dives = []
    for row in parts["deep-dive"]:
        dive = {
            "path": local(runtime, row["link"]),
            "title": row.get("text"),
            "headline": row.get("extra"),
            "placeholder": is_true(row.get("other")),
        }
        if not dive["placeholder"]:
            dive |= await steps_and_quotes(runtime, row["link"])
        deep_dives.append(dive)
    return {
        "notation": facts.one(SKOS + "notation"),
        "position": int(facts.one(SKOS + "notation") or 0),
        "definition": facts.one(SKOS + "definition"),
        "source": source_link(runtime, facts.one("https://w3id.org/capacities/lp/ontology#sourceLocator")),
        "subcategories": subcategories,
        "card_count": sum(len(s["cards"]) for s in subcategories),
        # a material printed under several of this challenge's problem statements is one material
        "material_count": len({card["path"] for s in subcategories for card in s["cards"]}),
        "lessons": lessons,
        "deep_dives": deep_dives,
        "quotes": parts["quote"],
    }
