"""Refuse what a read-only endpoint must not run, before it runs.

pyoxigraph executes `SERVICE <url>` by making HTTP requests, so federated queries are
refused here, along with updates (which `Store.query` would reject anyway, with a less
helpful message) and FROM / FROM NAMED clauses naming anything but the dataset's graphs.
A small lexer skips comments, strings and IRIs, so a keyword inside a literal is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.errors import QueryRefused

UPDATE_KEYWORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
QUERY_FORMS = {"SELECT", "CONSTRUCT", "ASK", "DESCRIBE"}
TOKEN = re.compile(
    r"""(?P<comment>\#[^\n]*)
      | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
      | (?P<iri><[^<>"{}|^`\\\s]*>)
      | (?P<word>[A-Za-z_][A-Za-z0-9_-]*)
      | (?P<other>\S)""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


def tokens(text: str) -> list[Token]:
    return [Token(m.lastgroup or "other", m.group(), m.start()) for m in TOKEN.finditer(text)
            if m.lastgroup != "comment"]


def _line_column(text: str, position: int) -> str:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return f"line {line}, column {column}"


def check_query(text: str, allowed_graphs: set[str], *, dataset_given: bool = False) -> None:
    """Raise QueryRefused for updates, SERVICE, and FROM clauses naming graphs outside the dataset.

    With `dataset_given` (protocol default-graph-uri / named-graph-uri), the query's FROM clauses
    are replaced by the protocol's dataset, so they are not checked.
    """
    items = tokens(text)
    words = [(i, t) for i, t in enumerate(items) if t.kind == "word"]
    for index, token in words:
        word = token.text.upper()
        previous = items[index - 1].text if index else ""
        if previous in {":", "?", "$", "@"} or (index + 1 < len(items) and items[index + 1].text == ":"):
            continue  # a variable (?service), language tag or part of a prefixed name (ex:SERVICE)
        if word == "SERVICE":
            raise QueryRefused(f"SERVICE (federated query) is not allowed on this endpoint "
                               f"({_line_column(text, token.position)})", field="query")
        if word in UPDATE_KEYWORDS and not any(t.text.upper() in QUERY_FORMS for _, t in words if t.position < token.position):
            raise QueryRefused(f"this endpoint is read-only: {word} (a SPARQL Update operation) is not allowed "
                               f"({_line_column(text, token.position)})", field="query")
        if word == "FROM" and not dataset_given:
            following = items[index + 1: index + 3]
            target = next((t for t in following if t.kind == "iri"), None)
            if target is not None and target.text[1:-1] not in allowed_graphs:
                raise QueryRefused(f"FROM {target.text} names a graph that is not part of this dataset "
                                   f"({_line_column(text, target.position)}); the graphs are {sorted(allowed_graphs)}",
                                   field="query")
