"""Guides to the portfolio for people: its three personas, and its glossary of acronyms from A to Z."""

from __future__ import annotations

import re
from collections import defaultdict

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.plumbing.runtime import RuntimeDep, field_text
from api.views.render import html, local, render

router = APIRouter(include_in_schema=False)
SENTENCE = re.compile(r"^(.+?[.!?])(\s|$)")


@router.get("/personas")
async def personas(request: Request, runtime: RuntimeDep) -> Response:
    found: dict[str, dict] = {}
    for row in await runtime.rows("personas"):
        description = field_text(row, "description")
        first = SENTENCE.match(description)
        persona = found.setdefault(
            field_text(row, "persona"),
            {
                "name": field_text(row, "name"),
                "path": local(runtime, field_text(row, "persona")),
                "line": first[1] if first else description,
                "needs": 0,
            },
        )
        persona["needs"] += 1
    return html(request, runtime, render("personas.html", request, runtime, personas=list(found.values())))


@router.get("/glossary")
async def glossary(request: Request, runtime: RuntimeDep) -> Response:
    letters: dict[str, list[dict]] = defaultdict(list)
    for row in await runtime.rows("glossary"):
        acronym, expansion = field_text(row, "acronym"), row.get("expansion")
        letters[acronym[:1].upper()].append(
            {
                "acronym": acronym,
                "expansion": str(expansion) if expansion and expansion != acronym else None,
                "path": local(runtime, field_text(row, "term")),
                "alternatives": row.get("alternatives") or [],
                "related": row.get("related") or [],
            }
        )
    ordered = sorted(letters.items())
    return html(request, runtime, render("glossary.html", request, runtime, letters=ordered))
