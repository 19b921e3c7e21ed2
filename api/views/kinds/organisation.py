"""The page of an organisation: what kind it is, its country, its roles in the national platforms, the
materials it is a national partner of, the names it is printed with, and its renamings."""

from __future__ import annotations

from api.plumbing.runtime import Runtime, field_text
from api.views.kinds import Facts
from api.views.kinds.generic import CAP, ORG, SCHEMA, SKOS, describe, value
from api.views.kinds.shared import link, linked_rows
from api.views.render import local

CLASSES = (
    "http://www.w3.org/ns/org#Organization",
    "http://www.w3.org/ns/org#FormalOrganization",
    "http://www.w3.org/ns/org#OrganizationalUnit",
    "http://www.w3.org/ns/org#OrganizationalCollaboration",
    "http://schema.org/GovernmentOrganization",
    "http://schema.org/NGO",
    "http://schema.org/ResearchOrganization",
    "http://schema.org/CollegeOrUniversity",
    "http://schema.org/Corporation",
)
TEMPLATE = "kinds/organisation.html"

# what kind of organisation, in words (most specific first)
KINDS = {
    SCHEMA + "GovernmentOrganization": "government body",
    SCHEMA + "CollegeOrUniversity": "university",
    SCHEMA + "ResearchOrganization": "research organisation",
    SCHEMA + "NGO": "non-governmental organisation",
    SCHEMA + "Corporation": "company",
    ORG + "OrganizationalUnit": "unit of an organisation",
    ORG + "OrganizationalCollaboration": "network or partnership",
}
SHOWN_ELSEWHERE = (
    SCHEMA + "location",
    SKOS + "altLabel",
    ORG + "hasMembership",
    ORG + "changedBy",
    ORG + "resultedFrom",
    ORG + "resultingOrganization",
    ORG + "originalOrganization",
    ORG + "member",
    CAP + "isNationalPartnerOf",
)


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    iri = facts.iri
    roles, materials = [], []
    for row in await runtime.rows("organisation", {"organisation": iri}):
        target = link(runtime, field_text(row, "target"), field_text(row, "label"))
        if row["kind"] == "platform":
            roles.append({"role": field_text(row, "role"), "platform": target})
        else:
            materials.append(target)
    changes = []
    for row in await linked_rows(runtime, "organisation_changes", iri):
        renamed_from = row["after"] == iri
        other = row["before"] if renamed_from else row["after"]
        other_name = row["before_name"] if renamed_from else row["after_name"]
        changes.append(
            {
                "words": "Renamed from" if renamed_from else "Renamed to",
                "other": link(runtime, other, other_name),
                "date": row.get("date"),
                "change": local(runtime, row["change"]),
            }
        )
    kinds = [KINDS[t] for t in KINDS if t in facts.types]
    unit_of = [value(runtime, t, facts.labels) for t in facts.outgoing.get(ORG + "unitOf", [])]
    return {
        "kind_words": kinds[0] if kinds else "organisation",
        "unit_of": unit_of,
        "countries": [value(runtime, t, facts.labels) for t in facts.outgoing.get(SCHEMA + "location", [])],
        "printed": facts.values(SKOS + "altLabel"),
        "roles": roles,
        "materials": materials,
        "changes": changes,
        **await describe(runtime, facts, skip=(*SHOWN_ELSEWHERE, ORG + "unitOf")),
    }
