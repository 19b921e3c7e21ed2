"""What is sent to the store: the client's query checked, rewritten into portable text, values bound.

The check is the embedded store's own: Oxigraph's parser and planner on an empty store (nothing is
evaluated), so only standard SPARQL 1.1 with standard functions leaves: no vendor pragmas (Virtuoso's
DEFINE), no extension functions, no updates. Named-query values are bound as RDF terms in a VALUES
block (SPARQL 1.1's own binding mechanism), serialised by Oxigraph, never formatted in by hand.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pyoxigraph as ox

from kg.engines.binding import bind_values
from kg.engines.protocol import QueryJob
from kg.errors import QuerySyntaxError
from kg.sparql.guard import form_token, parse_problem, tokens

IRI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>\"{}|\\^`]*$")


@lru_cache(maxsize=256)  # bounded: client texts are up to KG_MAX_QUERY_BYTES each
def _syntax_problem(text: str, base_iri: str | None) -> str | None:
    return parse_problem(text, base_iri)


def check_standard_sparql(text: str, base_iri: str | None = None) -> None:
    """Raise QuerySyntaxError unless `text` is a SPARQL 1.1 query the embedded store would accept."""
    problem = _syntax_problem(text, base_iri if base_iri and IRI.match(base_iri) else None)
    if problem:
        raise QuerySyntaxError(problem, field="query")


def query_form(text: str) -> str:
    """SELECT, CONSTRUCT, ASK or DESCRIBE: what the store is asked for, and how its answer is read."""
    token = form_token(text)
    return token.text.upper() if token else "SELECT"


@lru_cache(maxsize=256)  # bounded: client texts are up to KG_MAX_QUERY_BYTES each
def portable_text(text: str) -> str:
    """The query with prefixed names that use backslash escapes (`id:material\\/x`) written as full IRIs.

    The same query, token for token; stores that lack SPARQL 1.1's local-name escapes (Virtuoso 7)
    then read it too.
    """
    items = tokens(text)
    if not any(t.kind == "pname" and "\\" in t.text for t in items):
        return text
    prefixes: dict[str, str] = {}
    pieces, last = [], 0
    for index, token in enumerate(items):
        if (
            token.kind == "word"
            and token.text.upper() == "PREFIX"
            and index + 2 < len(items)
            and items[index + 1].kind == "pname"
            and items[index + 2].kind == "iri"
        ):
            prefixes[items[index + 1].text[:-1]] = items[index + 2].text[1:-1]
        elif token.kind == "pname" and "\\" in token.text:
            name = token.text.rstrip(".")  # a local name never ends in '.': that one ends the triple
            prefix, _, local = name.partition(":")
            if prefix in prefixes:
                iri = prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)
                if IRI.match(iri) and not re.search(r"[#'\"\\]", iri):
                    pieces += [text[last : token.position], f"<{iri}>"]
                    last = token.position + len(name)
    return "".join(pieces) + text[last:]


def forwarded_text(job: QueryJob) -> str:
    """The exact text sent for `job`: portable names, bound values, and its base IRI made explicit."""
    text = portable_text(job.text)
    if job.substitutions:
        text = bind_values(text, job.substitutions)
    if job.base_iri and IRI.match(job.base_iri):
        # the SPARQL protocol has no base parameter: relative IRIs resolve against the endpoint, as embedded
        text = f"BASE {ox.NamedNode(job.base_iri)}\n{text}"
    return text
