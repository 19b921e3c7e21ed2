"""RDF: map the sources and curation files to the asserted graph."""

from __future__ import annotations

from kg.namespaces import ProjectNamespaces
from kg.rdf.agents import Agents
from kg.rdf.challenges import Challenges
from kg.rdf.context import Finding, MappingContext
from kg.rdf.documents import Documents
from kg.rdf.events import Events
from kg.rdf.materials import Materials
from kg.rdf.redirects import add_redirects
from kg.rdf.reference import Reference
from kg.rdf.relations import Relations
from kg.sources.bundle import Sources
from kg.sources.curation import Curation

__all__ = ["Finding", "MappingContext", "map_sources"]


def map_sources(sources: Sources, curation: Curation, ns: ProjectNamespaces) -> MappingContext:
    """Build the asserted graph; the returned context holds it and the importer's findings."""
    ctx = MappingContext(sources, curation, ns)
    documents = Documents(ctx)
    documents.add()
    reference = Reference(ctx, documents)
    reference.add()
    challenges = Challenges(ctx, documents)
    challenges.add()
    materials = Materials(ctx, challenges, reference)
    materials.add()
    Agents(ctx, documents, challenges, materials).add()
    events = Events(ctx, documents, challenges.subcategories)
    events.add()
    Relations(ctx, documents, materials, events).add()
    add_redirects(ctx)
    return ctx
