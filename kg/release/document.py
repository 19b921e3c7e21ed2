"""Human documentation of the ontology, generated at build time: pyLODE's page with our class diagram in it.

The diagram's layout is computed here and drawn by templates/class-diagram.svg.j2.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from kg.errors import SchemaFileError
from kg.release.templates import TEMPLATES

# pyLODE's page made readable on a phone and accessible (WCAG 2.1 AA): a viewport, a skip link and a way back to
# the site, its light marker colours (sky blue on white: 1.9:1) darkened to 4.5:1 or more, wide parts wrapped.
HEAD_ADDITIONS = """
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  .sup-c, .sup-con { color: #8a4b00; } .sup-op { color: #002a80; } .sup-fp { color: #00598c; }
  #pylode p, #pylode span { color: #333 !important; }  /* the "made by pyLODE" credit's pale letters */
  .sup-dp { color: #1e6b1e; } .sup-ap, .sup-col { color: #8b0000; } .sup-ni { color: #7a3b12; }
  .skip { position: absolute; left: -9999px; } .skip:focus { position: static; display: inline-block; padding: .5rem; }
  .site-link { display: inline-block; margin: .5rem 0; }
  body { overflow-wrap: anywhere; } #content { max-width: 100%; box-sizing: border-box; }
  pre { white-space: pre-wrap; }
  img, svg { max-width: 100%; height: auto; }
  @media (max-width: 60em) {
    #content, #toc { width: auto !important; position: static !important; margin: 0 !important; }
  }
</style>
"""
SKIP_AND_HOME = (
    '\n<a class="skip" href="#content">Skip to content</a>\n'
    '<a class="site-link" href="/">← CapaCITIES Learning Portfolio</a>\n'
)


def document_ontology(ontology_file: Path, target: Path, cache: Path | None = None) -> None:
    """Write pyLODE's OntPub documentation of `ontology_file` to `target` (self-contained HTML).

    With a `cache` folder, a page made before from the same ontology by the same code is copied, not made
    again: pyLODE takes about a second, and an approval's build never changes the ontology."""
    if cache is not None:
        cached = cache / f"ontology-{_fingerprint(ontology_file)}.html"
        if cached.is_file():
            shutil.copyfile(cached, target)
            return
        _document(ontology_file, target)
        cache.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.part")
        shutil.copyfile(target, partial)
        partial.replace(cached)  # whole or absent: another build may read it meanwhile
        return
    _document(ontology_file, target)


def _fingerprint(ontology_file: Path) -> str:
    from importlib.metadata import version

    digest = hashlib.sha256(ontology_file.read_bytes())
    for code in (Path(__file__), *sorted(Path(__file__).parent.joinpath("templates").glob("class-diagram*"))):
        digest.update(code.read_bytes())
    digest.update(version("pylode").encode())
    return digest.hexdigest()[:24]


def _document(ontology_file: Path, target: Path) -> None:
    level = logging.getLogger().level
    from pylode import OntPub  # imported here: pyLODE loads its background ontologies on import

    logging.getLogger().setLevel(max(level, logging.WARNING))  # pyLODE's import turns the root logger to DEBUG

    try:
        html = OntPub(ontology=Graph().parse(ontology_file, format="turtle")).make_html()
    except Exception as exc:  # pyLODE raises bare exceptions on ontologies it cannot read
        raise SchemaFileError(f"pyLODE cannot document the ontology: {exc}", file=ontology_file.name) from exc
    html = html.replace("<html>", '<html lang="en">', 1)
    html = html.replace("</head>", HEAD_ADDITIONS + "</head>", 1)  # after pyLODE's own styles, to win over them
    html = html.replace("<body>", "<body>" + SKIP_AND_HOME, 1)
    diagram = class_diagram(Graph().parse(ontology_file, format="turtle"))
    marker = html.find("<h2")
    if marker > 0:  # the diagram goes before the first section of pyLODE's page
        html = html[:marker] + diagram + html[marker:]
    target.write_text(html, encoding="utf-8")


def _short(iri: str, namespaces: dict[str, str]) -> str:
    for namespace, prefix in namespaces.items():
        if iri.startswith(namespace):
            return prefix + ":" + iri[len(namespace) :]
    return iri


@dataclass(frozen=True)
class _Box:
    """A class's box in the diagram: its top left corner, and where its label starts."""

    x: float
    y: float
    label: str
    text_x: float
    text_y: float


@dataclass(frozen=True)
class _Edge:
    """A subclass link from the middle of the child's box to the middle of the parent's."""

    x1: float
    y1: float
    x2: float
    y2: float
    within: bool  # both classes are the ontology's: a curve in the left column, not a line across
    bend: float  # how far right such a curve reaches


def class_diagram(graph: Graph) -> str:
    """An SVG of the ontology's classes (left) and the classes they specialise (right), in an HTML section."""
    # rdflib binds "schema" to https://schema.org/ and renames our http binding to "schema1"
    namespaces = {str(ns): prefix for prefix, ns in graph.namespaces() if prefix} | {"http://schema.org/": "schema"}
    cap = next((ns for ns, prefix in namespaces.items() if prefix == "cap"), "")
    classes = sorted({str(s) for s in graph.subjects(RDF.type, OWL.Class) if str(s).startswith(cap)})
    edges = [
        (str(s), str(o))
        for s, o in graph.subject_objects(RDFS.subClassOf)
        if str(s) in classes and isinstance(o, URIRef)
    ]
    targets = sorted({o for _, o in edges if o not in classes}, key=lambda iri: _short(iri, namespaces))
    row, width, box, box_height = 26, 900, 250, 18
    middle = box_height // 2  # an edge meets a box halfway down
    inset, baseline = 6, 13  # where a box's label starts, from the box's top left corner
    left = {iri: 20 + i * row for i, iri in enumerate(classes)}
    # the other vocabularies' classes are spread over the height of the ontology's column
    right = {iri: 20 + i * row * max(1, len(classes)) / max(1, len(targets)) for i, iri in enumerate(targets)}
    right_x = width - 20 - box
    lines = [
        _Edge(20 + box, left[child] + middle, 20 + box, left[parent] + middle, True, 20 + box + 40)
        if parent in left
        else _Edge(20 + box, left[child] + middle, right_x, right[parent] + middle, False, 0)
        for child, parent in edges
    ]
    return TEMPLATES.get_template("class-diagram.svg.j2").render(
        width=width,
        height=40 + row * max(len(classes), 1),
        box_width=box,
        box_height=box_height,
        edges=lines,
        own=[_Box(20, y, _short(iri, namespaces), 20 + inset, y + baseline) for iri, y in left.items()],
        others=[_Box(right_x, y, _short(iri, namespaces), right_x + inset, y + baseline) for iri, y in right.items()],
    )
