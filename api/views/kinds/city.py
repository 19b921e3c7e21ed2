"""The page of a city: Mission City or not, its country, the national platform of its country and its
role there, and the materials that name it as a national partner."""

from __future__ import annotations

from api.plumbing.runtime import Runtime
from api.views.kinds import Facts
from api.views.kinds.generic import CAP, SCHEMA, SKOS, capi, describe, value
from api.views.kinds.shared import link, linked_rows

CLASSES = ("cap:City", "cap:MissionCity")
TEMPLATE = "kinds/city.html"
PRIORITY = 10


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    countries = facts.outgoing.get(SCHEMA + "containedInPlace", [])
    platforms: dict[str, dict[str, object]] = {}
    for row in await linked_rows(runtime, "city", facts.iri):
        platform = platforms.setdefault(
            row["platform"],
            link(runtime, row["platform"], row["platform_name"])
            | {
                "roles": [],
                "profile": link(runtime, row["profile"], row["profile_title"]) if row.get("profile") else None,
            },
        )
        if row.get("role") and row["role"] not in platform["roles"]:  # type: ignore[operator]
            platform["roles"].append(row["role"])  # type: ignore[attr-defined]
    country_platforms = []
    if not platforms:  # the platform of its country, though the profile does not list the city
        for term in countries:
            for row in await linked_rows(runtime, "country_platform", term[1]):
                country_platforms.append(link(runtime, row["platform"], row["platform_name"]))
    materials = sorted(
        {
            value(runtime, t, facts.labels)["path"]: value(runtime, t, facts.labels)
            for t in facts.outgoing.get(capi(runtime, "isNationalPartnerOf"), [])
        }.values(),
        key=lambda v: str(v["label"]).casefold(),
    )
    return {
        "mission_city": capi(runtime, "MissionCity") in facts.types,
        "countries": [value(runtime, t, facts.labels) for t in countries],
        "platforms": list(platforms.values()),
        "country_platforms": country_platforms,
        "materials": materials,
        **await describe(
            runtime,
            facts,
            skip=(
                SCHEMA + "containedInPlace",
                CAP + "isNationalPartnerOf",
                CAP + "nationalPartner",
                CAP + "city",
                SKOS + "prefLabel",
            ),
        ),
    }
