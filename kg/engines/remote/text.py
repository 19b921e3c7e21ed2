"""What is sent to the store: the client's query checked, rewritten into portable text, values bound.

The check is the embedded store's own: Oxigraph's parser and planner on an empty store (nothing is
evaluated), so only standard SPARQL 1.1 with standard functions leaves: no vendor pragmas (Virtuoso's
DEFINE), no extension functions, no updates. Named-query values are bound as RDF terms in a VALUES
block (SPARQL 1.1's own binding mechanism), serialised by Oxigraph, never formatted in by hand.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import pyoxigraph as ox

from kg.engines.protocol import QueryJob, decode_term
from kg.errors import QueryDefinitionError, QueryParameterError, QuerySyntaxError
from kg.sparql.guard import QUERY_FORMS, form_token, parse_problem, tokens

IRI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>\"{}|\\^`]*$")


@lru_cache(maxsize=4096)
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


def bind_values(text: str, substitutions: dict[str, Any]) -> str:
    """The query with its variables bound to RDF terms by a VALUES block opening its WHERE group.

    SPARQL 1.1's own way to bind: the terms are serialised by Oxigraph (validated, escaped), never
    formatted by hand. Placed first in the outermost group (not trailing the query), the bindings are
    in scope for the group's FILTERs and OPTIONALs, as with the embedded store's pre-bound variables.
    """
    names = list(substitutions)
    for name in names:
        if not re.fullmatch(r"\w+", name):
            raise QueryParameterError(f"{name!r} is not a variable name", field=name)
    block = (
        " VALUES ("
        + " ".join("?" + name for name in names)
        + ") { ("
        + " ".join(str(decode_term(substitutions[name])) for name in names)
        + ") } "
    )
    opening = _where_group(text)
    return text[: opening + 1] + block + text[opening + 1 :]


def _where_group(text: str) -> int:
    """Position of the `{` that opens the query's WHERE group."""
    items = tokens(text)
    form = next((i for i, t in enumerate(items) if t.kind == "word" and t.text.upper() in QUERY_FORMS), None)
    if form is None:
        raise QueryDefinitionError("the query has no SELECT, CONSTRUCT, ASK or DESCRIBE", field="query")
    index = form + 1
    if items[form].text.upper() == "CONSTRUCT" and index < len(items) and items[index].text == "{":
        depth = 0  # skip the template
        for index in range(form + 1, len(items)):
            depth += {"{": 1, "}": -1}.get(items[index].text, 0)
            if depth == 0:
                break
        index += 1
    parentheses = 0
    for token in items[index:]:
        parentheses += {"(": 1, ")": -1}.get(token.text, 0)
        if token.text == "{" and parentheses == 0:
            return token.position
    raise QueryDefinitionError("the query has no WHERE group to bind values in", field="query")


@lru_cache(maxsize=4096)
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
