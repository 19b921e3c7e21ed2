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
# an integer of ASCII digits, ending where the grammar lets it end (a space, a comment, the text's end):
# anything else after LIMIT is left for the parser to refuse, never "repaired" into a valid query
LIMIT_VALUE = re.compile(r"\s*([0-9]+)(?=[\s#]|\Z)")


def check_standard_sparql(text: str, base_iri: str | None = None) -> None:
    """Raise QuerySyntaxError unless `text` is a SPARQL 1.1 query the embedded store would accept.

    In this process and unbounded in time: for trusted texts (the build's, tests'). A client's text is
    checked in RemoteEngine's checker processes, under its time budget.
    """
    problem = parse_problem(text, base_iri if base_iri and IRI.match(base_iri) else None)
    if problem:
        raise QuerySyntaxError(problem, field="query")


def query_form(text: str) -> str:
    """SELECT, CONSTRUCT, ASK or DESCRIBE: what the store is asked for, and how its answer is read."""
    token = form_token(text)
    return token.text.upper() if token else "SELECT"


@lru_cache(maxsize=64)  # bounded: 64 texts of at most KG_MAX_QUERY_BYTES, with their rewrites
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
    """The exact text sent for `job`: portable names, bound values, rows capped, its base IRI made explicit."""
    text = portable_text(job.text)
    if job.substitutions:
        text = bind_values(text, job.substitutions)
    if job.max_rows is not None and query_form(text) == "SELECT":
        text = rows_capped(text, job.max_rows + 1)
    if job.base_iri and IRI.match(job.base_iri):
        # the SPARQL protocol has no base parameter: relative IRIs resolve against the endpoint, as embedded
        text = f"BASE {ox.NamedNode(job.base_iri)}\n{text}"
    return text


def rows_capped(text: str, rows: int) -> str:
    """The SELECT query asking for at most `rows` solutions: its top-level LIMIT lowered, or one added.

    One row over the row budget is enough to know the answer is over it (then a 422, never a silent
    cut), and the store need not compute, write and send the rest: a whole-graph SELECT * would cost
    a slow store seconds. Only the outermost query is touched; a LIMIT inside a subquery is its own. A
    sorted query is left as it is: the store sorts every row anyway, and Virtuoso refuses a sorted LIMIT
    over its MaxSortedTopRows (10,000 by default).
    """
    depth, values_at = 0, None
    for token in tokens(text):
        if token.kind == "other" and token.text in ("{", "}"):
            depth += 1 if token.text == "{" else -1
        elif depth == 0 and token.kind == "word" and token.text.upper() == "ORDER":
            return text
        elif depth == 0 and token.kind == "word" and token.text.upper() == "LIMIT":
            limit = LIMIT_VALUE.match(text, token.position + len(token.text))
            digits = limit.group(1).lstrip("0") if limit else ""
            if limit is None or len(digits) > 18 or int(digits or "0") <= rows:
                # no integer there, one the parser may refuse as too large (left for it to judge, as on the
                # embedded store), or one within the budget
                return text
            return text[: limit.start(1)] + str(rows) + text[limit.end(1) :]
        elif depth == 0 and token.kind == "word" and token.text.upper() == "VALUES":
            values_at = token.position  # the trailing VALUES clause: solution modifiers come before it
            break
    if values_at is None:
        return f"{text}\nLIMIT {rows}"  # on a line of its own: the text may end in a comment
    return f"{text[:values_at]}LIMIT {rows}\n{text[values_at:]}"
