"""The page of a persona: who they are, their needs, and where the portfolio answers each."""

from __future__ import annotations

from api.plumbing.runtime import Runtime
from api.views.kinds import Facts
from api.views.kinds.shared import is_true, linked_rows, source_link
from api.views.render import local

CLASSES = ("cap:Persona",)
TEMPLATE = "kinds/persona.html"
PRIORITY = 1  # over schema:Person pages
SCHEMA = "http://schema.org/"


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    needs: dict[str, dict] = {}
    for answer in await linked_rows(runtime, "persona", facts.iri):
        need = needs.setdefault(
            answer["need"], {"text": answer["text"], "quoted": is_true(answer["quoted"]), "answers": []}
        )
        if answer.get("sub"):
            need["answers"].append({"path": local(runtime, answer["sub"]), "label": answer["title"]})
    return {
        "description": facts.one(SCHEMA + "description"),
        "needs": list(needs.values()),
        "source": source_link(runtime, facts.one("https://w3id.org/capacities/lp/ontology#sourceLocator")),
    }
