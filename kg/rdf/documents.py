"""The portfolio as a work, its edition and sections, and the source texts."""

from __future__ import annotations

from rdflib import Literal, URIRef

from kg.namespaces import DCTERMS, PROV, SCHEMA, XSD
from kg.rdf.context import MappingContext
from kg.sources.text import Span


class Documents:
    def __init__(self, ctx: MappingContext) -> None:
        self.ctx = ctx
        portfolio = ctx.sources.portfolio
        self.portfolio_file = ctx.sources.by_role("portfolio").text.name
        self.edition = ctx.mint(f"edition/{portfolio.edition_year}")

    def add(self) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        portfolio = ctx.sources.portfolio
        work = ctx.typed(ctx.mint("portfolio"), cap.Portfolio)
        ctx.title(work, "The CapaCITIES Learning Portfolio")
        ctx.typed(self.edition, cap.PortfolioEdition)
        ctx.title(self.edition, f"The CapaCITIES 2.0 Learning Portfolio, {portfolio.edition_label}")
        ctx.add(self.edition, DCTERMS.isVersionOf, work)
        ctx.add(self.edition, SCHEMA.version, portfolio.edition_year)
        ctx.add(self.edition, DCTERMS.issued, Literal(portfolio.edition_year, datatype=XSD.gYear))
        ctx.add(self.edition, PROV.hadPrimarySource, ctx.source_iri(self.portfolio_file))
        if portfolio.grant:
            ctx.add(self.edition, SCHEMA.funding, f"Horizon Europe grant agreement {portfolio.grant}")
        for document in ctx.sources.documents.values():
            source = ctx.typed(ctx.source_iri(document.text.name), cap.SourceText)
            ctx.title(source, document.title)
            ctx.add(source, SCHEMA.encodingFormat, "text/plain")
            ctx.add(source, SCHEMA.name, document.text.name)
            ctx.add(source, DCTERMS.rights, ctx.sources.attribution, lang="en")
            ctx.add(source, DCTERMS.extent, Literal(len(document.text), datatype=XSD.integer))

    def section(self, slug: str, title: str, span: Span) -> URIRef:
        """A section of this edition, located in the portfolio text."""
        ctx = self.ctx
        section = ctx.typed(
            ctx.mint(f"edition/{ctx.sources.portfolio.edition_year}/section/{slug}"), ctx.cap.PortfolioSection
        )
        ctx.title(section, title)
        ctx.add(section, DCTERMS.isPartOf, self.edition)
        ctx.locate(section, self.portfolio_file, span)
        return section
