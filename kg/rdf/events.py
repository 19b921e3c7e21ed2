"""Personas and their needs, recorded webinars, website news and events, project activities."""

from __future__ import annotations

from rdflib import Literal, URIRef

from kg.namespaces import SCHEMA, XSD
from kg.rdf.context import MappingContext
from kg.rdf.documents import Documents
from kg.sources.text import Span
from kg.sources.website import parse_date


class Events:
    def __init__(self, ctx: MappingContext, documents: Documents, subcategories: dict[str, URIRef]) -> None:
        self.ctx = ctx
        self.documents = documents
        self.subcategories = subcategories
        self.recorded: dict[str, URIRef] = {}  # title as printed on the Recorded material page → event

    def add(self) -> None:
        self._personas()
        self._recorded()
        self._website()
        self._activities()

    def _personas(self) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        file_name = self.documents.portfolio_file
        nodes: dict[tuple[str, str], URIRef] = {}
        for persona in ctx.sources.portfolio.personas:
            slug = ctx.slug(persona.name)
            node = ctx.typed(ctx.mint(f"persona/{slug}"), cap.Persona)
            ctx.add(node, SCHEMA.name, persona.name)
            ctx.text(node, SCHEMA.description, persona.description)
            ctx.locate(node, file_name, persona.span)
            for number, need in enumerate(persona.needs, start=1):
                need_node = ctx.typed(ctx.mint(f"need/{slug}/{number}"), cap.PersonaNeed)
                nodes[(persona.name, need.text)] = need_node
                ctx.add(need_node, cap.persona, node)
                ctx.text(need_node, SCHEMA.text, need.text)
                ctx.add(need_node, cap.isQuoted, Literal(need.quoted))
                ctx.add(need_node, SCHEMA.position, Literal(number, datatype=XSD.integer))
                ctx.locate(need_node, file_name, Span(need.line, need.line))

        self._addressed_by(nodes)

    def _addressed_by(self, nodes: dict[tuple[str, str], URIRef]) -> None:
        """Link each need to the subcategories that answer it, as curated in personas.yaml."""
        ctx = self.ctx
        for entry in ctx.curation.file("personas.yaml").entries("needs"):
            persona, starts = entry.text("persona"), entry.text("starts")
            matches = [node for (name, text), node in nodes.items() if name == persona and text.startswith(starts)]
            if len(matches) != 1:
                raise entry.error(
                    f"{len(matches)} needs of {persona} start with {starts!r}; exactly one must", "starts"
                )
            for notation in entry.values("addressed_by"):
                if str(notation) not in self.subcategories:
                    raise entry.error(f"there is no subcategory {notation}", "addressed_by")
                ctx.add(matches[0], ctx.cap.addressedBy, self.subcategories[str(notation)])
            ctx.decision(matches[0], entry.note())

    def _recorded(self) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        items = ctx.sources.portfolio.recorded
        if not items:
            return
        span = Span(min(i.span.first for i in items), max(i.span.last for i in items))
        section = self.documents.section("recorded-material", "Recorded material", span)
        for item in items:
            event = ctx.typed(
                ctx.unique(f"event/recorded/{ctx.slug(item.title)}"),
                cap.Webinar if item.section == "Recent webinars" else SCHEMA.Event,
            )
            ctx.text(event, SCHEMA.name, item.title)
            ctx.text(event, SCHEMA.alternativeHeadline, item.subtitle)
            ctx.text(event, SCHEMA.description, item.description)
            ctx.add(event, SCHEMA.eventAttendanceMode, SCHEMA.OnlineEventAttendanceMode)
            self.recorded[item.title] = event
            if item.date and (dates := parse_date(item.date)):
                ctx.add(event, SCHEMA.startDate, Literal(dates[0], datatype=_date_type(dates[0])))
            ctx.add(event, cap.dateAsPrinted, item.date)
            video = ctx.typed(ctx.mint(f"recording/{event.rsplit('/', 1)[1]}"), SCHEMA.VideoObject)
            ctx.add(event, SCHEMA.recordedIn, video)
            ctx.add(video, SCHEMA.recordedAt, event)
            ctx.text(video, SCHEMA.name, item.caption or item.title)
            ctx.add(video, cap.linkLabel, item.link_label)
            ctx.locate(event, self.documents.portfolio_file, item.span, section)

    def _website(self) -> None:
        ctx = self.ctx
        file_name = ctx.sources.by_role("website").text.name
        for item in ctx.sources.website:
            if item.start:
                node = ctx.typed(ctx.unique(f"event/{item.start}-{ctx.slug(item.title)[:60]}"), SCHEMA.Event)
                ctx.add(node, SCHEMA.startDate, Literal(item.start, datatype=_date_type(item.start)))
                if item.end and item.end != item.start:
                    ctx.add(node, SCHEMA.endDate, Literal(item.end, datatype=_date_type(item.end)))
                ctx.add(node, ctx.cap.dateAsPrinted, item.date_as_printed)
            else:
                node = ctx.typed(ctx.unique(f"news/{ctx.slug(item.title)[:60]}"), SCHEMA.NewsArticle)
            ctx.text(node, SCHEMA.name, item.title)
            ctx.text(node, SCHEMA.description, item.description)
            ctx.locate(node, file_name, item.span)

    def _activities(self) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        file_name = ctx.sources.by_role("partners-map").text.name
        for activity in ctx.sources.partners_map.activities:
            node = ctx.typed(ctx.mint(f"activity/{ctx.slug(activity.name)}"), cap.ProjectActivity)
            ctx.text(node, SCHEMA.name, activity.name)
            ctx.text(node, SCHEMA.description, activity.description)
            ctx.locate(node, file_name, activity.span)


def _date_type(lexical: str) -> URIRef:
    return XSD.date if len(lexical) == 10 else XSD.gYearMonth
