"""Learning materials and their printed cards (appearances), links, countries and years."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from rdflib import Literal, URIRef

from kg.namespaces import DCAT, DCTERMS, EULANG, SCHEMA, SKOS, XSD
from kg.rdf.challenges import Challenges
from kg.rdf.context import MappingContext
from kg.rdf.reference import Reference, country_iri
from kg.sources.cells import normalise, parse_year, split_links
from kg.sources.curation import Entry
from kg.sources.model import Card, Placeholder

TEMPLATE_TYPE_LABELS = {"Type of learning format"}
CORE_COUNTRIES = "capacities core countries"


@dataclass
class Selector:
    entry: Entry
    title: str
    subcategories: set[str]
    type_label: str | None

    def matches(self, card: Card) -> bool:
        return (
            normalise(card.title) == self.title
            and (not self.subcategories or card.notation in self.subcategories)
            and (self.type_label is None or normalise(card.type_label or "") == self.type_label)
        )


@dataclass
class PrintedCard:
    """A card, its appearance IRI and its material IRI, for the organisation mapping."""

    card: Card
    appearance: URIRef
    material: URIRef


class Materials:
    def __init__(self, ctx: MappingContext, challenges: Challenges, reference: Reference) -> None:
        self.ctx = ctx
        self.challenges = challenges
        self.reference = reference
        self.file = challenges.file
        self.types: dict[str, URIRef] = {}
        self.printed: list[PrintedCard] = []
        self.materials: dict[str, URIRef] = {}  # id → IRI
        self._link_cells = self._curated_links()

    def add(self) -> None:
        cards = [card for sub in self.ctx.sources.portfolio.subcategories() for card in sub.cards]
        groups = self._identify(cards)
        scheme = self.ctx.typed(self.ctx.mint("scheme/material-types"), SKOS.ConceptScheme)
        self.ctx.add(scheme, SKOS.prefLabel, "Material types as the portfolio prints them", lang="en")
        self.type_scheme = scheme
        for material_id, (entry, members) in groups.items():
            self._material(material_id, entry, members)
        for sub in self.ctx.sources.portfolio.subcategories():
            for placeholder in sub.placeholders:
                self._placeholder(placeholder)

    # -- identity -------------------------------------------------------------------

    def _identify(self, cards: list[Card]) -> dict[str, tuple[Entry | None, list[Card]]]:
        """Material id → (curation entry or None, its cards). Checks every selector is used once."""
        groups: dict[str, tuple[Entry | None, list[Card]]] = {}
        owner: dict[int, str] = {}
        for entry in self.ctx.curation.file("materials.yaml").entries("materials"):
            material_id = entry.text("id")
            if material_id in groups:
                raise entry.error(f"material id {material_id!r} is used twice", "id")
            members: list[Card] = []
            for raw in entry.entries("cards"):
                selector = Selector(
                    raw,
                    normalise(raw.text("title")),
                    {str(s) for s in raw.values("subcategories")},
                    normalise(raw.text("type_label")) if raw.get("type_label") else None,
                )
                selected = [card for card in cards if selector.matches(card)]
                if not selected:
                    raise raw.error(
                        f"no card of the portfolio matches {raw.text('title')!r}"
                        + (f" in {sorted(selector.subcategories)}" if selector.subcategories else "")
                        + (f" with type label {raw.text('type_label')!r}" if selector.type_label else ""),
                        "title",
                    )
                for card in selected:
                    if owner.get(id(card), material_id) != material_id:
                        raise raw.error(
                            f"the card at line {card.row_line} is already material {owner[id(card)]!r}", "title"
                        )
                    if id(card) not in owner:
                        members.append(card)
                    owner[id(card)] = material_id
            groups[material_id] = (entry, members)
        automatic: dict[str, list[Card]] = defaultdict(list)
        for card in cards:
            if id(card) not in owner:
                automatic[normalise(card.title)].append(card)
        for members in automatic.values():
            material_id = self.ctx.slug(members[0].title)
            while material_id in groups:
                material_id += "-x"
            groups[material_id] = (None, members)
        return groups

    # -- materials and cards --------------------------------------------------------

    def _material(self, material_id: str, entry: Entry | None, cards: list[Card]) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        material = ctx.typed(ctx.mint(f"material/{material_id}"), cap.LearningMaterial)
        self.materials[material_id] = material
        title = entry.text("title") if entry else cards[0].title
        if entry and not any(self._prints(card, title) for card in cards):
            raise entry.error(f"title {title!r} is printed on none of the material's cards", "title")
        ctx.title(material, title)
        if entry:
            ctx.decision(material, entry.note())
            series = entry.text("series", required=False)
            if series:
                series_iri = ctx.typed(ctx.mint(f"series/{ctx.slug(series)}"), SCHEMA.CreativeWorkSeries)
                ctx.add(series_iri, SCHEMA.name, series, lang="en")
                ctx.add(material, SCHEMA.isPartOf, series_iri)
        elif len(cards) > 1:
            ctx.decision(material, f"{len(cards)} cards with the same printed title, merged automatically.")
            ctx.finding(
                "Info",
                f"material {title!r}: {len(cards)} cards merged by identical title without a curation entry",
                focus=material,
                group=cards[0].notation,
            )
        years: set[str] = set()
        for card in cards:
            years |= self._card(material, material_id, card)
        for year in sorted(years):
            ctx.add(material, cap.releaseYear, Literal(year, datatype=XSD.gYear))

    @staticmethod
    def _prints(card: Card, text: str) -> bool:
        needle = normalise(text)
        return any(needle in normalise(value or "") for value in (card.title, card.type_label, card.links))

    def _card(self, material: URIRef, material_id: str, card: Card) -> set[str]:
        ctx, cap = self.ctx, self.ctx.cap
        appearance = ctx.typed(ctx.unique(f"appearance/{material_id}/{card.notation}"), cap.MaterialAppearance)
        self.printed.append(PrintedCard(card, appearance, material))
        ctx.add(appearance, cap.appearanceOf, material)
        ctx.add(appearance, cap.inProblemStatement, self.challenges.subcategories[card.notation])
        ctx.add(appearance, SCHEMA.position, Literal(card.position, datatype=XSD.integer))
        ctx.add(appearance, cap.titleAsPrinted, card.title)
        ctx.add(appearance, cap.countryAsPrinted, card.country)
        ctx.add(appearance, cap.yearAsPrinted, card.year)
        self._type(appearance, card.type_label)
        ctx.text(appearance, DCTERMS.description, "\n\n".join(card.description))
        for feature in card.key_features:
            ctx.text(appearance, cap.keyFeature, feature)
        for footnote in card.footnotes:
            ctx.text(appearance, SKOS.note, footnote)
        if card.partners:
            ctx.add(appearance, cap.partnersAsPrinted, card.partners.text)
        self._links(appearance, material_id, card)
        for number, quote in enumerate(card.pull_quotes, start=1):
            node = ctx.typed(ctx.mint(f"quote/{card.notation}/card-{card.position}-{number}"), cap.InterviewQuote)
            ctx.text(node, SCHEMA.text, quote.text)
            ctx.add(node, SCHEMA.about, appearance)
            ctx.add(node, cap.isQuoted, Literal(True))
            ctx.locate(node, self.file, quote.span, self.challenges.sections[card.notation])
        ctx.locate(appearance, self.file, card.span, self.challenges.sections[card.notation])
        for place in self._countries(card):
            ctx.add(material, DCTERMS.spatial, place)
        return self._years(material, card)

    def _type(self, node: URIRef, label: str | None) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        ctx.add(node, cap.typeLabel, label, lang="en")
        if not label or label in TEMPLATE_TYPE_LABELS:
            return
        key = normalise(label)
        concept = self.types.get(key)
        if concept is None:
            concept = ctx.typed(ctx.mint(f"material-type/{ctx.slug(label)}"), cap.MaterialType)
            ctx.add(concept, SKOS.prefLabel, label, lang="en")
            ctx.add(concept, SKOS.inScheme, self.type_scheme)
            self.types[key] = concept
        ctx.add(node, cap.materialType, concept)

    def _placeholder(self, placeholder: Placeholder) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        node = ctx.typed(ctx.mint(f"placeholder/{placeholder.notation}/{placeholder.position}"), cap.PlaceholderCard)
        ctx.add(node, cap.inProblemStatement, self.challenges.subcategories[placeholder.notation])
        ctx.add(node, SCHEMA.position, Literal(placeholder.position, datatype=XSD.integer))
        ctx.add(node, cap.typeLabel, placeholder.type_label, lang="en")
        ctx.add(node, cap.placeholderText, placeholder.text or "(empty template)")
        ctx.locate(node, self.file, placeholder.span, self.challenges.sections[placeholder.notation])

    # -- cells ----------------------------------------------------------------------

    def _countries(self, card: Card) -> list[URIRef]:
        cell = card.country.strip()
        if not cell:
            return []
        if normalise(cell) == CORE_COUNTRIES:
            return [self.reference.core_group]
        if normalise(cell).startswith("international"):
            return [self.reference.international]  # the member countries it prints stay in cap:countryAsPrinted
        places = []
        for token in (t.strip() for t in cell.split(",")):
            country = self.ctx.curation.country(token)
            if country is not None:
                places.append(country_iri(country))
            elif token.endswith("-based"):
                continue  # "EU level, Brussels-based": where the organisation sits, not its coverage
            else:
                raise self.ctx.sources.by_role("portfolio").text.error(
                    f"unknown country {token!r} in the country cell of {card.title!r} "
                    "(add it to data/curation/countries.yaml if it is a country)",
                    card.row_line,
                )
        return places

    def _years(self, material: URIRef, card: Card) -> set[str]:
        parsed = parse_year(card.year)
        if parsed is None:
            raise self.ctx.sources.by_role("portfolio").text.error(
                f"year cell {card.year!r} of {card.title!r} is neither a year, a list of years, a range "
                "nor n.d./N/A/blank",
                card.row_line,
            )
        if parsed.range:
            period = self.ctx.typed(self.ctx.mint(f"period/{parsed.range[0]}-{parsed.range[1]}"), DCTERMS.PeriodOfTime)
            self.ctx.add(period, DCAT.startDate, Literal(parsed.range[0], datatype=XSD.gYear))
            self.ctx.add(period, DCAT.endDate, Literal(parsed.range[1], datatype=XSD.gYear))
            self.ctx.add(material, DCTERMS.temporal, period)
        return set(parsed.years)

    def _curated_links(self) -> dict[str, list[str]]:
        cells: dict[str, list[str]] = {}
        printed = {normalise(card.links) for sub in self.ctx.sources.portfolio.subcategories() for card in sub.cards}
        for entry in self.ctx.curation.file("links.yaml").entries("cells"):
            raw, labels = entry.text("raw"), [str(label) for label in entry.values("labels")]
            if normalise(raw) not in printed:
                raise entry.error(f"no card prints the link cell {raw!r}", "raw")
            if normalise(" ".join(labels)) != normalise(raw):
                raise entry.error("the labels joined with spaces do not spell out the printed cell", "labels")
            cells[normalise(raw)] = labels
        return cells

    def _links(self, appearance: URIRef, material_id: str, card: Card) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        labels = split_links(card.links, self._link_cells.get(normalise(card.links)))
        for position, link in enumerate(labels, start=1):
            node = ctx.typed(ctx.unique(f"link/{material_id}/{card.notation}/{position}"), cap.LearnMoreLink)
            ctx.add(appearance, cap.learnMoreLink, node)
            ctx.add(node, SCHEMA.name, link.label)
            ctx.add(node, SCHEMA.position, Literal(position, datatype=XSD.integer))
            if link.language_tag:
                languages = ctx.curation.languages.get(normalise(link.language_tag))
                if languages is None:
                    raise ctx.sources.by_role("portfolio").text.error(
                        f"unknown language tag [{link.language_tag}] in the links of {card.title!r} "
                        "(add it to data/curation/languages.yaml)",
                        card.row_line,
                    )
                for language in languages:
                    ctx.add(node, DCTERMS.language, EULANG[language.eu_code])
                    ctx.add(node, SCHEMA.inLanguage, language.bcp47)
