"""Binding values to a query's variables as RDF terms in a VALUES block opening its WHERE group.

Both engines bind this way: an external store has no other standard mechanism, and pyoxigraph plans a
query with a VALUES block far better than one given pre-bound `substitutions` (at 100x the portfolio,
0.7 ms against 578 ms for the same named query). The terms are serialised by Oxigraph (validated,
escaped), never formatted in by hand.
"""

from __future__ import annotations

import re

from kg.engines.protocol import Term, decode_term
from kg.errors import QueryDefinitionError, QueryParameterError
from kg.sparql.guard import QUERY_FORMS, tokens


def bind_values(text: str, substitutions: dict[str, Term]) -> str:
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
