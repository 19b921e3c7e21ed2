"""What every query engine takes and gives: a job, an outcome, RDF terms as plain tuples, and the engine protocol.

Both engines (the embedded worker pool and an external SPARQL store) implement `QueryEngine`, so the
API holds one without knowing which; a running server swaps engines when a new release goes live.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import pyoxigraph as ox

if TYPE_CHECKING:
    from kg.sparql.diagnose import Diagnosis

Term = tuple[str, str, str | None, str | None]  # (kind, value, datatype, language)
EncodedTriple = tuple[Term, Term, Term]  # (subject, predicate, object)
DEFAULT_MAX_BYTES = 64 * 2**20  # an answer's byte budget where neither its job nor its engine sets one


def encode_term(term: ox.NamedNode | ox.Literal | ox.BlankNode) -> Term:
    if isinstance(term, ox.NamedNode):
        return ("iri", term.value, None, None)
    if isinstance(term, ox.BlankNode):
        return ("bnode", term.value, None, None)
    return ("literal", term.value, None if term.language else term.datatype.value, term.language)


def decode_term(term: Term) -> ox.NamedNode | ox.Literal | ox.BlankNode:
    kind, value, datatype, language = term
    if kind == "iri":
        return ox.NamedNode(value)
    if kind == "bnode":
        return ox.BlankNode(value)
    if language:
        return ox.Literal(value, language=language)
    return ox.Literal(value, datatype=ox.NamedNode(datatype)) if datatype else ox.Literal(value)


def decode_triple(triple: EncodedTriple) -> ox.Triple:
    subject, predicate, value = (decode_term(term) for term in triple)
    if isinstance(subject, ox.Literal) or not isinstance(predicate, ox.NamedNode):
        raise TypeError(f"not an RDF triple: {triple}")
    return ox.Triple(subject, predicate, value)


# The default graph of a query (without FROM or a protocol dataset) is the union of the release's graphs but the
# justifications: they say why the others hold (issue 15), three times as many triples as the data, and reached
# with GRAPH they stay out of every ordinary pattern's way (and its time).
OUTSIDE_THE_DEFAULT_GRAPH = "/id/graph/justifications"


def in_default_graph(graph: str) -> bool:
    return not graph.endswith(OUTSIDE_THE_DEFAULT_GRAPH)


@dataclass
class QueryJob:
    text: str
    select_format: str = "json"  # json | xml | csv | tsv | rows (encoded terms, for the REST layer)
    graph_format: str = "text/turtle"
    substitutions: dict[str, Term] = field(default_factory=dict)
    union_default_graph: bool = True
    default_graphs: list[str] | None = None
    named_graphs: list[str] | None = None
    max_rows: int | None = None  # None: the engine's budget (KG_MAX_ROWS); the API's own queries set theirs
    max_bytes: int | None = None  # None: the engine's budget (KG_MAX_ANSWER_BYTES); bytes of the written answer
    prefixes: dict[str, str] | None = None
    base_iri: str | None = None  # relative IRIs in the query resolve against it (the endpoint's URL)


@dataclass
class QueryOutcome:
    form: str  # select | boolean | graph
    body: bytes = b""
    rows: list[list[Term | None]] | None = None
    variables: list[str] = field(default_factory=list)
    count: int = 0
    seconds: float = 0.0

    def triples(self) -> list[EncodedTriple]:
        """The rows of a graph outcome in the "triples" format, whose every term is bound."""
        triples = []
        for subject, predicate, value in self.rows or []:
            if subject is None or predicate is None or value is None:
                raise TypeError("a triple with an unbound term")
            triples.append((subject, predicate, value))
        return triples


@dataclass(frozen=True)
class Explanation:
    """A malformed query's problem to put in words (kg.sparql.diagnose): pure Python, a few hundred milliseconds on
    a long text, so engines work it out in their worker processes, away from the API's event loop and its
    interpreter lock."""

    text: str  # the client's query
    problem: str  # what the parser said of the text it was given
    shift: int = 0  # lines of predeclared prefixes put before the client's text
    prefixes: tuple[tuple[str, str], ...] = ()


class QueryEngine(Protocol):
    """Runs read-only queries on one release of the dataset."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def run(self, job: QueryJob, *, timeout: float | None = None) -> QueryOutcome: ...

    async def explain(self, explanation: Explanation, *, timeout: float) -> Diagnosis: ...

    async def healthy(self) -> bool: ...

    def status(self) -> dict[str, object]: ...
