"""The page of any other kind of thing: its description, then what it links to and what links to it,
grouped by the property's name in words, each value by its name.

Served for the broad classes most resources have (SKOS concepts and schemes, PROV entities, schema.org
creative works and places, W3C ORG memberships …) with the lowest priority, so a kind of its own wins.
Other kinds' pages reuse `describe` for what they do not show themselves.
"""

from __future__ import annotations

import re
from collections import defaultdict

from api.plumbing.runtime import Runtime
from api.views.kinds import LABELS, RDF_TYPE, Facts
from api.views.kinds.shared import linked_rows, source_link
from api.views.render import local
from kg.engines.protocol import Term

CLASSES = (
    "http://www.w3.org/2004/02/skos/core#Concept",
    "http://www.w3.org/2004/02/skos/core#ConceptScheme",
    "http://www.w3.org/2004/02/skos/core#Collection",
    "http://www.w3.org/ns/prov#Entity",
    "http://www.w3.org/ns/prov#Activity",
    "http://schema.org/CreativeWork",
    "http://schema.org/CreativeWorkSeries",
    "http://schema.org/Place",
    "http://schema.org/Thing",
    "http://www.w3.org/ns/org#Membership",
    "http://www.w3.org/ns/org#Role",
    "http://www.w3.org/ns/org#ChangeEvent",
    "http://purl.org/dc/terms/Location",
    "http://purl.org/dc/terms/PeriodOfTime",
    "http://purl.org/dc/terms/LinguisticSystem",
    "cap:Portfolio",
    "cap:PortfolioEdition",
    "cap:PortfolioSection",
    "cap:SourceText",
    "cap:ProjectActivity",
    "cap:CountryParticipation",
    "cap:CityParticipation",
    "cap:LearnMoreLink",
    "cap:InterviewQuote",
)
TEMPLATE = "thing.html"
PRIORITY = -100

SKOS = "http://www.w3.org/2004/02/skos/core#"
SCHEMA = "http://schema.org/"
DCTERMS = "http://purl.org/dc/terms/"
ORG = "http://www.w3.org/ns/org#"
PROV = "http://www.w3.org/ns/prov#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
DCAT = "http://www.w3.org/ns/dcat#"
CAP = "https://w3id.org/capacities/lp/ontology#"
EU_COUNTRY = "http://publications.europa.eu/resource/authority/country/"
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"

DESCRIPTIONS = (DCTERMS + "description", SCHEMA + "description", SKOS + "definition", RDFS + "comment")
# shown elsewhere on the page (the heading, the source links), or only in the data section
HIDDEN = {RDF_TYPE, *LABELS, *DESCRIPTIONS, CAP + "firstLine", CAP + "lastLine", CAP + "sourceLocator"}

# names for the properties the ontology does not label (vocabularies outside the project)
PROPERTY_NAMES = {
    SKOS + "altLabel": "also printed as",
    SKOS + "hiddenLabel": "also written",
    SKOS + "notation": "code",
    SKOS + "note": "note",
    SKOS + "editorialNote": "editorial note",
    SKOS + "member": "member",
    SKOS + "definition": "definition",
    SCHEMA + "alternativeHeadline": "also titled",
    SCHEMA + "about": "about",
    SCHEMA + "containedInPlace": "in",
    SCHEMA + "location": "country",
    SCHEMA + "startDate": "date",
    SCHEMA + "endDate": "until",
    SCHEMA + "eventAttendanceMode": "attendance",
    SCHEMA + "recordedIn": "recording",
    SCHEMA + "recordedAt": "recording of",
    SCHEMA + "isPartOf": "part of",
    SCHEMA + "inLanguage": "language",
    SCHEMA + "learningResourceType": "type of resource",
    SCHEMA + "organizer": "organiser",
    SCHEMA + "position": "position",
    SCHEMA + "text": "text",
    SCHEMA + "step": "step",
    SCHEMA + "spokenByCharacter": "spoken by",
    SCHEMA + "funding": "funding",
    SCHEMA + "headline": "headline",
    SCHEMA + "version": "version",
    SCHEMA + "encodingFormat": "format",
    DCTERMS + "spatial": "country",
    DCTERMS + "temporal": "period",
    DCTERMS + "language": "language",
    DCTERMS + "subject": "subject",
    DCTERMS + "isPartOf": "part of",
    DCTERMS + "isVersionOf": "edition of",
    DCTERMS + "issued": "issued",
    DCTERMS + "rights": "rights",
    DCTERMS + "source": "source",
    DCTERMS + "extent": "extent",
    ORG + "organization": "organisation",
    ORG + "role": "role",
    ORG + "unitOf": "unit of",
    PROV + "wasDerivedFrom": "read from",
    PROV + "hadPrimarySource": "primary source",
    DCAT + "startDate": "from",
    DCAT + "endDate": "to",
    RDFS + "seeAlso": "see also",
}
# how a property reads from the page of the thing it points to
INVERSE_NAMES = {
    PROV + "wasDerivedFrom": "Read from this",
    SKOS + "inScheme": "Concepts in this scheme",
    SKOS + "topConceptOf": "Top concepts",
    SKOS + "broader": "Narrower",
    SKOS + "member": "Member of",
    SCHEMA + "location": "Located here",
    SCHEMA + "containedInPlace": "Places in it",
    SCHEMA + "isPartOf": "Parts",
    SCHEMA + "about": "Written about it",
    DCTERMS + "spatial": "Concerning it",
    DCTERMS + "isPartOf": "Parts",
    DCTERMS + "subject": "With this subject",
    ORG + "role": "Holding this role",
    ORG + "member": "Memberships",
    ORG + "organization": "Members",
    CAP + "cityRole": "Cities in this role",
    CAP + "countryRole": "Countries in this role",
    CAP + "materialType": "Materials of this type",
    CAP + "formalisationLevel": "Platforms at this level",
    CAP + "city": "Taking part in",
    CAP + "country": "Taking part in",
    CAP + "platform": "Taking part",
    CAP + "listsCity": "Listed in",
    CAP + "nationalPartner": "National partner of",
    CAP + "isNationalPartnerOf": "National partners",
    SCHEMA + "recordedIn": "Recording of",
    SCHEMA + "recordedAt": "Recordings",
}
SHOWN = 60  # values per group before "and N more"


def capi(runtime: Runtime, name: str) -> str:
    """A term of the project's ontology under the configured base IRI."""
    return str(runtime.ns.cap) + name


def canonical(runtime: Runtime, predicate: str) -> str:
    """A predicate with the project's ontology under the default base IRI (the keys of the maps above)."""
    cap = str(runtime.ns.cap)
    return CAP + predicate[len(cap) :] if predicate.startswith(cap) else predicate


def words(name: str) -> str:
    """A property's local name in words: "listsCity" → "lists city"."""
    local_name = re.split(r"[#/]", name)[-1]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", local_name).replace("_", " ").replace("-", " ").lower()


def fallback_name(iri: str) -> str:
    """A readable name for a thing the graph does not name: its IRI's last path segments in words."""
    parts = [p for p in iri.rstrip("/").split("/")[-2:] if p]
    return " ".join(p.replace("-", " ") for p in parts) or iri


async def names_of(runtime: Runtime, facts: Facts) -> dict[str, str]:
    """Names for the unnamed neighbours of a resource (memberships, participations, quotes …)."""
    parts: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in await linked_rows(runtime, "names", facts.iri):
        parts[row["n"]][row["part"]].append(row["value"])
    return {iri: compose(iri, found) for iri, found in parts.items() if compose(iri, found)}


def compose(iri: str, parts: dict[str, list[str]]) -> str:
    def one(name: str) -> str:
        return sorted(parts.get(name, []))[0] if parts.get(name) else ""

    member, role, organisation = one(ORG + "member"), one(ORG + "role"), one(ORG + "organization")
    if member or organisation:
        return f"{member or 'member'}: {role or 'member'}" + (f" in the {organisation}" if organisation else "")
    city = one(CAP + "city")
    if city:
        role = one(CAP + "cityRole")
        platform = one(CAP + "platform")
        return city + (f" ({role})" if role else "") + (f" in the {platform}" if platform else "")
    country = one(CAP + "country")
    if country:
        role = one(CAP + "countryRole")
        return f"{country}: {role}" if role else country
    before, after = one(ORG + "originalOrganization"), one(ORG + "resultingOrganization")
    if before or after:
        return f"{before} became {after}"
    start, end = one(DCAT + "startDate"), one(DCAT + "endDate")
    if start or end:
        return f"{start}–{end}"
    text = one(SCHEMA + "text") or one(CAP + "placeholderText")
    if text:
        return "“" + (text if len(text) <= 90 else text[:88].rsplit(" ", 1)[0] + " …") + "”"
    material = one(CAP + "appearanceOf")
    if material:
        return f"card of {material}"
    return ""


def value(runtime: Runtime, term: Term, names: dict[str, str]) -> dict[str, str | None]:
    """One value as a page shows it: a thing by its name, linked; a text as it is."""
    kind, lexical, datatype, _ = term
    if kind == "iri":
        if lexical.startswith(EU_COUNTRY):
            href = "/country/" + lexical[len(EU_COUNTRY) :]
        elif lexical.startswith(str(runtime.ns.id)) or lexical.startswith(str(runtime.ns.cap)):
            href = local(runtime, lexical)
        else:
            href = lexical
        return {"label": names.get(lexical) or fallback_name(lexical), "path": href}
    if kind == "literal" and datatype == XSD_BOOLEAN:
        return {"label": "yes" if lexical == "true" else "no", "path": None}
    if kind == "bnode":
        return {"label": "(unnamed)", "path": None}
    return {"label": lexical, "path": None}


async def describe(runtime: Runtime, facts: Facts, skip: tuple[str, ...] = ()) -> dict[str, object]:
    """The description, the source links, and the groups of linked things, for people."""
    property_names = {row["p"]: row["label"] for row in await linked_rows(runtime, "property_labels", facts.iri)}
    names = {**await names_of(runtime, facts), **facts.labels}

    def name_of(predicate: str) -> str:
        actual = capi(runtime, predicate[len(CAP) :]) if predicate.startswith(CAP) else predicate
        return PROPERTY_NAMES.get(predicate) or property_names.get(actual) or words(predicate)

    hidden = HIDDEN | set(skip)
    groups = []
    for predicate, terms in facts.outgoing.items():
        predicate = canonical(runtime, predicate)
        if predicate in hidden:
            continue
        groups.append(_group(runtime, name_of(predicate), terms, names, sort=predicate != SCHEMA + "step"))
    pointing = []
    for predicate, terms in facts.incoming.items():
        predicate = canonical(runtime, predicate)
        if predicate in hidden:
            continue
        heading = INVERSE_NAMES.get(predicate) or f"Named as “{name_of(predicate)}” by"
        pointing.append(_group(runtime, heading, terms, names, sort=True))
    description = [
        text for predicate in DESCRIPTIONS for text in facts.values(predicate) if not text.startswith("http")
    ]
    sources = [
        link for locator in facts.values(capi(runtime, "sourceLocator")) if (link := source_link(runtime, locator))
    ]
    return {
        "description": description,
        "sources": sorted(sources, key=lambda s: int(s["first"])),
        "groups": sorted(groups, key=lambda g: str(g["name"]).casefold()),
        "pointing": sorted(pointing, key=lambda g: str(g["name"]).casefold()),
    }


def _group(runtime: Runtime, name: str, terms: list[Term], names: dict[str, str], sort: bool) -> dict[str, object]:
    seen: dict[tuple[str, str | None], dict[str, str | None]] = {}
    for term in terms:
        shown = value(runtime, term, names)
        seen.setdefault((str(shown["label"]), shown["path"]), shown)
    values = list(seen.values())
    if sort:
        values.sort(key=lambda v: str(v["label"]).casefold())
    return {"name": name[:1].upper() + name[1:], "values": values[:SHOWN], "more": max(0, len(values) - SHOWN)}


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    return await describe(runtime, facts)
