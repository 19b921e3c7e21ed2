"""The page of a national platform: its country, its members and their roles, its profile, its cities."""

from __future__ import annotations

from api.plumbing.runtime import Runtime
from api.views.kinds import Facts
from api.views.kinds.generic import CAP, ORG, SCHEMA, capi, describe, value
from api.views.kinds.shared import is_true, link, linked_rows

CLASSES = ("cap:NationalPlatform",)
TEMPLATE = "kinds/platform.html"
PRIORITY = 10  # a national platform is also an org:Organization


async def members(runtime: Runtime, platform: str) -> list[dict[str, object]]:
    """The platform's members grouped by role, each with the names the profile printed for it."""
    roles: dict[str, dict[str, object]] = {}
    for row in await linked_rows(runtime, "platform_members", platform):
        role = roles.setdefault(row["role"], {"role": row["role_name"], "members": {}})
        member = role["members"].setdefault(  # type: ignore[attr-defined]
            row["member"], link(runtime, row["member"], row["name"]) | {"printed": ""}
        )
        if row.get("printed") and row["printed"] != row["name"]:
            member["printed"] = row["printed"]
    return [{"role": r["role"], "members": list(r["members"].values())} for r in roles.values()]  # type: ignore[attr-defined]


async def cities(runtime: Runtime, iri: str) -> list[dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for row in await linked_rows(runtime, "platform_cities", iri):
        city = found.setdefault(
            row["city"],
            link(runtime, row["city"], row["name"]) | {"mission": is_true(row["mission_city"]), "roles": []},
        )
        if row.get("role") and row["role"] not in city["roles"]:  # type: ignore[operator]
            city["roles"].append(row["role"])  # type: ignore[attr-defined]
    return list(found.values())


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    profiles = [link(runtime, p, facts.label(p)) for p in facts.subjects(capi(runtime, "profileOf"))]
    return {
        "countries": [value(runtime, t, facts.labels) for t in facts.outgoing.get(SCHEMA + "location", [])],
        "profiles": profiles,
        "roles": await members(runtime, facts.iri),
        "cities": await cities(runtime, facts.iri),
        **await describe(
            runtime,
            facts,
            skip=(SCHEMA + "location", CAP + "profileOf", ORG + "organization", CAP + "platform", SCHEMA + "about"),
        ),
    }
