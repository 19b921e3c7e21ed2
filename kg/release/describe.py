"""The dataset's own description (VoID + DCAT-AP 3.0.1), generated at build from what was built.

Written to build/current/void.ttl and served at /.well-known/void, and each IRI it mints at its own
address (api.routers.described): a catalogue holding the dataset; the dataset with its publisher,
contact point, rights statement, keywords, themes, countries and dates; every dump as a distribution
with its size and SHA-256 checksum, and the SPARQL endpoint as a data service; one partition per named
graph, named by the graph's IRI (SPARQL 1.1 Service Description: sd:NamedGraph, sd:name, sd:graph);
class and property partitions; link sets to Wikidata and the EU country table with both targets.

What the sources do not say is not said: data/curation/dataset.yaml holds the publisher and the
contact point as the sources print them, the rights statement quoting what they say (no licence),
and the curator's choice of EU data themes. shapes/README.md lists the DCAT-AP findings that remain.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, SKOS, XSD
from rdflib.term import Identifier, Node

from kg.namespaces import DCAT, EUCOUNTRY, PROV, SCHEMA, VOID, WD, ProjectNamespaces
from kg.release.layout import MEDIA_TYPES, dump_name
from kg.sources.curation import Entry, load_yaml

SPDX = Namespace("http://spdx.org/rdf/terms#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
AUTHORITY = "http://publications.europa.eu/resource/authority/"
DESCRIPTION_FILE = "dataset.yaml"  # in the curation folder
# the EU file type of each dump (http://publications.europa.eu/resource/authority/file-type)
FILE_TYPES = {".trig": "RDF_TRIG", ".nq": "RDF_N_QUADS", ".ttl": "RDF_TURTLE", ".jsonld": "JSON_LD"}
FORMAT_NAMES = {".trig": "TriG", ".nq": "N-Quads", ".ttl": "Turtle", ".jsonld": "JSON-LD"}
GRAPH_TITLES = {
    "asserted": "What the importer read from the sources and the curation files",
    "inferred": "The kept OWL 2 RL entailments",
    "justifications": "Why each kept entailment holds: its OWL 2 RL rule and premises, down to asserted triples",
    "ontology": "The CapaCITIES ontology",
}
SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")


@dataclass(frozen=True)
class Iris:
    """The IRIs the description mints, all under the project's id/ namespace (each dereferences)."""

    ns: ProjectNamespaces

    @property
    def catalog(self) -> URIRef:
        return self.ns.id["catalog"]

    @property
    def dataset(self) -> URIRef:
        return self.ns.id["dataset/lp-kg"]

    @property
    def service(self) -> URIRef:
        return self.ns.id["dataset/lp-kg/service/sparql"]

    def distribution(self, version: str, extension: str) -> URIRef:
        return self.ns.id[f"dataset/lp-kg/{version}/{extension}"]

    @property
    def sparql_distribution(self) -> URIRef:
        return self.ns.id["dataset/lp-kg/sparql"]

    def partition(self, graph_name: str) -> URIRef:
        return self.ns.id["dataset/lp-kg/graph/" + graph_name]

    def linkset(self, slug: str) -> URIRef:
        return self.ns.id["dataset/lp-kg/linkset/" + slug]

    def agent(self, slug: str) -> URIRef:
        return self.ns.id["agent/" + slug]

    @property
    def shapes(self) -> URIRef:
        return URIRef(self.ns.base + "shapes")

    @property
    def ontology(self) -> URIRef:
        return URIRef(self.ns.base + "ontology")


def describe(
    directory: Path,
    ns: ProjectNamespaces,
    version: str,
    graphs: dict[str, int],
    asserted: Graph,
    attribution: str,
    dumps: list[str],
    property_counts: Mapping[URIRef, int] | None = None,
    curation_dir: Path | None = None,
) -> Graph:
    g = Graph()
    ns.bind(g)
    for prefix, namespace in (("spdx", SPDX), ("sd", SD), ("vcard", VCARD), ("dcatap", DCATAP)):
        g.bind(prefix, namespace)
    iris = Iris(ns)
    dataset, base = iris.dataset, ns.base
    curated = load_yaml(curation_dir / DESCRIPTION_FILE) if curation_dir else None

    for dataset_class in (VOID.Dataset, DCAT.Dataset):
        g.add((dataset, RDF.type, dataset_class))
    title = Literal("CapaCITIES Learning Portfolio knowledge graph", lang="en")
    description = Literal(
        "The CapaCITIES 2.0 Learning Portfolio (2026 edition) as linked data: core challenges, problem "
        "statements, hashtags, learning materials and their printed cards, organisations, national platforms, "
        "cities, lessons learned, deep dives, personas and events, with provenance to the source text.",
        lang="en",
    )
    g.add((dataset, DCTERMS.title, title))
    g.add((dataset, DCTERMS.description, description))
    g.add((dataset, DCAT.version, Literal(version)))
    g.add((dataset, DCAT.landingPage, URIRef(base)))
    g.add((URIRef(base), RDF.type, FOAF.Document))
    _catalog(g, iris, dataset)
    _provenance(g, ns, dataset, asserted)
    _conformance(g, iris, dataset)
    _keywords(g, ns, dataset, asserted)
    _spatial(g, (dataset, iris.catalog), asserted)
    if curated is not None:
        _curated(g, iris, dataset, curated, attribution)
    else:
        _rights(g, dataset, "No licence is stated in the sources. " + attribution)
    g.add((dataset, VOID.sparqlEndpoint, URIRef(base + "sparql")))
    g.add((dataset, VOID.uriSpace, Literal(str(ns.id))))
    g.add((dataset, VOID.triples, Literal(sum(graphs.values()), datatype=XSD.integer)))
    for vocabulary in (
        str(iris.ontology),
        str(SCHEMA),
        str(SKOS),
        "http://www.w3.org/ns/org#",
        "http://www.w3.org/ns/prov#",
        str(DCTERMS),
    ):
        g.add((dataset, VOID.vocabulary, URIRef(vocabulary)))
    quad_dumps = [URIRef(f"{base}dumps/{dump_name(f, version)}") for f in dumps if f.endswith((".trig", ".nq"))]
    _graph_partitions(g, iris, dataset, graphs, quad_dumps)
    _class_and_property_partitions(g, dataset, asserted, property_counts)
    _linkset(
        g,
        iris,
        "wikidata",
        "Wikidata",
        SKOS.exactMatch,
        sum(1 for _, o in asserted.subject_objects(SKOS.exactMatch) if str(o).startswith(str(WD))),
        URIRef(str(WD) + "Q2013"),  # Wikidata's own item: the dataset the links point into
    )
    _linkset(
        g,
        iris,
        "eu-countries",
        "EU Publications Office country authority table",
        DCTERMS.spatial,
        sum(1 for _, o in asserted.subject_objects(DCTERMS.spatial) if str(o).startswith(str(EUCOUNTRY))),
        URIRef(AUTHORITY + "country"),
    )
    _distributions(g, ns, iris, directory, version, dumps)
    return g


def _catalog(g: Graph, iris: Iris, dataset: URIRef) -> None:
    """The catalogue a DCAT-AP harvester starts from: this one dataset and its SPARQL service."""
    catalog = iris.catalog
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal("CapaCITIES Knowledge Graph catalogue", lang="en")))
    g.add(
        (
            catalog,
            DCTERMS.description,
            Literal(
                "The datasets the CapaCITIES Knowledge Graph publishes: the Learning Portfolio as linked data, "
                "its dumps and its SPARQL endpoint.",
                lang="en",
            ),
        )
    )
    g.add((catalog, DCAT.dataset, dataset))
    g.add((catalog, DCAT.service, iris.service))
    g.add((catalog, FOAF.homepage, URIRef(iris.ns.base)))
    g.add((catalog, DCAT.themeTaxonomy, URIRef(AUTHORITY + "data-theme")))
    g.add((URIRef(AUTHORITY + "data-theme"), RDF.type, SKOS.ConceptScheme))
    g.add((URIRef(AUTHORITY + "data-theme"), DCTERMS.title, Literal("Data theme", lang="en")))


def _provenance(g: Graph, ns: ProjectNamespaces, dataset: URIRef, asserted: Graph) -> None:
    """Derived from the portfolio edition and the source texts; issued in the edition's year.

    The edition is not a dcat:Dataset, so it is prov:wasDerivedFrom, not dct:source (whose DCAT-AP range
    is a dataset). The dates are the edition's (000 l.11, "2026 Learning Portfolio:"), not the build's
    clock: the same inputs give the same description (deterministic builds).
    """
    for edition in sorted(asserted.subjects(RDF.type, ns.cap.PortfolioEdition), key=str):
        g.add((dataset, PROV.wasDerivedFrom, edition))
        issued = asserted.value(edition, DCTERMS.issued)
        if isinstance(issued, Literal):
            for subject in (dataset, Iris(ns).catalog):
                g.add((subject, DCTERMS.issued, issued))
                g.add((subject, DCTERMS.modified, issued))
    for source in sorted(asserted.subjects(RDF.type, ns.cap.SourceText), key=str):
        g.add((dataset, PROV.wasDerivedFrom, source))


def _conformance(g: Graph, iris: Iris, dataset: URIRef) -> None:
    shapes, ontology = iris.shapes, iris.ontology
    g.add((dataset, DCTERMS.conformsTo, shapes))
    g.add((shapes, RDF.type, DCTERMS.Standard))
    g.add((shapes, DCTERMS.title, Literal("CapaCITIES Knowledge Graph SHACL shapes", lang="en")))
    g.add((dataset, DCTERMS.conformsTo, ontology))
    g.add((ontology, RDF.type, DCTERMS.Standard))
    g.add((ontology, DCTERMS.title, Literal("CapaCITIES ontology", lang="en")))


def _keywords(g: Graph, ns: ProjectNamespaces, dataset: URIRef, asserted: Graph) -> None:
    """The core challenges' names and the hashtags, as the portfolio prints them."""
    words: set[str] = set()
    for cls in (ns.cap.CoreChallenge, ns.cap.Hashtag):
        for concept in asserted.subjects(RDF.type, cls):
            for label in asserted.objects(concept, SKOS.prefLabel):
                words.add(str(label).lstrip("#"))
    for word in sorted(words):
        g.add((dataset, DCAT.keyword, Literal(word, lang="en")))


def _spatial(g: Graph, subjects: tuple[URIRef, ...], asserted: Graph) -> None:
    """The countries the data is about: those it links to the EU country table."""
    countries = {o for _, o in asserted.subject_objects(DCTERMS.spatial) if str(o).startswith(str(EUCOUNTRY))}
    for country in sorted(countries, key=str):
        assert isinstance(country, URIRef)
        for subject in subjects:
            g.add((subject, DCTERMS.spatial, country))
        g.add((country, RDF.type, DCTERMS.Location))
        g.add((country, SKOS.inScheme, URIRef(AUTHORITY + "country")))


def _curated(g: Graph, iris: Iris, dataset: URIRef, curated: Entry, attribution: str) -> None:
    entry = _mapping(curated, "publisher")
    agent = iris.agent(entry.text("slug"))
    g.add((agent, RDF.type, FOAF.Agent))
    g.add((agent, FOAF.name, Literal(entry.text("name"), lang="en")))
    g.add((agent, RDFS.comment, Literal(entry.text("decision"), lang="en")))
    g.add((agent, PROV.wasDerivedFrom, iris.ns.id["source/" + entry.text("source")]))
    for subject in (dataset, iris.catalog, iris.service):
        g.add((subject, DCTERMS.publisher, agent))

    contact = _mapping(curated, "contact")
    kind = BNode("contact")
    g.add((kind, RDF.type, VCARD.Kind))
    g.add((kind, RDF.type, VCARD.Organization))
    g.add((kind, VCARD.fn, Literal(contact.text("name"), lang="en")))
    g.add((kind, VCARD.hasEmail, URIRef("mailto:" + contact.text("email"))))
    g.add((kind, PROV.wasDerivedFrom, iris.ns.id["source/" + contact.text("source")]))
    for subject in (dataset, iris.service):
        g.add((subject, DCAT.contactPoint, kind))

    _rights(g, dataset, curated.text("rights") + " Attribution: " + attribution)

    for theme_entry in curated.entries("themes"):
        theme = URIRef(AUTHORITY + "data-theme/" + theme_entry.text("code"))
        for subject in (dataset, iris.service):
            g.add((subject, DCAT.theme, theme))
        g.add((theme, RDF.type, SKOS.Concept))
        g.add((theme, SKOS.prefLabel, Literal(theme_entry.text("label"), lang="en")))
        g.add((theme, SKOS.inScheme, URIRef(AUTHORITY + "data-theme")))

    language_entry = _mapping(curated, "language")
    language = URIRef(AUTHORITY + "language/" + language_entry.text("code"))
    for subject in (dataset, iris.catalog):
        g.add((subject, DCTERMS.language, language))
    g.add((language, RDF.type, DCTERMS.LinguisticSystem))
    g.add((language, SKOS.prefLabel, Literal(language_entry.text("label"), lang="en")))
    g.add((language, SKOS.inScheme, URIRef(AUTHORITY + "language")))


def _mapping(curated: Entry, key: str) -> Entry:
    """A mapping field of the curation file; anything else is an error naming the file and field."""
    value = curated.get(key)
    if not isinstance(value, dict):
        raise curated.error(f"field {key!r} must be a mapping", key)
    return Entry(value, curated.file)


def _rights(g: Graph, dataset: URIRef, text: str) -> None:
    statement = BNode("rights")
    g.add((dataset, DCTERMS.rights, statement))
    g.add((statement, RDF.type, DCTERMS.RightsStatement))
    g.add((statement, RDFS.label, Literal(" ".join(text.split()), lang="en")))


def _graph_partitions(g: Graph, iris: Iris, dataset: URIRef, graphs: dict[str, int], quad_dumps: list[URIRef]) -> None:
    """One partition per named graph, named by the graph's IRI (sd:name), as the SPARQL Service Description does.

    The graph's page links the dumps that keep the graphs apart (TriG, N-Quads): rdfs:seeAlso.
    """
    for name, count in graphs.items():
        short = name.rsplit("/", 1)[-1]
        part, graph = iris.partition(short), URIRef(name)
        g.add((dataset, VOID.subset, part))
        g.add((part, RDF.type, VOID.Dataset))
        g.add((part, RDF.type, SD.Graph))
        g.add((part, DCTERMS.title, Literal(f"Named graph {short}: {GRAPH_TITLES.get(short, short)}", lang="en")))
        g.add((part, VOID.triples, Literal(count, datatype=XSD.integer)))
        g.add((graph, RDF.type, SD.NamedGraph))
        g.add((graph, SD.name, graph))
        g.add((graph, SD.graph, part))
        g.add((graph, DCTERMS.title, Literal(GRAPH_TITLES.get(short, short), lang="en")))
        g.add((graph, DCTERMS.isPartOf, dataset))
        for url in quad_dumps:
            g.add((graph, RDFS.seeAlso, url))


def _class_and_property_partitions(
    g: Graph, dataset: URIRef, asserted: Graph, property_counts: Mapping[URIRef, int] | None
) -> None:
    """Classes of the asserted graph; properties of the whole dataset (`property_counts`), or else of the
    asserted graph."""
    classes: dict[Identifier, set[Node]] = {}
    for subject, cls in asserted.subject_objects(RDF.type):
        if isinstance(cls, Identifier):
            classes.setdefault(cls, set()).add(subject)
    g.add(
        (
            dataset,
            VOID.entities,
            Literal(len({s for members in classes.values() for s in members}), datatype=XSD.integer),
        )
    )
    for number, (cls, members) in enumerate(sorted(classes.items())):
        partition = _node("classPartition", number)
        g.add((dataset, VOID.classPartition, partition))
        g.add((partition, VOID["class"], cls))
        g.add((partition, VOID.entities, Literal(len(members), datatype=XSD.integer)))
    predicates = dict(property_counts) if property_counts is not None else Counter(asserted.predicates(unique=False))
    g.add((dataset, VOID.properties, Literal(len(predicates), datatype=XSD.integer)))
    for number, (predicate, count) in enumerate(sorted(predicates.items())):
        partition = _node("propertyPartition", number)
        g.add((dataset, VOID.propertyPartition, partition))
        g.add((partition, VOID.property, predicate))
        g.add((partition, VOID.triples, Literal(count, datatype=XSD.integer)))


def _distributions(
    g: Graph, ns: ProjectNamespaces, iris: Iris, directory: Path, version: str, dumps: list[str]
) -> None:
    dataset, base = iris.dataset, ns.base
    temporary = URIRef(AUTHORITY + "planned-availability/TEMPORARY")
    g.add((temporary, RDF.type, SKOS.Concept))
    g.add((temporary, SKOS.prefLabel, Literal("temporary", lang="en")))
    g.add((temporary, SKOS.inScheme, URIRef(AUTHORITY + "planned-availability")))
    for file_name in dumps:
        path = directory / file_name
        extension = file_name.rsplit(".", 1)[1]
        suffix = "." + extension
        distribution = iris.distribution(version, extension)
        url = URIRef(f"{base}dumps/{dump_name(file_name, version)}")
        g.add((dataset, DCAT.distribution, distribution))
        g.add((distribution, RDF.type, DCAT.Distribution))
        g.add((distribution, DCTERMS.title, Literal(f"Dump of dataset version {version} ({extension})", lang="en")))
        g.add(
            (
                distribution,
                DCTERMS.description,
                Literal(
                    f"The whole dataset, its three named graphs, in {FORMAT_NAMES[suffix]}"
                    + (" (the union of the graphs: Turtle has no graphs)" if suffix == ".ttl" else "")
                    + f". Versioned: the file is served while version {version} is the current release.",
                    lang="en",
                ),
            )
        )
        g.add((distribution, DCAT.accessURL, url))  # a direct download: both URLs the same (DCAT-AP 3 usage note)
        g.add((distribution, DCAT.downloadURL, url))
        g.add((dataset, VOID.dataDump, url))
        media = URIRef("https://www.iana.org/assignments/media-types/" + MEDIA_TYPES[suffix])
        g.add((distribution, DCAT.mediaType, media))
        g.add((media, RDF.type, DCTERMS.MediaType))
        file_type = URIRef(AUTHORITY + "file-type/" + FILE_TYPES[suffix])
        g.add((distribution, DCTERMS.format, file_type))
        g.add((file_type, RDF.type, DCTERMS.MediaTypeOrExtent))
        g.add((file_type, SKOS.inScheme, URIRef(AUTHORITY + "file-type")))
        g.add((distribution, DCATAP.availability, temporary))
        g.add((distribution, DCAT.byteSize, Literal(path.stat().st_size, datatype=XSD.nonNegativeInteger)))
        checksum = BNode("checksum-" + extension)
        g.add((distribution, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        g.add((SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm))
        g.add(
            (
                checksum,
                SPDX.checksumValue,
                Literal(hashlib.sha256(path.read_bytes()).hexdigest(), datatype=XSD.hexBinary),
            )
        )
    # the SPARQL endpoint: a data service, and a distribution reached through it
    service, endpoint = iris.service, URIRef(base + "sparql")
    g.add((service, RDF.type, DCAT.DataService))
    g.add((service, DCTERMS.title, Literal("CapaCITIES Knowledge Graph SPARQL endpoint", lang="en")))
    g.add(
        (
            service,
            DCTERMS.description,
            Literal(
                "A read-only SPARQL 1.1 Protocol endpoint over the dataset (its three named graphs; the default "
                "graph is their union). GET without a query returns its SPARQL 1.1 Service Description.",
                lang="en",
            ),
        )
    )
    g.add((service, DCAT.endpointURL, endpoint))
    g.add((service, DCAT.endpointDescription, endpoint))
    g.add((service, DCAT.servesDataset, dataset))
    g.add((service, DCTERMS.conformsTo, SPARQL_PROTOCOL))
    g.add((SPARQL_PROTOCOL, RDF.type, DCTERMS.Standard))
    g.add((SPARQL_PROTOCOL, DCTERMS.title, Literal("SPARQL 1.1 Protocol", lang="en")))
    for word in ("SPARQL", "linked data", "CapaCITIES"):
        g.add((service, DCAT.keyword, Literal(word, lang="en")))
    sparql = iris.sparql_distribution
    g.add((dataset, DCAT.distribution, sparql))
    g.add((sparql, RDF.type, DCAT.Distribution))
    g.add((sparql, DCTERMS.title, Literal("SPARQL endpoint", lang="en")))
    g.add(
        (
            sparql,
            DCTERMS.description,
            Literal("The current version of the dataset, queried through the SPARQL endpoint.", lang="en"),
        )
    )
    g.add((sparql, DCAT.accessURL, endpoint))
    g.add((sparql, DCAT.accessService, service))
    stable = URIRef(AUTHORITY + "planned-availability/AVAILABLE")
    g.add((sparql, DCATAP.availability, stable))
    g.add((stable, RDF.type, SKOS.Concept))
    g.add((stable, SKOS.prefLabel, Literal("available", lang="en")))
    g.add((stable, SKOS.inScheme, URIRef(AUTHORITY + "planned-availability")))
    sparql_results = URIRef(AUTHORITY + "file-type/SPARQLQ")
    g.add((sparql, DCTERMS.format, sparql_results))
    g.add((sparql_results, RDF.type, DCTERMS.MediaTypeOrExtent))
    g.add((sparql_results, SKOS.inScheme, URIRef(AUTHORITY + "file-type")))


def _node(kind: str, number: int) -> BNode:
    """A blank node labelled by its kind and place, not at random: void.ttl is the same for the same data.

    rdflib's Turtle writes these nodes inline ([ … ]), in the order of their labels: the partitions by
    class or property IRI.
    """
    return BNode(f"{kind}{number:05d}")


def _linkset(g: Graph, iris: Iris, slug: str, title: str, predicate: URIRef, triples: int, target: URIRef) -> None:
    linkset, dataset = iris.linkset(slug), iris.dataset
    g.add((linkset, RDF.type, VOID.Linkset))
    g.add((linkset, DCTERMS.title, Literal(f"Links to {title}", lang="en")))
    g.add((linkset, VOID.subjectsTarget, dataset))
    g.add((linkset, VOID.objectsTarget, target))
    g.add((target, RDF.type, VOID.Dataset))
    g.add((target, DCTERMS.title, Literal(title, lang="en")))
    g.add((linkset, VOID.linkPredicate, predicate))
    g.add((linkset, VOID.triples, Literal(triples, datatype=XSD.integer)))
    g.add((dataset, VOID.subset, linkset))
