"""Human documentation of the ontology, generated at build time by pyLODE."""

from __future__ import annotations

import logging
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from kg.errors import SchemaFileError


def document_ontology(ontology_file: Path, target: Path) -> None:
    """Write pyLODE's OntPub documentation of `ontology_file` to `target` (self-contained HTML)."""
    level = logging.getLogger().level
    from pylode import OntPub  # imported here: pyLODE loads its background ontologies on import

    logging.getLogger().setLevel(max(level, logging.WARNING))  # pyLODE's import turns the root logger to DEBUG

    try:
        html = OntPub(ontology=Graph().parse(ontology_file, format="turtle")).make_html()
    except Exception as exc:  # pyLODE raises bare exceptions on ontologies it cannot read
        raise SchemaFileError(f"pyLODE cannot document the ontology: {exc}", file=ontology_file.name) from exc
    html = html.replace("<html>", '<html lang="en">', 1)
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


def class_diagram(graph: Graph) -> str:
    """An SVG of the ontology's classes (left) and the classes they specialise (right)."""
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
    row, width, box = 26, 900, 250
    left = {iri: 20 + i * row for i, iri in enumerate(classes)}
    right = {iri: 20 + i * row * max(1, len(classes)) / max(1, len(targets)) for i, iri in enumerate(targets)}
    height = 40 + row * max(len(classes), 1)
    parts = [
        f'<section id="diagram"><h2>Class diagram</h2><svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="diagram-title" viewBox="0 0 {width} {height}" style="max-width:100%;height:auto">'
        '<title id="diagram-title">The ontology\'s classes (left) and the classes of other vocabularies they '
        'specialise (right)</title><g font-family="sans-serif" font-size="12">'
    ]
    for child, parent in edges:
        y1 = left[child] + 9
        if parent in left:
            parts.append(
                f'<path d="M{20 + box} {y1} C{20 + box + 40} {y1} {20 + box + 40} {left[parent] + 9} '
                f'{20 + box} {left[parent] + 9}" fill="none" stroke="#b35900"/>'
            )
        else:
            parts.append(
                f'<line x1="{20 + box}" y1="{y1}" x2="{width - 20 - box}" y2="{right[parent] + 9}" stroke="#8aa4c0"/>'
            )
    for iri, y in left.items():
        parts.append(
            f'<rect x="20" y="{y}" width="{box}" height="18" rx="3" fill="#e7f0fa" stroke="#005aa0"/>'
            f'<text x="26" y="{y + 13}">{_short(iri, namespaces)}</text>'
        )
    for iri, y in right.items():
        parts.append(
            f'<rect x="{width - 20 - box}" y="{y}" width="{box}" height="18" rx="3" fill="#f6f8fa" '
            f'stroke="#57606a"/><text x="{width - 14 - box}" y="{y + 13}">{_short(iri, namespaces)}</text>'
        )
    parts.append("</g></svg></section>")
    return "".join(parts)
