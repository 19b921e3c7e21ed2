"""The page of a problem statement (a subcategory): its core challenge, description, key challenges, quotes,
hashtags, lessons learned, the personas' needs it answers, and its materials as cards."""

from __future__ import annotations

from collections import defaultdict

from api.plumbing.runtime import Runtime
from api.views.kinds import Facts
from api.views.kinds.shared import linked_rows
from api.views.render import local

CLASSES = ("cap:ProblemStatement",)
TEMPLATE = "kinds/problem_statement.html"
PRIORITY = 1  # over skos:Concept pages


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    details: dict[str, list] = defaultdict(list)
    for detail in await linked_rows(runtime, "subcategory", facts.iri):
        details[detail["kind"]].append(
            detail | {"path": local(runtime, detail["link"]) if detail.get("link") else None}
        )
    for card in details["card"]:
        card["features"] = card["features"].split(" || ") if card.get("features") else []
    return {
        "details": details,
        "notation": facts.one("http://www.w3.org/2004/02/skos/core#notation"),
        "note": facts.one("http://www.w3.org/2004/02/skos/core#note"),  # a partner's, for readers (issue 14)
        "materials": len({card["link"] for card in details["card"]}),
    }
