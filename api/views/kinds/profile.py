"""The page of a national platform's snapshot profile (a portfolio section of its own): its cells under
the headings the portfolio prints, the level of formalisation read from them, its members and cities."""

from __future__ import annotations

from api.plumbing.runtime import Runtime
from api.views.kinds import Facts
from api.views.kinds.generic import CAP, DCTERMS, PROV, SCHEMA, capi, describe, value
from api.views.kinds.platform import cities, members
from api.views.kinds.shared import link

CLASSES = ("cap:PlatformProfile",)
TEMPLATE = "kinds/profile.html"
PRIORITY = 10

# the profile's cells, in print order, under the row headings the portfolio prints (source 000, lines 3213-3220)
CELLS = (
    ("facilitatorText", "Facilitator"),
    ("nationalActorsText", "National level actors"),
    ("regionalActorsText", "Regional level actors"),
    ("citiesText", "Cities"),
    ("formalisationText", "Level of formalisation (MoU)"),
    ("collaborationFormatsText", "Key collaboration formats and channels (working groups, standing calls, workshops)"),
    ("dedicatedSupportText", "Dedicated support (funding, capacity building, technical support)"),
)


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    platforms = facts.values(capi(runtime, "profileOf"))
    platform = platforms[0] if platforms else None
    level = facts.values(capi(runtime, "formalisationLevel"))
    return {
        "cells": [(heading, text) for name, heading in CELLS for text in facts.values(capi(runtime, name))],
        "countries": [value(runtime, t, facts.labels) for t in facts.outgoing.get(DCTERMS + "spatial", [])],
        "platform": link(runtime, platform, facts.label(platform)) if platform else None,
        "level": link(runtime, level[0], facts.label(level[0])) if level else None,
        "sections": [link(runtime, s, facts.label(s)) for s in facts.values(PROV + "wasDerivedFrom")],
        "roles": await members(runtime, platform) if platform else [],
        "cities": await cities(runtime, facts.iri),
        **await describe(
            runtime,
            facts,
            skip=(
                *(CAP + name for name, _ in CELLS),
                CAP + "profileOf",
                CAP + "formalisationLevel",
                CAP + "listsCity",
                DCTERMS + "spatial",
                SCHEMA + "about",
                PROV + "wasDerivedFrom",
            ),
        ),
    }
