"""The page of a deep dive (a category's worked example): its HOW TO steps in order, quotes, partners, place."""

from __future__ import annotations

from typing import Any

from api.plumbing.runtime import Runtime
from api.views.kinds import Facts
from api.views.kinds.shared import by_kind, is_true, linked_rows, place_path, source_link, unique_links

CLASSES = ("cap:DeepDiveExample",)
TEMPLATE = "kinds/deep_dive.html"
PRIORITY = 1  # over schema:HowTo or schema:CreativeWork pages
SCHEMA = "http://schema.org/"
CAP = "https://w3id.org/capacities/lp/ontology#"


async def steps_and_quotes(runtime: Runtime, iri: str) -> dict[str, Any]:
    """A deep dive's steps, quotes, partners, places and challenge, as its page and its challenge's page show them."""
    parts = by_kind(await linked_rows(runtime, "deep_dive", iri))
    return {
        "steps": [
            {"name": row["text"], "text": row.get("extra")}
            for row in sorted(parts["step"], key=lambda r: int(r["position"]))
        ],
        "quotes": parts["quote"],
        "partners": sorted(unique_links(runtime, parts["partner"]), key=lambda p: p["label"].casefold()),
        "places": unique_links(runtime, parts["place"], path=place_path),
        "challenges": unique_links(runtime, parts["challenge"]),
    }


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    placeholder = is_true(facts.one(CAP + "isPlaceholder"))
    found = await steps_and_quotes(runtime, facts.iri)
    if facts.iri not in facts.labels:  # a placeholder has no name: the page is named after its challenge
        challenge = ", ".join(c["label"] for c in found["challenges"])
        facts.labels[facts.iri] = f"Deep dive: {challenge}" if challenge else "Deep dive"
    return {
        "headline": facts.one(SCHEMA + "headline"),
        "description": facts.one(SCHEMA + "description"),
        "placeholder": placeholder,
        "source": source_link(runtime, facts.one(CAP + "sourceLocator")),
        **found,
    }
