"""The store's answer read as the embedded store's would be: parsed by Oxigraph, shaped by the same code.

Results are asked for as SPARQL JSON (SELECT, ASK) or N-Triples (CONSTRUCT, DESCRIBE), parsed, held to
the row budget and written in the format the client asked for by kg.engines.outcome, as on the
embedded store. Booleans get their canonical form (Virtuoso writes 1 and 0).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pyoxigraph as ox

from kg.engines.outcome import shape_outcome
from kg.engines.protocol import QueryJob, QueryOutcome
from kg.errors import KGError, StoreFailed

log = logging.getLogger("capkg.remote")

SELECT_ACCEPT = "application/sparql-results+json"
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9, text/plain;q=0.5"
GRAPH_FORMS = {"CONSTRUCT", "DESCRIBE"}
XSD_BOOLEAN = ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean")
# a term of SPARQL JSON is an object without braces inside ({"type": …, "value": …, "datatype": …}), in any order
BOOLEAN_TERM = re.compile(rb"\{[^{}]*XMLSchema#boolean[^{}]*\}")
NOT_CANONICAL = re.compile(rb'"value"\s*:\s*"[01]"')
CANONICAL_BOOLEANS = {"1": ox.Literal("true", datatype=XSD_BOOLEAN), "0": ox.Literal("false", datatype=XSD_BOOLEAN)}


def accepted(form: str) -> str:
    """The Accept header for a query of this form."""
    return GRAPH_ACCEPT if form in GRAPH_FORMS else SELECT_ACCEPT


def shaped(body: bytes, media_type: str, form: str, job: QueryJob, started: float) -> QueryOutcome | KGError:
    """The store's answer shaped as the job asks, or the error to raise.

    The error is returned, not raised, so that the caller raises it with no traceback into the frames
    that held the parsed results: those are Oxigraph objects of this thread, which must not be dropped
    on another (the event loop's).
    """
    try:
        if form in GRAPH_FORMS:
            results = ox.parse(body, format=_rdf_format(media_type))
            triples = (ox.Triple(q.subject, q.predicate, q.object) for q in results)
            return shape_outcome(triples, job, started)
        solutions = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        if isinstance(solutions, ox.QueryBoolean) or not _non_canonical_booleans(body):
            # nothing to canonicalise: looking at every term for a boolean took a fifth of the API's time
            return shape_outcome(solutions, job, started)
        return shape_outcome(_Canonical(solutions), job, started)
    except KGError as error:
        return type(error)(error.problem, field=error.field)
    except SyntaxError as exc:
        log.error("the SPARQL store sent an answer that does not parse as %s: %s", media_type, exc)
        return StoreFailed("the SPARQL store sent an answer that does not parse; the error was logged")


def _rdf_format(media_type: str) -> ox.RdfFormat:
    if media_type in {"text/turtle", "application/x-turtle"}:
        return ox.RdfFormat.TURTLE
    if media_type in {"application/rdf+xml"}:
        return ox.RdfFormat.RDF_XML
    return ox.RdfFormat.N_TRIPLES  # application/n-triples, and text/plain, N-Triples' old media type


def _non_canonical_booleans(body: bytes) -> bool:
    """Whether the answer may hold an xsd:boolean written 1 or 0 (a term object with both; false positives only
    cost the slower path)."""
    return any(NOT_CANONICAL.search(term.group()) for term in BOOLEAN_TERM.finditer(body))


class _Canonical:
    """A store's solutions with booleans in their canonical lexical form, each solution a list in the
    variables' order."""

    def __init__(self, solutions: ox.QuerySolutions) -> None:
        self.solutions = solutions
        self.variables = solutions.variables
        self.positions = range(len(solutions.variables))

    def __iter__(self) -> Iterator[list[Any]]:
        for solution in self.solutions:
            yield [_canonical(solution[index]) for index in self.positions]


def _canonical(term: Any) -> Any:
    if isinstance(term, ox.Literal) and term.datatype == XSD_BOOLEAN and term.value in CANONICAL_BOOLEANS:
        return CANONICAL_BOOLEANS[term.value]
    return term
