"""What a release publishes besides the dataset: the source texts and the SHACL shapes, as they were built.

The provenance of every resource (`cap:sourceLocator`) points into <base>id/source/<file name>, and the
dataset description cites <base>shapes: the release keeps a copy of both, so a server answers with the
texts and shapes its data was built from, not with what the working tree holds later. They are
ordinary files of the release, listed in its manifest and verified like the dumps.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph
from rdflib.namespace import RDF

from kg.errors import BuildOutputError
from kg.namespaces import SCHEMA, ProjectNamespaces
from kg.release.layout import SHAPES_FILE, SOURCE_TEXT_PREFIX


def source_text_names(asserted: Graph, ns: ProjectNamespaces) -> list[str]:
    """The file names of the source texts the graph describes (cap:SourceText, schema:name)."""
    return sorted(
        str(name)
        for source in asserted.subjects(RDF.type, ns.cap.SourceText)
        for name in asserted.objects(source, SCHEMA.name)
    )


def write_published(directory: Path, sources_dir: Path, asserted: Graph, shapes: Graph, ns: ProjectNamespaces) -> None:
    for name in source_text_names(asserted, ns):
        source = sources_dir / name
        if not source.is_file():
            raise BuildOutputError("the graph describes a source text that is not in the sources folder", file=source)
        shutil.copyfile(source, directory / (SOURCE_TEXT_PREFIX + name))
    (directory / SHAPES_FILE).write_bytes(canonical_turtle(shapes, ns))


def canonical_turtle(graph: Graph, ns: ProjectNamespaces) -> bytes:
    """Turtle whose blank nodes are labelled canonically (RDFC-1.0) and triples sorted: same graph, same bytes."""
    dataset = ox.Dataset(ox.parse(graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    triples = sorted((quad.triple for quad in dataset), key=str)
    return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=ns.prefixes()) or b""
