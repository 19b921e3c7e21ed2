"""The page of a problem statement (a subcategory): its description, key challenges, quotes, hashtags, materials."""

from __future__ import annotations

from collections import defaultdict

from api.plumbing.runtime import Runtime
from api.views.kinds import Facts
from api.views.kinds.shared import linked_rows
from api.views.render import local

CLASSES = ("cap:ProblemStatement",)
TEMPLATE = "kinds/problem_statement.html"


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    details: dict[str, list] = defaultdict(list)
    for detail in await linked_rows(runtime, "subcategory", facts.iri):
        details[detail["kind"]].append(
            detail | {"path": local(runtime, detail["link"]) if detail.get("link") else None}
        )
    return {"details": details}
