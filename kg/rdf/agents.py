"""Organisations, national platforms and their profiles, memberships and cities."""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import URIRef

from kg.errors import CurationError
from kg.namespaces import DCTERMS, ORG, SCHEMA, SKOS
from kg.rdf.challenges import Challenges
from kg.rdf.context import MappingContext
from kg.rdf.documents import Documents
from kg.rdf.materials import Materials
from kg.rdf.reference import country_iri
from kg.sources.cells import normalise, split_top_level
from kg.sources.curation import Entry
from kg.sources.model import Located, Profile
from kg.sources.text import Span

ORGANISATION_TYPES = {
    "ministry": (ORG.FormalOrganization, SCHEMA.GovernmentOrganization),
    "agency": (ORG.FormalOrganization, SCHEMA.GovernmentOrganization),
    "eu-body": (ORG.FormalOrganization, SCHEMA.GovernmentOrganization),
    "university": (ORG.FormalOrganization, SCHEMA.CollegeOrUniversity),
    "research": (ORG.FormalOrganization, SCHEMA.ResearchOrganization),
    "municipality": (ORG.FormalOrganization, SCHEMA.GovernmentOrganization),
    "region": (ORG.FormalOrganization, SCHEMA.GovernmentOrganization),
    "company": (ORG.FormalOrganization, SCHEMA.Corporation),
    "association": (ORG.FormalOrganization, SCHEMA.NGO),
    "network": (ORG.OrganizationalCollaboration,),
    "programme": (ORG.Organization,),
    "international": (ORG.FormalOrganization,),
    "unit": (ORG.OrganizationalUnit,),
    "other": (ORG.Organization,),
}
PROFILE_TEXT = {
    "facilitator": "facilitatorText",
    "national_actors": "nationalActorsText",
    "regional_actors": "regionalActorsText",
    "cities": "citiesText",
    "formalisation": "formalisationText",
    "collaboration_formats": "collaborationFormatsText",
    "dedicated_support": "dedicatedSupportText",
}
MEMBER_ROLES = {
    "facilitators": ("facilitator", "facilitator", "Facilitator"),
    "national_actors": ("national_actors", "national-level-actor", "National level actor"),
    "regional_actors": ("regional_actors", "regional-level-actor", "Regional level actor"),
}
CITY_ROLES = {
    "mission-city": "Mission City",
    "applicant-city": "Mission applicant city",
    "mission-minded-city": "Mission-minded city",
    "pioneer-city": "Pioneer city",
    "participating-city": "Participating city",
}
FORMALISATION_LEVELS = {
    "mou": "Memorandum of Understanding",
    "moc": "Memorandum of Cooperation",
    "informal": "Informal",
    "intermediate": "Intermediate level of formalisation",
    "formal-structure": "Formal structure without an MoU",
    "uncertain": "Uncertain (printed with a question mark)",
    "none-stated": "None stated",
}


@dataclass
class Item:
    text: str
    kind: str
    country: str | None


class Agents:
    def __init__(self, ctx: MappingContext, documents: Documents, challenges: Challenges, materials: Materials) -> None:
        self.ctx = ctx
        self.documents = documents
        self.challenges = challenges
        self.materials = materials
        self.file = documents.portfolio_file
        self.named: dict[str, dict[str | None, URIRef]] = {}  # normalised printed name → country → IRI
        self.curated: set[URIRef] = set()
        self.cities: dict[str, URIRef] = {}
        self._lists = self._partner_lists()

    def add(self) -> None:
        self._roles()
        self._curated_organisations()
        self._changes()
        for printed in self.materials.printed:
            card = printed.card
            home = self._home_country(card.country)
            if card.partners:
                for target in self._partners(card.partners, printed.appearance, home):
                    self.ctx.add(printed.appearance, self.ctx.cap.appearancePartner, target)
            if card.organisers:
                for target in self._partners(card.organisers, printed.appearance, home):
                    self.ctx.add(printed.material, SCHEMA.organizer, target)
        for node, dive in self.challenges.deep_dives:
            if dive.partners:
                for target in self._partners(
                    dive.partners, node, self._home_country((dive.title or "").rsplit(",", 1)[-1].strip().title())
                ):
                    self.ctx.add(node, self.ctx.cap.appearancePartner, target)
        profiles = {e.text("heading"): e for e in self.ctx.curation.file("profiles.yaml").entries("profiles")}
        for profile in self.ctx.sources.portfolio.profiles:
            self._profile(profile, profiles.pop(profile.heading, None))
        for heading, entry in profiles.items():
            raise entry.error(f"the portfolio has no profile 'Core Country: {heading}'", "heading")

    # -- vocabularies ---------------------------------------------------------------

    def _roles(self) -> None:
        ctx = self.ctx
        roles = ctx.typed(ctx.mint("scheme/roles"), SKOS.ConceptScheme)
        ctx.add(roles, SKOS.prefLabel, "Roles in a national platform", lang="en")
        for _, slug, label in MEMBER_ROLES.values():
            role = ctx.typed(ctx.mint(f"role/{slug}"), ORG.Role)
            ctx.add(role, SKOS.prefLabel, label, lang="en")
            ctx.add(role, SKOS.inScheme, roles)
        for scheme_slug, label, values, prefix in (
            ("city-roles", "Roles of cities in a national platform", CITY_ROLES, "city-role"),
            ("formalisation", "Levels of formalisation of a national platform", FORMALISATION_LEVELS, "formalisation"),
        ):
            scheme = ctx.typed(ctx.mint(f"scheme/{scheme_slug}"), SKOS.ConceptScheme)
            ctx.add(scheme, SKOS.prefLabel, label, lang="en")
            for slug, concept_label in values.items():
                concept = ctx.typed(ctx.mint(f"{prefix}/{slug}"), SKOS.Concept)
                ctx.add(concept, SKOS.prefLabel, concept_label, lang="en")
                ctx.add(concept, SKOS.inScheme, scheme)

    # -- organisations --------------------------------------------------------------

    def _curated_organisations(self) -> None:
        ctx = self.ctx
        seen_ids: set[str] = set()
        units: list[tuple[Entry, URIRef, str]] = []
        for entry in ctx.curation.file("organisations.yaml").entries("organisations"):
            org_id, name = entry.text("id"), entry.text("name")
            if org_id in seen_ids:
                raise entry.error(f"organisation id {org_id!r} is used twice", "id")
            seen_ids.add(org_id)
            kind = entry.text("type", required=False) or "other"
            if kind not in ORGANISATION_TYPES:
                raise entry.error(f"type {kind!r} is not one of {sorted(ORGANISATION_TYPES)}", "type")
            iri = ctx.typed(ctx.mint(f"org/{org_id}"), *ORGANISATION_TYPES[kind])
            ctx.add(iri, SKOS.prefLabel, name, lang="en")
            acronym = entry.text("acronym", required=False)
            ctx.add(iri, SKOS.altLabel, acronym)
            labels = entry.get("labels") or {}
            for language, label in labels.items():
                if language != "__line__":
                    ctx.add(iri, SKOS.prefLabel if language != "en" else SKOS.altLabel, label, lang=language)
            self._place(iri, entry.text("country", required=False), entry)
            country = entry.text("country", required=False)
            for printed in {*(str(p) for p in entry.values("names")), name}:
                candidates = self.named.setdefault(normalise(printed), {})
                if country in candidates and candidates[country] != iri:
                    raise entry.error(
                        f"the name {printed!r} already denotes {candidates[country]} in {country}", "names"
                    )
                candidates[country] = iri
                if printed not in {name, acronym}:
                    ctx.add(iri, SKOS.altLabel, printed)
            self.curated.add(iri)
            ctx.decision(iri, entry.note())
            if parent := entry.text("unit_of", required=False):
                units.append((entry, iri, parent))
        for entry, iri, parent in units:
            if ctx.mint(f"org/{parent}") not in self.curated:
                raise entry.error(f"unit_of names no organisation with id {parent!r}", "unit_of")
            ctx.add(iri, ORG.unitOf, ctx.mint(f"org/{parent}"))

    def _place(self, iri: URIRef, code: str | None, entry: Entry) -> None:
        if not code or code in {"EU", "INT"}:
            if code == "EU":
                country = self.ctx.curation.country("EU")
                if country:
                    self.ctx.add(iri, SCHEMA.location, country_iri(country))
            return
        country = self.ctx.curation.country(code)
        if country is None:
            raise entry.error(f"unknown country code {code!r}", "country")
        self.ctx.add(iri, SCHEMA.location, country_iri(country))

    def organisation(self, name: str, *, country: str | None = None, where: str | None = None) -> URIRef:
        """The organisation a printed name denotes; names no curation entry knows get their own resource."""
        candidates = self.named.get(normalise(name), {})
        if len(candidates) == 1:
            return next(iter(candidates.values()))
        if country in candidates:
            return candidates[country]
        if candidates:
            raise CurationError(
                f"{name!r} ({where}) names organisations in {sorted(map(str, candidates))}; the "
                "list gives no country to choose",
                file="organisations.yaml",
            )
        ctx = self.ctx
        iri = ctx.typed(ctx.mint(f"org/{ctx.slug(name)}"), ORG.Organization)
        ctx.add(iri, SKOS.prefLabel, name, lang="en")
        if country and (found := ctx.curation.country(country)):
            ctx.add(iri, SCHEMA.location, country_iri(found))
        self.named[normalise(name)] = {country: iri}
        ctx.finding(
            "Info",
            f"organisation {name!r} is not in organisations.yaml; it got a resource of its own",
            focus=iri,
            source=where,
            group="organisations",
        )
        return iri

    def _changes(self) -> None:
        ctx = self.ctx
        for entry in ctx.curation.file("organisations.yaml").entries("changes"):
            before, after = ctx.mint(f"org/{entry.text('from')}"), ctx.mint(f"org/{entry.text('to')}")
            for iri, key in ((before, "from"), (after, "to")):
                if iri not in self.curated:
                    raise entry.error(f"no organisation with id {entry.text(key)!r}", key)
            change = ctx.typed(ctx.mint(f"change/{entry.text('id')}"), ORG.ChangeEvent)
            ctx.add(change, ORG.originalOrganization, before)
            ctx.add(change, ORG.resultingOrganization, after)
            ctx.text(change, DCTERMS.description, entry.text("description", required=False))
            for source in entry.values("sources"):
                file_name, _, line = str(source).partition(":")
                if file_name not in ctx.sources.documents or not line.isdigit():
                    raise entry.error(f"source {source!r} is not 'file:line'", "sources")
                ctx.locate(change, file_name, Span(int(line), int(line)))

    # -- partner lists --------------------------------------------------------------

    def _partner_lists(self) -> dict[str, tuple[Entry, list[Item]]]:
        lists: dict[str, tuple[Entry, list[Item]]] = {}
        for entry in self.ctx.curation.file("partner_lists.yaml").entries("lists"):
            raw = entry.text("raw")
            items = []
            for item in entry.entries("items"):
                text = item.text("text")
                if text not in raw:
                    raise item.error(f"{text!r} is not part of the printed list", "text")
                kind = item.text("kind", required=False) or "organisation"
                if kind not in {"organisation", "country", "city", "group"}:
                    raise item.error(f"kind {kind!r} is not organisation, country, city or group", "kind")
                items.append(Item(text, kind, item.text("country", required=False)))
            lists[normalise(raw)] = (entry, items)
        return lists

    def _home_country(self, cell: str) -> str | None:
        """The country of a card whose country cell names exactly one country."""
        country = self.ctx.curation.country(cell.strip())
        return country.alpha2 if country and not country.is_region else None

    def _partners(self, located: Located, focus: URIRef, home: str | None = None) -> list[URIRef]:
        ctx = self.ctx
        where = f"{self.file}:{located.line}"
        curated = self._lists.get(normalise(located.text))
        if curated is None:
            items = [Item(text, "organisation", None) for text in split_top_level(located.text)]
            ctx.finding(
                "Warning",
                "partner list not segmented in partner_lists.yaml; split at commas and semicolons",
                focus=focus,
                source=where,
                group="organisations",
            )
        else:
            items = curated[1]
        targets = []
        for item in items:
            if item.kind == "organisation":
                targets.append(self.organisation(item.text, country=item.country or home, where=where))
            elif item.kind == "country":
                country = ctx.curation.country(item.country or item.text)
                if country is None:
                    raise CurationError(
                        f"unknown country {item.text!r} in a partner list",
                        file="partner_lists.yaml",
                        line=curated[0].line if curated else None,
                    )
                targets.append(country_iri(country))
            elif item.kind == "city":
                targets.append(self.city(item.text, item.country))
        return targets

    # -- cities ---------------------------------------------------------------------

    def city(self, name: str, country_code: str | None) -> URIRef:
        ctx = self.ctx
        key = normalise(name)
        if key not in self.cities:
            iri = ctx.typed(ctx.mint(f"city/{ctx.slug(name)}"), ctx.cap.City)
            ctx.add(iri, SKOS.prefLabel, name)
            ctx.add(iri, SCHEMA.name, name)
            self.cities[key] = iri
        if country_code and (country := ctx.curation.country(country_code)):
            ctx.add(self.cities[key], SCHEMA.containedInPlace, country_iri(country))
        return self.cities[key]

    # -- national platform profiles -------------------------------------------------

    def _profile(self, profile: Profile, entry: Entry | None) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        code = entry.text("country") if entry else None
        country = ctx.curation.country(code or profile.heading)
        if country is None:
            raise ctx.sources.by_role("portfolio").text.error(
                f"unknown country {profile.heading!r} in a profile heading", profile.span.first
            )
        cc = country.alpha2.lower()
        section = self.documents.section(
            f"profile-{cc}", f"Snapshot Profile of the National Platform: {profile.heading}", profile.span
        )
        platform = ctx.typed(ctx.mint(f"platform/{cc}"), cap.NationalPlatform)
        ctx.add(platform, SKOS.prefLabel, f"National platform of {country.name}", lang="en")
        ctx.add(platform, SCHEMA.location, country_iri(country))
        node = ctx.typed(ctx.mint(f"profile/{ctx.sources.portfolio.edition_year}/{cc}"), cap.PlatformProfile)
        ctx.title(node, f"Snapshot Profile of the National Platform: {profile.heading}")
        ctx.add(node, cap.profileOf, platform)
        ctx.add(node, DCTERMS.spatial, country_iri(country))
        for key, cell in profile.cells.items():
            ctx.text(node, cap[PROFILE_TEXT[key]], cell.text)
        ctx.locate(node, self.file, profile.span, section)
        if entry is None:
            ctx.finding(
                "Warning",
                f"profile {profile.heading!r} has no entry in profiles.yaml: no memberships, "
                "cities or formalisation level",
                focus=node,
                group="profiles",
            )
            return
        for decision in entry.values("decisions"):
            ctx.decision(node, str(decision))
        for field_name, (cell_key, role, _) in MEMBER_ROLES.items():
            cell = profile.cells[cell_key]
            for item in entry.entries(field_name):
                text = item.text("text")
                if text not in cell.text:
                    raise item.error(f"{text!r} is not in the {cell.label!r} cell of {profile.heading}", "text")
                member = self.organisation(text, country=country.alpha2, where=f"{self.file}:{cell.line}")
                membership = ctx.typed(ctx.unique(f"membership/{cc}/{member.rsplit('/', 1)[1]}/{role}"), ORG.Membership)
                ctx.add(membership, ORG.member, member)
                ctx.add(membership, ORG.organization, platform)
                ctx.add(membership, ORG.role, ctx.mint(f"role/{role}"))
                ctx.add(membership, cap.partnersAsPrinted, text)
                ctx.decision(membership, item.note())
                ctx.locate(membership, self.file, Span(cell.line, cell.line), node)
        cities_cell = profile.cells["cities"]
        for item in entry.entries("cities"):
            text, role = item.text("text"), item.text("role")
            if text not in cities_cell.text:
                raise item.error(f"{text!r} is not in the Cities cell of {profile.heading}", "text")
            if role not in CITY_ROLES:
                raise item.error(f"role {role!r} is not one of {sorted(CITY_ROLES)}", "role")
            city = self.city(text, country.alpha2)
            if role == "mission-city":
                ctx.typed(city, cap.MissionCity)
            participation = ctx.typed(
                ctx.unique(f"city-participation/{cc}/{city.rsplit('/', 1)[1]}"), cap.CityParticipation
            )
            ctx.add(node, cap.listsCity, participation)
            ctx.add(participation, cap.city, city)
            ctx.add(participation, cap.platform, platform)
            ctx.add(participation, cap.cityRole, ctx.mint(f"city-role/{role}"))
            ctx.decision(participation, item.note())
            ctx.locate(participation, self.file, Span(cities_cell.line, cities_cell.line), node)
        formalisation = entry.get("formalisation") or {}
        level = formalisation.get("level")
        if level:
            if level not in FORMALISATION_LEVELS:
                raise entry.error(
                    f"formalisation level {level!r} is not one of {sorted(FORMALISATION_LEVELS)}", "formalisation"
                )
            ctx.add(node, cap.formalisationLevel, ctx.mint(f"formalisation/{level}"))
            ctx.decision(node, formalisation.get("note"))
