"""Human documentation of the ontology, generated at build time by pyLODE."""

from __future__ import annotations

import logging
from pathlib import Path

from rdflib import Graph

from kg.errors import SchemaFileError

ONTOLOGY_PAGE = "ontology.html"


def document_ontology(ontology_file: Path, target: Path) -> None:
    """Write pyLODE's OntPub documentation of `ontology_file` to `target` (self-contained HTML)."""
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))  # pyLODE logs at INFO
    from pylode import OntPub  # imported here: pyLODE loads its background ontologies on import

    try:
        html = OntPub(ontology=Graph().parse(ontology_file, format="turtle")).make_html()
    except Exception as exc:  # pyLODE raises bare exceptions on ontologies it cannot read
        raise SchemaFileError(f"pyLODE cannot document the ontology: {exc}", file=ontology_file.name) from exc
    target.write_text(html.replace("<html>", '<html lang="en">', 1), encoding="utf-8")
