"""The dataset as named graphs in an embedded pyoxigraph store: loading, counting, versioning, writing it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef

from kg.errors import BuildOutputError
from kg.release.layout import DATASET_FILE, EXPORT_FORMATS, STORE_DIR
from kg.sparql.registry import QueryRegistry


def load_graphs(named_graphs: Mapping[URIRef, Graph], extra: Iterable[ox.Quad] = ()) -> ox.Store:
    """An in-memory store holding each rdflib graph as a named graph, and the `extra` quads (the
    justifications, made as quads: an rdflib graph of them would take seconds), blank nodes labelled canonically.

    rdflib labels blank nodes at random (the ontology's property-chain lists are some), which would give
    the same data another version and other dumps at every build. RDF Canonicalization (RDFC-1.0, a W3C
    Recommendation) labels them c14n0, c14n1 … from the statements around them: equal data, equal labels,
    in any process, and fixed by the specification rather than by the pyoxigraph release (the labels of
    CanonicalizationAlgorithm.UNSTABLE may change with it). Its worst case is exponential in the number of
    blank nodes; the dataset has a handful, in lists. The dumps' order is set by `serialize`.
    """
    # RDFC-1.0 reads only the quads that mention a blank node (its "blank node to quads map") and copies the
    # others as they are: canonicalizing those few alone labels them as the whole dataset would, in a fraction
    # of the time (the justifications add 54,000 quads without a blank node, and 2 that have one)
    with_blank: list[ox.Quad] = []

    def without_blank(quads: Iterable[ox.Quad]) -> Iterator[ox.Quad]:
        for quad in quads:
            if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode):
                with_blank.append(quad)
            else:
                yield quad

    store = ox.Store()
    # a new store nobody reads yet: no transaction needed (bulk_extend loads the justifications twice as fast)
    store.bulk_extend(without_blank(chain(_quads(named_graphs), extra)))
    dataset = ox.Dataset(with_blank)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    store.extend(dataset)
    return store


def _quads(named_graphs: Mapping[URIRef, Graph]) -> Iterator[ox.Quad]:
    for name, graph in named_graphs.items():
        graph_name = ox.NamedNode(str(name))
        data = graph.serialize(format="nt", encoding="utf-8")
        for parsed in ox.parse(input=data, format=ox.RdfFormat.N_TRIPLES):
            yield ox.Quad(parsed.subject, parsed.predicate, parsed.object, graph_name)


def _quad_order(quad: ox.Quad) -> tuple[str, str, str, str]:
    """Graph, subject, predicate, object: the order the dumps are written in, whatever order the store keeps."""
    return str(quad.graph_name), str(quad.subject), str(quad.predicate), str(quad.object)


def triples_per_graph(store: ox.Store) -> dict[str, int]:
    counts = {}
    for graph in sorted(store.named_graphs(), key=str):
        counts[graph.value] = sum(1 for _ in store.quads_for_pattern(None, None, None, graph))
    return counts


def triples_per_property(store: ox.Store, registry: QueryRegistry) -> dict[URIRef, int]:
    solutions = store.query(registry.text("store/property-sizes"))
    assert isinstance(solutions, ox.QuerySolutions), "store/property-sizes.rq is a SELECT"
    return {URIRef(row["property"].value): int(row["triples"].value) for row in solutions}


def dataset_version(store: ox.Store) -> str:
    """A content hash of the dataset: equal data, equal version (for ETags and dump names)."""
    dump = store.dump(format=ox.RdfFormat.N_QUADS)
    assert dump is not None  # without an output, dump returns the bytes (the stub says bytes | None)
    lines = sorted(dump.splitlines())
    return hashlib.sha256(b"\n".join(lines)).hexdigest()[:16]


def open_dataset(directory: Path) -> ox.Store:
    path = directory / DATASET_FILE
    store = ox.Store()
    try:
        store.load(path=str(path), format=ox.RdfFormat.N_QUADS)
    except (OSError, SyntaxError) as exc:
        raise BuildOutputError(f"cannot load the built dataset: {exc}", file=path) from exc
    return store


def write_store(directory: Path) -> Path:
    """The release's dataset written as an on-disk Oxigraph store (RocksDB), compacted, for workers to share.

    Every query worker opens it read-only: the operating system's page cache holds one copy for all of
    them, and a worker is ready in milliseconds instead of parsing the dataset into a copy of its own.
    """
    target = directory / STORE_DIR
    store = ox.Store(str(target))
    try:
        store.bulk_load(path=str(directory / DATASET_FILE), format=ox.RdfFormat.N_QUADS)
        store.optimize()
        store.flush()
    except (OSError, SyntaxError) as exc:
        raise BuildOutputError(f"cannot write the on-disk store: {exc}", file=target) from exc
    finally:
        del store  # closed: RocksDB's files are complete and unlocked before the release is sealed
    return target


def serialize(store: ox.Store, prefixes: Mapping[str, str]) -> dict[str, bytes]:
    """The dataset in each of EXPORT_FORMATS, by format name. Turtle, having no named graphs, holds their union.

    The statements are written sorted (by graph, subject, predicate, object), not in the store's own
    order, which follows the order they were added in: the same data gives the same bytes. They are sorted
    once for all the formats.
    """
    declared = dict(sorted(prefixes.items()))
    quads = sorted(store, key=_quad_order)
    triples = sorted({quad.triple for quad in quads}, key=str)
    written = {}
    for format_name, (rdf_format, _) in EXPORT_FORMATS.items():
        if format_name == "turtle":
            written[format_name] = ox.serialize(triples, format=rdf_format, prefixes=declared) or b""
        elif rdf_format.supports_datasets and format_name != "jsonld":
            written[format_name] = ox.serialize(quads, format=rdf_format, prefixes=declared) or b""
        else:
            written[format_name] = ox.serialize(quads, format=rdf_format) or b""
    return written
