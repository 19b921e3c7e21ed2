"""Countries, languages, the glossary and the project's country groups."""

from __future__ import annotations

from rdflib import Literal, URIRef

from kg.errors import CurationError
from kg.namespaces import DCTERMS, EUCOUNTRY, EULANG, EUVOC, SCHEMA, SKOS, WD
from kg.rdf.context import MappingContext
from kg.rdf.documents import Documents
from kg.sources.curation import Country
from kg.sources.text import Span


def country_iri(country: Country) -> URIRef:
    return EUCOUNTRY[country.alpha3]


class Reference:
    def __init__(self, ctx: MappingContext, documents: Documents) -> None:
        self.ctx = ctx
        self.documents = documents
        self.core_group = ctx.mint("country-group/core-countries")
        self.international = ctx.mint("location/international")

    def add(self) -> None:
        self._countries()
        self._languages()
        self._glossary()
        self._core_countries()
        self._international()
        self._participations()

    def _countries(self) -> None:
        ctx = self.ctx
        for country in ctx.curation.all_countries():
            iri = country_iri(country)
            if country.is_region:
                ctx.typed(iri, DCTERMS.Location, SCHEMA.AdministrativeArea)
            else:
                ctx.typed(iri, SCHEMA.Country, DCTERMS.Location)
            if country.alpha2 != country.alpha3:
                ctx.add(iri, SKOS.notation, Literal(country.alpha2, datatype=EUVOC.ISO_3166_1_ALPHA_2))
            ctx.add(iri, SKOS.notation, Literal(country.alpha3, datatype=EUVOC.ISO_3166_1_ALPHA_3))
            if country.eu_code:
                ctx.add(iri, SKOS.notation, Literal(country.eu_code, datatype=EUVOC.ISG_COU))
            ctx.add(iri, SKOS.prefLabel, country.name, lang="en")
            for variant in country.variants:
                if len(variant) > 3:
                    ctx.add(iri, SKOS.altLabel, variant, lang="en")
            if country.wikidata:
                ctx.add(iri, SKOS.exactMatch, WD[country.wikidata])

    def _languages(self) -> None:
        ctx = self.ctx
        for languages in ctx.curation.languages.values():
            for language in languages:
                iri = EULANG[language.eu_code]
                ctx.typed(iri, DCTERMS.LinguisticSystem)
                ctx.add(iri, SKOS.prefLabel, language.label, lang="en")
                ctx.add(iri, SKOS.notation, language.bcp47)

    def _glossary(self) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        scheme = ctx.typed(ctx.mint("scheme/glossary"), SKOS.ConceptScheme)
        ctx.add(scheme, SKOS.prefLabel, "Glossary of the acronyms the CapaCITIES sources use", lang="en")
        documents = ctx.sources.documents
        for entry in ctx.curation.file("glossary.yaml").entries("terms"):
            key, acronym = entry.text("key"), entry.text("acronym")
            term = ctx.typed(ctx.mint(f"glossary/{key}"), cap.GlossaryTerm)
            ctx.add(term, SKOS.inScheme, scheme)
            ctx.add(term, SKOS.notation, acronym)
            expansion = entry.text("expansion", required=False)
            ctx.add(term, SKOS.prefLabel, expansion or acronym, lang="en" if expansion else None)
            if expansion:
                ctx.add(term, SKOS.altLabel, acronym)
            ctx.add(term, SKOS.editorialNote, entry.text("note", required=False), lang="en")
            file_name, _, line = (entry.text("source") or "").partition(":")
            if file_name not in documents or not line.isdigit() or not 1 <= int(line) <= len(documents[file_name].text):
                raise entry.error(f"source {entry.text('source')!r} is not 'file:line' of a source document", "source")
            if expansion and not _printed(documents[file_name].text.line(int(line)), expansion, acronym):
                raise entry.error(f"line {line} of {file_name} does not print {expansion!r}", "expansion")
            ctx.locate(term, file_name, Span(int(line), int(line)))

    def _international(self) -> None:
        """'International' in a country cell: worldwide coverage, not one country or the EU."""
        ctx = self.ctx
        ctx.typed(self.international, DCTERMS.Location)
        ctx.add(self.international, SKOS.prefLabel, "International", lang="en")
        ctx.add(
            self.international,
            SKOS.definition,
            "Coverage printed as 'International' in a material's "
            "country cell: an international programme, not a single country or the EU level.",
            lang="en",
        )

    def _core_countries(self) -> None:
        """The 15 core countries as the portfolio lists them (a country group for faceting)."""
        ctx = self.ctx
        located = ctx.sources.portfolio.core_countries_line
        ctx.typed(self.core_group, SKOS.Collection, DCTERMS.Location)
        ctx.add(self.core_group, SKOS.prefLabel, "CapaCITIES Core Countries", lang="en")
        if located is None:
            raise CurationError("the portfolio lists no core countries ('… core countries (AT, CZ, …)')")
        codes = located.text.split("core countries (", 1)[1].split(")", 1)[0]
        for code in (c.strip() for c in codes.split(",")):
            country = ctx.curation.country(code)
            if country is None:
                raise ctx.sources.by_role("portfolio").text.error(f"unknown country code {code!r}", located.line)
            ctx.add(self.core_group, SKOS.member, country_iri(country))
        ctx.locate(self.core_group, self.documents.portfolio_file, Span(located.line, located.line))

    def _participations(self) -> None:
        """Core and supporting countries as the partners map prints them."""
        ctx, cap = self.ctx, self.ctx.cap
        partners_map = ctx.sources.partners_map
        file_name = ctx.sources.by_role("partners-map").text.name
        scheme = ctx.typed(ctx.mint("scheme/country-roles"), SKOS.ConceptScheme)
        for role, codes, span in (
            ("core", partners_map.core_countries, partners_map.core_span),
            ("supporting", partners_map.supporting_countries, partners_map.supporting_span),
        ):
            role_iri = ctx.typed(ctx.mint(f"country-role/{role}"), SKOS.Concept)
            ctx.add(role_iri, SKOS.prefLabel, f"{role} country", lang="en")
            ctx.add(role_iri, SKOS.inScheme, scheme)
            for code in codes:
                country = ctx.curation.country(code)
                if country is None:
                    raise ctx.sources.by_role("partners-map").text.error(f"unknown country code {code!r}", span.first)
                node = ctx.typed(ctx.mint(f"country-participation/{country.alpha2.lower()}"), cap.CountryParticipation)
                ctx.add(node, cap.country, country_iri(country))
                ctx.add(node, cap.countryRole, role_iri)
                ctx.locate(node, file_name, span)


def _printed(line: str, expansion: str, acronym: str | None) -> bool:
    plain = line.replace("*", "")
    words = expansion.replace("*", "").split()
    return bool(words) and (words[0] in plain or (acronym or "") in plain)
