"""The dataset's own description (VoID + DCAT 3), generated at build from what was built.

Written to build/current/void.ttl and served at /.well-known/void: triples and entity counts,
class partitions, link sets to Wikidata and the EU authority tables, and every dump with its
size and SHA-256 checksum.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS, XSD
from rdflib.term import Identifier, Node

from kg.namespaces import DCAT, EUCOUNTRY, SCHEMA, VOID, WD, ProjectNamespaces
from kg.release.layout import MEDIA_TYPES, dump_name

SPDX = "http://spdx.org/rdf/terms#"


def describe(
    directory: Path,
    ns: ProjectNamespaces,
    version: str,
    graphs: dict[str, int],
    asserted: Graph,
    attribution: str,
    dumps: list[str],
    named_graphs: list[Graph] | None = None,
) -> Graph:
    g = Graph()
    ns.bind(g)
    g.bind("spdx", SPDX)
    dataset = ns.id["dataset/lp-kg"]
    base = ns.base
    for dataset_class in (VOID.Dataset, DCAT.Dataset):
        g.add((dataset, RDF.type, dataset_class))
    g.add((dataset, DCTERMS.title, Literal("CapaCITIES Learning Portfolio knowledge graph", lang="en")))
    g.add(
        (
            dataset,
            DCTERMS.description,
            Literal(
                "The CapaCITIES 2.0 Learning Portfolio (2026 edition) as linked data: core challenges, problem "
                "statements, hashtags, learning materials and their printed cards, organisations, national platforms, "
                "cities, lessons learned, deep dives, personas and events, with provenance to the source text.",
                lang="en",
            ),
        )
    )
    g.add((dataset, DCAT.version, Literal(version)))
    g.add((dataset, DCTERMS.source, ns.id["edition/2026"]))
    g.add((dataset, DCTERMS.rights, Literal("No licence is stated in the sources. " + attribution, lang="en")))
    g.add((dataset, DCTERMS.conformsTo, URIRef(base + "shapes")))
    g.add((dataset, VOID.sparqlEndpoint, URIRef(base + "sparql")))
    g.add((dataset, VOID.uriSpace, Literal(str(ns.id))))
    g.add((dataset, VOID.triples, Literal(sum(graphs.values()), datatype=XSD.integer)))
    for vocabulary in (
        str(ns.cap),
        str(SCHEMA),
        str(SKOS),
        "http://www.w3.org/ns/org#",
        "http://www.w3.org/ns/prov#",
        str(DCTERMS),
    ):
        g.add((dataset, VOID.vocabulary, URIRef(vocabulary)))
    for name, count in graphs.items():
        part = ns.id["dataset/lp-kg/graph/" + name.rsplit("/", 1)[-1]]
        g.add((dataset, VOID.subset, part))
        g.add((part, RDF.type, VOID.Dataset))
        g.add((part, SCHEMA.name, Literal(name)))
        g.add((part, VOID.triples, Literal(count, datatype=XSD.integer)))
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
    predicates: dict[URIRef, int] = {}
    for graph in named_graphs or [asserted]:
        for _, predicate, _ in graph:
            if isinstance(predicate, URIRef):
                predicates[predicate] = predicates.get(predicate, 0) + 1
    g.add((dataset, VOID.properties, Literal(len(predicates), datatype=XSD.integer)))
    for number, (predicate, count) in enumerate(sorted(predicates.items())):
        partition = _node("propertyPartition", number)
        g.add((dataset, VOID.propertyPartition, partition))
        g.add((partition, VOID.property, predicate))
        g.add((partition, VOID.triples, Literal(count, datatype=XSD.integer)))
    _linkset(
        g,
        ns,
        dataset,
        "wikidata",
        "Wikidata",
        SKOS.exactMatch,
        sum(1 for _, o in asserted.subject_objects(SKOS.exactMatch) if str(o).startswith(str(WD))),
    )
    _linkset(
        g,
        ns,
        dataset,
        "eu-countries",
        "EU Publications Office country authority table",
        DCTERMS.spatial,
        sum(1 for _, o in asserted.subject_objects(DCTERMS.spatial) if str(o).startswith(str(EUCOUNTRY))),
    )
    for file_name in dumps:
        path = directory / file_name
        suffix = "." + file_name.rsplit(".", 1)[1]
        distribution = ns.id[f"dataset/lp-kg/{version}/{file_name.rsplit('.', 1)[1]}"]
        g.add((dataset, DCAT.distribution, distribution))
        g.add((distribution, RDF.type, DCAT.Distribution))
        g.add((distribution, DCTERMS.title, Literal(f"Dump of dataset version {version} ({suffix[1:]})", lang="en")))
        g.add((distribution, DCAT.downloadURL, URIRef(f"{base}dumps/{dump_name(file_name, version)}")))
        g.add(
            (
                distribution,
                DCAT.mediaType,
                URIRef("https://www.iana.org/assignments/media-types/" + MEDIA_TYPES[suffix]),
            )
        )
        g.add((distribution, DCAT.byteSize, Literal(path.stat().st_size, datatype=XSD.nonNegativeInteger)))
        checksum = BNode("checksum-" + suffix[1:])
        g.add((distribution, URIRef(SPDX + "checksum"), checksum))
        g.add((checksum, URIRef(SPDX + "algorithm"), URIRef(SPDX + "checksumAlgorithm_sha256")))
        g.add(
            (
                checksum,
                URIRef(SPDX + "checksumValue"),
                Literal(hashlib.sha256(path.read_bytes()).hexdigest(), datatype=XSD.hexBinary),
            )
        )
        g.add((dataset, VOID.dataDump, URIRef(f"{base}dumps/{dump_name(file_name, version)}")))
    return g


def _node(kind: str, number: int) -> BNode:
    """A blank node labelled by its kind and place, not at random: void.ttl is the same for the same data.

    rdflib's Turtle writes these nodes inline ([ … ]), in the order of their labels: the partitions by
    class or property IRI.
    """
    return BNode(f"{kind}{number:05d}")


def _linkset(
    g: Graph, ns: ProjectNamespaces, dataset: URIRef, slug: str, title: str, predicate: URIRef, triples: int
) -> None:
    linkset = ns.id[f"dataset/lp-kg/linkset/{slug}"]
    g.add((linkset, RDF.type, VOID.Linkset))
    g.add((linkset, DCTERMS.title, Literal(f"Links to {title}", lang="en")))
    g.add((linkset, VOID.subjectsTarget, dataset))
    g.add((linkset, VOID.linkPredicate, predicate))
    g.add((linkset, VOID.triples, Literal(triples, datatype=XSD.integer)))
    g.add((dataset, VOID.subset, linkset))
