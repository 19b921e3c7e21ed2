"""SPARQL results in the W3C formats (JSON, XML, CSV, TSV) and RDF results via pyoxigraph.

Solutions are counted before they are written, so a result over the row budget is refused
instead of being cut silently.
"""

from __future__ import annotations

import csv
import io
import json
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

SELECT_FORMATS = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "text/plain": "text",
}
# A graph answer in a dataset format (N-Quads, TriG) is its triples in the default graph; text/plain is
# N-Triples, the plainest RDF there is, and N3 is written as Turtle, which N3 contains.
GRAPH_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/trig": ox.RdfFormat.TRIG,
    "text/n3": ox.RdfFormat.N3,
    "text/plain": ox.RdfFormat.N_TRIPLES,
}
SHORT_NAMES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "turtle": "text/turtle",
    "ttl": "text/turtle",
    "ntriples": "application/n-triples",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
    "nquads": "application/n-quads",
    "nq": "application/n-quads",
    "trig": "application/trig",
    "text": "text/plain",
    "txt": "text/plain",
}

# format= (and output=) values for CONSTRUCT and DESCRIBE as SPARQL clients send them (SPARQLWrapper sends xml,
# rdf, rdf+xml, turtle, n3, json-ld and json) and as Fuseki and Virtuoso read them: xml is RDF/XML, n3 Turtle (a
# subset of N3), json JSON-LD
GRAPH_NAMES = {
    **SHORT_NAMES,
    "xml": "application/rdf+xml",
    "rdf": "application/rdf+xml",
    "rdf+xml": "application/rdf+xml",
    "n3": "text/turtle",
    "json-ld": "application/ld+json",
    "json": "application/ld+json",
}

BoundTerm = ox.NamedNode | ox.BlankNode | ox.Literal  # what a solution binds a variable to


def term_json(term: BoundTerm) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    result = {"type": "literal", "value": term.value}
    if term.language:
        result["xml:lang"] = term.language
    elif term.datatype.value != XSD_STRING:
        result["datatype"] = term.datatype.value
    return result


def _tsv_term(term: BoundTerm | None) -> str:
    if term is None:
        return ""
    return str(term)  # pyoxigraph terms print in N-Triples/Turtle syntax, which TSV results use


def _csv_term(term: BoundTerm | None) -> str:
    """SPARQL 1.1 CSV: IRIs and literals by their lexical form alone, blank nodes as `_:label`."""
    if term is None:
        return ""
    return f"_:{term.value}" if isinstance(term, ox.BlankNode) else term.value


def write_select(variables: list[str], rows: list[list[BoundTerm | None]], kind: str) -> bytes:
    if kind == "json":
        bindings = [
            {name: term_json(term) for name, term in zip(variables, row, strict=True) if term is not None}
            for row in rows
        ]
        return json.dumps(
            {"head": {"vars": variables}, "results": {"bindings": bindings}}, ensure_ascii=False, separators=(",", ":")
        ).encode()
    if kind == "xml":
        parts = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
        parts += [f"<variable name={quoteattr(v)}/>" for v in variables]
        parts.append("</head><results>")
        for row in rows:
            parts.append("<result>")
            for name, term in zip(variables, row, strict=True):
                if term is not None:
                    parts.append(f"<binding name={quoteattr(name)}>{_xml_term(term)}</binding>")
            parts.append("</result>")
        parts.append("</results></sparql>")
        return "".join(parts).encode()
    if kind == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(variables)
        for row in rows:
            writer.writerow([_csv_term(term) for term in row])
        return buffer.getvalue().encode()
    if kind == "tsv":
        lines = ["\t".join("?" + v for v in variables)]
        lines += ["\t".join(_tsv_term(term) for term in row) for row in rows]
        return ("\n".join(lines) + "\n").encode()
    if kind == "text":
        return _text_table(variables, rows).encode()
    raise ValueError(kind)


def text_table_size(variables: list[str], rows: list[list[BoundTerm | None]]) -> int:
    """The length of the text table of these rows, in characters, computed without writing it.

    Padding makes a table as wide as its widest value on every row: one long value in a long result
    would multiply its size, so the size is checked against the byte budget before the table is written.
    """
    widths = _column_widths(variables, rows)
    line = sum(widths) + 3 * len(widths) + 2  # "| " before each cell, " |" after the last, a newline
    return line * (len(rows) + 4)


def _column_widths(variables: list[str], rows: list[list[BoundTerm | None]]) -> list[int]:
    widths = [len(name) + 1 for name in variables]
    for row in rows:
        for column, term in enumerate(row):
            widths[column] = max(widths[column], len(_tsv_term(term)))
    return widths


def _text_table(variables: list[str], rows: list[list[BoundTerm | None]]) -> str:
    """SELECT results as a text table for people and terminals (what Jena's `output=text` writes)."""
    widths = _column_widths(variables, rows)

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    rule = "-" * (sum(widths) + 3 * len(widths) + 1)
    lines = [rule, line(["?" + name for name in variables]), "=" * len(rule)]
    lines += [line([_tsv_term(term) for term in row]) for row in rows]
    lines.append(rule)
    return "\n".join(lines) + "\n"


def write_boolean(value: bool, kind: str) -> bytes:
    if kind == "json":
        return json.dumps({"head": {}, "boolean": value}).encode()
    if kind == "xml":
        return (
            f'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/>'
            f"<boolean>{'true' if value else 'false'}</boolean></sparql>"
        ).encode()
    return ("true\n" if value else "false\n").encode()


def _xml_term(term: BoundTerm) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if term.language:
        return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
    if term.datatype.value != XSD_STRING:
        return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
    return f"<literal>{escape(term.value)}</literal>"


def write_graph(triples: list[ox.Triple], media_type: str, prefixes: dict[str, str] | None = None) -> bytes:
    rdf_format = GRAPH_FORMATS[media_type]
    if rdf_format in (ox.RdfFormat.TURTLE,) and prefixes:
        return ox.serialize(triples, format=rdf_format, prefixes=prefixes) or b""
    return ox.serialize(triples, format=rdf_format) or b""
