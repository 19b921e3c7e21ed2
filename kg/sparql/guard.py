"""Refuse what a read-only endpoint must not run, before it runs.

pyoxigraph executes `SERVICE <url>` by making HTTP requests, so federated queries are
refused here, along with updates (which `Store.query` would reject anyway, with a less
helpful message) and FROM / FROM NAMED clauses naming anything but the dataset's graphs.
A lexer that knows SPARQL's comments, strings, IRIs, variables and prefixed names (with
their backslash escapes) finds the keywords; a keyword inside a literal or a name is ignored.
The query workers also run without network access where the system allows it (kg.engines.embedded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kg.errors import QueryRefused

UPDATE_KEYWORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
QUERY_FORMS = {"SELECT", "CONSTRUCT", "ASK", "DESCRIBE"}
PN_LOCAL_ESCAPE = r"\\[_~.\-!$&'()*+,;=/?#@%]"
TOKEN = re.compile(
    rf"""(?P<comment>\#[^\n]*)
      | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''
                  |\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
                  |'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
      | (?P<iri><[^<>"{{}}|^`\\\s]*>)
      | (?P<pname>(?:[A-Za-z][\w.-]*)?:(?:[\w\-:%.]|{PN_LOCAL_ESCAPE})*)
      | (?P<var>[?$]\w+)
      | (?P<word>[A-Za-z_][A-Za-z0-9_-]*)
      | (?P<other>\S)""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


@dataclass(frozen=True)
class QueryShape:
    """What the guard learnt about an accepted query."""

    form: str  # SELECT | CONSTRUCT | ASK | DESCRIBE
    has_dataset_clause: bool  # FROM or FROM NAMED


def tokens(text: str) -> list[Token]:
    return [
        Token(m.lastgroup or "other", m.group(), m.start()) for m in TOKEN.finditer(text) if m.lastgroup != "comment"
    ]


def _line_column(text: str, position: int) -> str:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return f"line {line}, column {column}"


def check_query(
    text: str, allowed_graphs: set[str], *, dataset_given: bool = False, untrusted: bool = True
) -> QueryShape:
    """Raise QueryRefused for updates, SERVICE, and FROM clauses naming graphs outside the dataset.

    With `dataset_given` (protocol default-graph-uri / named-graph-uri), the query's FROM clauses
    are replaced by the protocol's dataset, so they are not checked. `untrusted` (a client's text):
    see _check_untrusted; the project's own queries, with values bound as serialised terms, are not.
    Verdicts are remembered per query text: sites send the same queries again and again.
    """
    outcome = _check(text, frozenset(allowed_graphs), dataset_given, untrusted)
    if isinstance(outcome, QueryRefused):
        raise QueryRefused(outcome.problem, field=outcome.field)
    return outcome


@lru_cache(maxsize=4096)
def _check(
    text: str, allowed_graphs: frozenset[str], dataset_given: bool, untrusted: bool
) -> QueryShape | QueryRefused:
    try:
        if untrusted:
            _check_untrusted(text)
        return _inspect(text, allowed_graphs, dataset_given)
    except QueryRefused as refused:
        return refused


def _inspect(text: str, allowed_graphs: frozenset[str], dataset_given: bool) -> QueryShape:
    items = tokens(text)
    prefixes = {}
    form = None
    has_dataset_clause = False
    for index, token in enumerate(items):
        if token.kind != "word":
            continue
        word = token.text.upper()
        following = items[index + 1 : index + 3]
        if word == "PREFIX" and len(following) == 2 and following[0].kind == "pname" and following[1].kind == "iri":
            prefixes[following[0].text[:-1]] = following[1].text[1:-1]
        elif word == "SERVICE":
            raise QueryRefused(
                f"SERVICE (federated query) is not allowed on this endpoint ({_line_column(text, token.position)})",
                field="query",
            )
        elif word in UPDATE_KEYWORDS and form is None:
            raise QueryRefused(
                f"this endpoint is read-only: {word} (a SPARQL Update operation) is not allowed "
                f"({_line_column(text, token.position)})",
                field="query",
            )
        elif word in QUERY_FORMS and form is None:
            form = word
        elif word == "FROM":
            has_dataset_clause = True
            target = (
                following[1]
                if following and following[0].text.upper() == "NAMED" and len(following) > 1
                else (following[0] if following else None)
            )
            graph = _resolve(target, prefixes)
            if not dataset_given and graph not in allowed_graphs:
                shown = target.text if target else "nothing"
                raise QueryRefused(
                    f"FROM {shown} names a graph that is not part of this dataset "
                    f"({_line_column(text, token.position)}); the graphs are {sorted(allowed_graphs)}",
                    field="query",
                )
    escape = re.search(r"\\[uU]", _outside_strings(text, items))
    if escape:
        raise QueryRefused(
            f"codepoint escapes (\\u, \\U) are not accepted outside literals ({_line_column(text, escape.start())})",
            field="query",
        )
    return QueryShape(form or "SELECT", has_dataset_clause)


MAX_NESTING = 200  # Oxigraph's parser recurses: a few thousand nested brackets overflow its stack
CODEPOINT_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _check_untrusted(text: str) -> None:
    """What a client's text must meet before anything parses it: no SERVICE at all, bounded nesting.

    A lexer cannot be relied on to see every SERVICE the parser sees: `<` is both an IRI's start and
    less-than (`FILTER(1<2)SERVICE#>` hides one behind what looks like an IRI), a comment ends at a
    carriage return for the parser, keywords need no space before a name (`SERVICE:x`) or after a
    number (`1e5SERVICE`). And the parser itself cannot be asked: Oxigraph contacts a SERVICE's
    endpoint as soon as it is given the query. So the word is refused wherever it appears, in any case,
    escaped or not, strings, IRIs and comments included; the message says how to match such text.
    """
    decoded = CODEPOINT_ESCAPE.sub(
        lambda m: chr(int(m.group(1) or m.group(2), 16)) if int(m.group(1) or m.group(2), 16) < 0x110000 else "", text
    )
    found = re.search(r"service", decoded, re.IGNORECASE)
    if found:
        where = _line_column(decoded, found.start())
        raise QueryRefused(
            f"the word SERVICE may not appear anywhere in a query here ({where}): "
            "federated queries are refused, and this is how they are refused reliably. To match "
            'text that contains the word, split it: CONTAINS(?text, CONCAT("serv", "ice"))',
            field="query",
        )
    depth = deepest = 0
    for char in text:
        if char in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "})]":
            depth -= 1
    if deepest > MAX_NESTING:
        raise QueryRefused(
            f"the query nests brackets {deepest} deep; at most {MAX_NESTING} levels are accepted", field="query"
        )


_PARSER = None


def form_token(text: str) -> Token | None:
    """The query's SELECT, CONSTRUCT, ASK or DESCRIBE keyword."""
    return next((t for t in tokens(text) if t.kind == "word" and t.text.upper() in QUERY_FORMS), None)


def parse_problem(text: str, base_iri: str | None = None) -> str | None:
    """What Oxigraph's SPARQL 1.1 parser and planner say against `text` (None: it is a query they accept).

    On an empty store, never evaluated: Oxigraph evaluates lazily, except ASK, so an ASK is checked as
    CONSTRUCT {}, which has the same grammar after the keyword.
    """
    global _PARSER
    import pyoxigraph as ox

    if _PARSER is None:
        _PARSER = ox.Store()
    probe = text
    form = form_token(text)
    if form is not None and form.text.upper() == "ASK":
        probe = text[: form.position] + "CONSTRUCT {}" + text[form.position + 3 :]
    try:
        _PARSER.query(probe, base_iri=base_iri or None)
    except (SyntaxError, RuntimeError, ValueError) as exc:
        return str(exc)
    return None


def _resolve(token: Token | None, prefixes: dict[str, str]) -> str | None:
    if token is None:
        return None
    if token.kind == "iri":
        return token.text[1:-1]
    if token.kind == "pname":
        prefix, _, local = token.text.partition(":")
        if prefix in prefixes:
            return prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)
    return None


def _outside_strings(text: str, items: list[Token]) -> str:
    """The query text with its string literals blanked out (positions kept)."""
    chars = list(text)
    for token in items:
        if token.kind == "string":
            chars[token.position : token.position + len(token.text)] = " " * len(token.text)
    return "".join(chars)
