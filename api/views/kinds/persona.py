"""The page of a persona: their needs, and where the portfolio answers each."""

from __future__ import annotations

from api.plumbing.runtime import Runtime
from api.views.kinds import Facts
from api.views.kinds.shared import linked_rows
from api.views.render import local

CLASSES = ("cap:Persona",)
TEMPLATE = "kinds/persona.html"


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    needs: dict[str, dict] = {}
    for answer in await linked_rows(runtime, "persona", facts.iri):
        need = needs.setdefault(answer["need"], {"text": answer["text"], "quoted": answer["quoted"], "answers": []})
        if answer.get("sub"):
            need["answers"].append(
                {"path": local(runtime, answer["sub"]), "label": f"{answer['notation']} {answer['title']}"}
            )
    return {"needs": list(needs.values())}
