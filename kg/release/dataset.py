"""The dataset as named graphs in an embedded pyoxigraph store: loading, counting, versioning, writing it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef

from kg.errors import BuildOutputError
from kg.release.layout import DATASET_FILE, EXPORT_FORMATS


def load_graphs(named_graphs: Mapping[URIRef, Graph]) -> ox.Store:
    """An in-memory store holding each rdflib graph as a named graph."""
    store = ox.Store()
    for name, graph in named_graphs.items():
        data = graph.serialize(format="nt", encoding="utf-8")
        store.load(input=data, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(name)))
    return store


def triples_per_graph(store: ox.Store) -> dict[str, int]:
    counts = {}
    for graph in sorted(store.named_graphs(), key=str):
        counts[graph.value] = sum(1 for _ in store.quads_for_pattern(None, None, None, graph))
    return counts


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


def serialize(store: ox.Store, format_name: str, prefixes: Mapping[str, str]) -> bytes:
    """The dataset in one of EXPORT_FORMATS. Turtle, having no named graphs, holds their union."""
    if format_name not in EXPORT_FORMATS:
        raise ValueError(f"unknown format {format_name!r}; use one of {sorted(EXPORT_FORMATS)}")
    rdf_format, _ = EXPORT_FORMATS[format_name]
    if format_name == "turtle":
        triples = {quad.triple for quad in store}
        return ox.serialize(sorted(triples, key=str), format=rdf_format, prefixes=dict(prefixes)) or b""
    if rdf_format.supports_datasets and format_name != "jsonld":
        return store.dump(format=rdf_format, prefixes=dict(prefixes)) or b""
    return store.dump(format=rdf_format) or b""
