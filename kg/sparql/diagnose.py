"""A malformed query's problem in words, with its line and column in the client's own text.

Oxigraph's parser states a position and the grammar's alternatives at the furthest point it reached
(`error at 2:15: expected one of Prefix not found, ['%'], ['-' | '0' ..= '9' | ...`): a list of
character classes nobody should have to read, and for many mistakes (an unclosed bracket, a stray
dot) the position is the end of the text. So the common cases are found here, on the query's
tokens (kg.sparql.guard's lexer), and stated plainly: an empty query, an unclosed string, a bracket
not closed or closed by the wrong one, an unknown prefix, an unknown function, a variable selected
but neither grouped nor aggregated, a variable selected twice. Anything else is "Unexpected X at
line L, column C", the position being Oxigraph's or, where Oxigraph only reports the end of the text,
rdflib's parser's (a second opinion, which names the token it could not read).

Positions are 1-based, columns in characters; `shift` lines put before the client's text (the
predeclared prefixes, kg.sparql.prefixes) are taken off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from kg.sparql.guard import ERROR_AT, Token, declared, form_token, position_of, tokens

# characters: rdflib's parser is asked only about texts up to this size (it can take a millisecond a
# character on pathological text: `?a||?a||…` of 1.6 KB took 1.4 s)
MAX_SECOND_OPINION = 1_000


@dataclass(frozen=True)
class Diagnosis:
    message: str  # the problem in words, its position included
    line: int | None = None
    column: int | None = None


BRACKETS = {"{": "}", "(": ")", "[": "]"}
CLOSERS = {close: open_ for open_, close in BRACKETS.items()}
BRACKET_NAMES = {"{": "group '{'", "(": "'('", "[": "'['"}
SHORT_STRING = {
    "'": re.compile(r"'(?:[^'\\\r\n]|\\[^\r\n])*'"),
    '"': re.compile(r'"(?:[^"\\\r\n]|\\[^\r\n])*"'),
}
LONG_STRING = {
    "'''": re.compile(r"'''(?:[^'\\]|\\[\s\S]|'(?!''))*'''"),
    '"""': re.compile(r'"""(?:[^"\\]|\\[\s\S]|"(?!""))*"""'),
}
# SPARQL 1.1's keywords and built-in functions that may stand before "(" (and Oxigraph's extensions it parses)
CALLABLE = {
    "STR", "LANG", "LANGMATCHES", "DATATYPE", "BOUND", "IRI", "URI", "BNODE", "RAND", "ABS", "CEIL", "FLOOR",
    "ROUND", "CONCAT", "STRLEN", "UCASE", "LCASE", "ENCODE_FOR_URI", "CONTAINS", "STRSTARTS", "STRENDS",
    "STRBEFORE", "STRAFTER", "YEAR", "MONTH", "DAY", "HOURS", "MINUTES", "SECONDS", "TIMEZONE", "TZ", "NOW",
    "UUID", "STRUUID", "MD5", "SHA1", "SHA256", "SHA384", "SHA512", "COALESCE", "IF", "STRLANG", "STRDT",
    "SAMETERM", "ISIRI", "ISURI", "ISBLANK", "ISLITERAL", "ISNUMERIC", "REGEX", "SUBSTR", "REPLACE", "EXISTS",
    "NOT", "IN", "COUNT", "SUM", "MIN", "MAX", "AVG", "SAMPLE", "GROUP_CONCAT", "DISTINCT", "FILTER", "BIND",
    "VALUES", "SELECT", "WHERE", "BY", "HAVING", "AS", "ASC", "DESC", "CONSTRUCT", "DESCRIBE", "ASK", "FROM",
    "NAMED", "OPTIONAL", "MINUS", "UNION", "GRAPH", "LIMIT", "OFFSET", "ORDER", "GROUP", "REDUCED", "A",
    "TRUE", "FALSE", "UNDEF", "SEPARATOR", "LATERAL", "TRIPLE", "SUBJECT", "PREDICATE", "OBJECT", "ISTRIPLE",
    "LANGDIR", "HASLANG", "HASLANGDIR", "STRLANGDIR", "ADJUST",
}  # fmt: skip


def explain(text: str, raw: str, *, shift: int = 0, prefixes: Mapping[str, str] | None = None) -> Diagnosis:
    """What is wrong with `text` (the client's query), given what the parser said (`raw`) of the text it was
    given: `text` after `shift` lines of predeclared `prefixes`."""
    prefixes = prefixes or {}
    items = tokens(text)
    if not items:
        return Diagnosis(
            "The query is empty (line 1, column 1): write a SELECT, CONSTRUCT, ASK or DESCRIBE query", 1, 1
        )
    for finder in (_unclosed_string, _unbalanced):
        found = finder(text, items)
        if found:
            return found
    where = ERROR_AT.match(raw)
    if where is not None and "IRI parsing failed" in raw:
        offset = _offset(text, max(1, int(where.group(1)) - shift), int(where.group(2)))
        start = text.rfind("<", 0, offset)
        at = start if start >= 0 else offset
        return _diagnosis(
            text,
            at,
            f'Invalid IRI at {_at(text, at)}: an IRI in <...> may not contain spaces or any of <>"{{}}|^`\\',
        )
    found = _unknown_prefix(text, items, prefixes)  # Oxigraph does not always say so ("expected OPTIONAL")
    if found:
        return found
    function = re.search(r"The custom function <([^>]*)> is not supported", raw)
    if function:
        return _unknown_function(text, items, function.group(1), prefixes)
    if "The SELECT contains a variable that is unbound" in raw:
        found = _ungrouped(text, items)
        if found:
            return found
    if "The SELECT contains an expression with a variable that is unbound" in raw:
        found = _ungrouped_in_expression(text, items)
        if found:
            return found
    if "Duplicated variable name in SELECT" in raw:
        found = _selected_twice(text, items)
        if found:
            return found
    found = _unknown_builtin(text, items) or _no_form(text, items) or _nothing_selected(text, items)
    found = found or _bound_twice(text, items)
    if found:
        return found
    if where is None:  # a message without a position (the planner's): it is in words already
        return Diagnosis(raw.strip().splitlines()[0] if raw.strip() else "The query is not valid SPARQL 1.1")
    line, column = max(1, int(where.group(1)) - shift), int(where.group(2))
    offset = _offset(text, line, column)
    if offset >= len(text.rstrip()) and "[_]" in raw:  # only "the end": the parser reached it on some path
        earlier = _second_opinion(text, offset)
        if earlier < offset:
            snippet = " ".join(text[earlier : earlier + 30].split())
            return _diagnosis(text, earlier, f"Syntax error at {_at(text, earlier)}, in '{_shown(snippet)}'")
    return _unexpected(text, items, offset)


def _offset(text: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        found = text.find("\n", start)
        if found < 0:
            return len(text)
        start = found + 1
    end = text.find("\n", start)
    return min(start + max(0, column - 1), len(text) if end < 0 else end + 1)


def _at(text: str, offset: int) -> str:
    line, column = position_of(text, offset)
    return f"line {line}, column {column}"


def _diagnosis(text: str, offset: int, message: str) -> Diagnosis:
    line, column = position_of(text, offset)
    return Diagnosis(message, line, column)


def _shown(token_text: str) -> str:
    return token_text if len(token_text) <= 40 else token_text[:37] + "..."


def _unclosed_string(text: str, items: list[Token]) -> Diagnosis | None:
    for token in items:
        if token.kind != "string":
            continue
        quote = token.text[:3] if token.text[:3] in LONG_STRING else token.text[0]
        pattern = LONG_STRING.get(quote) or SHORT_STRING[quote]
        if not pattern.fullmatch(token.text):
            where = "on the same line" if len(quote) == 1 else "before the end of the query"
            return _diagnosis(
                text,
                token.position,
                f"The string opened with {quote} at {_at(text, token.position)} is not closed {where}",
            )
    return None


def _unbalanced(text: str, items: list[Token]) -> Diagnosis | None:
    """The first bracket closed by the wrong one, closing nothing, or left open at the end."""
    opened: list[Token] = []
    for token in items:
        if token.kind != "other":
            continue
        if token.text in BRACKETS:
            opened.append(token)
        elif token.text in CLOSERS:
            if not opened:
                return _diagnosis(
                    text,
                    token.position,
                    f"Unexpected '{token.text}' at {_at(text, token.position)}: "
                    f"there is no open '{CLOSERS[token.text]}' for it to close",
                )
            last = opened.pop()
            if BRACKETS[last.text] != token.text:
                return _diagnosis(
                    text,
                    token.position,
                    f"Expected '{BRACKETS[last.text]}' to close the {BRACKET_NAMES[last.text]} opened at "
                    f"{_at(text, last.position)}, found '{token.text}' at {_at(text, token.position)}",
                )
    if opened:
        last = opened[-1]
        end = len(text.rstrip())
        return _diagnosis(
            text,
            end,
            f"Expected '{BRACKETS[last.text]}' to close the {BRACKET_NAMES[last.text]} opened at "
            f"{_at(text, last.position)}, found the end of the query at {_at(text, end)}",
        )
    return None


def _unknown_prefix(text: str, items: list[Token], prefixes: Mapping[str, str]) -> Diagnosis | None:
    known = declared(items) | set(prefixes)
    for index, token in enumerate(items):
        if token.kind != "pname" or (index and items[index - 1].text.upper() == "PREFIX"):
            continue
        name = token.text.partition(":")[0]
        if name not in known:
            return _diagnosis(
                text,
                token.position,
                f"Unknown prefix '{name}:' at {_at(text, token.position)}: declare it (PREFIX {name}: <...>) or "
                "use one of the predeclared prefixes (GET /sparql lists them)",
            )
    return None


def _unknown_function(text: str, items: list[Token], iri: str, prefixes: Mapping[str, str]) -> Diagnosis:
    own = {**prefixes}
    for index, token in enumerate(items[:-2]):
        if token.kind == "word" and token.text.upper() == "PREFIX" and items[index + 1].kind == "pname":
            own[items[index + 1].text[:-1]] = items[index + 2].text[1:-1]
    advice = "this endpoint knows SPARQL 1.1's built-in functions and casts to XSD types (xsd:integer(?x))"
    for index, token in enumerate(items[:-1]):
        if items[index + 1].text != "(":
            continue
        name = None
        if token.kind == "iri" and token.text[1:-1] == iri:
            name = token.text
        elif token.kind == "pname":
            prefix, _, local = token.text.partition(":")
            if prefix in own and own[prefix] + re.sub(r"\\(.)", r"\1", local) == iri:
                name = token.text
        if name:
            return _diagnosis(text, token.position, f"Unknown function {name} at {_at(text, token.position)}: {advice}")
    return Diagnosis(f"Unknown function <{iri}>: {advice}")


def _unknown_builtin(text: str, items: list[Token]) -> Diagnosis | None:
    for index, token in enumerate(items[:-1]):
        if token.kind == "word" and items[index + 1].text == "(" and token.text.upper() not in CALLABLE:
            return _diagnosis(
                text,
                token.position,
                f"Unknown function {token.text} at {_at(text, token.position)}: SPARQL 1.1's built-in functions "
                "are STR, LANG, CONTAINS, REGEX, COUNT ... (https://www.w3.org/TR/sparql11-query/#SparqlOps)",
            )
    return None


def _no_form(text: str, items: list[Token]) -> Diagnosis | None:
    """A query without SELECT, CONSTRUCT, ASK or DESCRIBE: the first token after its PREFIX and BASE lines."""
    if form_token(text) is not None:
        return None
    index = 0
    while index < len(items) and items[index].kind == "word" and items[index].text.upper() in ("PREFIX", "BASE"):
        index += 3 if items[index].text.upper() == "PREFIX" else 2
    found = items[index] if index < len(items) else None
    at = found.position if found else len(text.rstrip())
    what = f"'{_shown(found.text)}'" if found else "the end of the query"
    return _diagnosis(text, at, f"Expected SELECT, CONSTRUCT, ASK or DESCRIBE, found {what} at {_at(text, at)}")


def _nothing_selected(text: str, items: list[Token]) -> Diagnosis | None:
    for index, token in enumerate(items[:-1]):
        following = items[index + 1]
        if _is(token, "SELECT") and (following.text == "{" or _is(following, "WHERE")):
            return _diagnosis(
                text,
                following.position,
                f"SELECT at {_at(text, token.position)} names nothing to return: "
                f"write the variables (or *) before '{following.text}' at {_at(text, following.position)}",
            )
    return None


def _bound_twice(text: str, items: list[Token]) -> Diagnosis | None:
    """BIND(... AS ?v) after ?v is used in the same group (SPARQL 1.1, 18.2.1: it must be a new variable).

    One pass: each open group keeps the names used in it so far (a closed inner group's names join its
    parent's), so a query of many BINDs costs no more than its length.
    """
    used: list[set[str]] = []
    for index, token in enumerate(items):
        if token.text == "{":
            used.append(set())
        elif token.text == "}" and used:
            inner = used.pop()
            if used:
                used[-1] |= inner
        elif token.kind == "var" and used:
            used[-1].add(token.text[1:])
        elif _is(token, "BIND") and used:
            target = _bind_target(items, index)
            if target is not None and target.text[1:] in used[-1]:
                return _diagnosis(
                    text,
                    target.position,
                    f"BIND at {_at(text, token.position)} assigns {target.text}, which the group already "
                    f"binds before it: choose a new variable name at {_at(text, target.position)}",
                )
    return None


def _bind_target(items: list[Token], index: int) -> Token | None:
    """The variable after AS in the BIND at `index` (None if the BIND is malformed)."""
    depth = 0
    for inner in range(index + 1, len(items) - 1):
        depth += 1 if items[inner].text == "(" else -1 if items[inner].text == ")" else 0
        if depth <= 0 and inner > index + 1:
            return None
        if depth == 1 and _is(items[inner], "AS") and items[inner + 1].kind == "var":
            return items[inner + 1]
    return None


def _is(token: Token, word: str) -> bool:
    return token.kind == "word" and token.text.upper() == word


def _projection(items: list[Token]) -> tuple[list[Token], list[Token], int | None]:
    """The first SELECT's plain variables, its `AS ?x` variables, and where its GROUP BY starts (if any)."""
    start = next((i for i, t in enumerate(items) if t.kind == "word" and t.text.upper() == "SELECT"), None)
    if start is None:
        return [], [], None
    plain: list[Token] = []
    named: list[Token] = []
    depth = 0
    index = start + 1
    for index in range(start + 1, len(items)):
        token = items[index]
        if token.text == "{" or (token.kind == "word" and token.text.upper() in ("WHERE", "FROM")):
            break
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif token.kind == "var":
            if items[index - 1].kind == "word" and items[index - 1].text.upper() == "AS":
                named.append(token)
            elif depth == 0:
                plain.append(token)
    braces = 0
    for later in range(index, len(items) - 1):
        token = items[later]
        braces += 1 if token.text == "{" else -1 if token.text == "}" else 0
        if braces == 0 and token.kind == "word" and token.text.upper() == "GROUP":
            return plain, named, later
    return plain, named, None


AGGREGATES = {"COUNT", "SUM", "MIN", "MAX", "AVG", "SAMPLE", "GROUP_CONCAT"}


def _grouped(items: list[Token], group: int | None) -> set[str]:
    """The variables of the GROUP BY clause starting at `group` (its expressions' variables and AS names)."""
    names: set[str] = set()
    if group is not None:
        for token in items[group + 2 :]:
            if token.kind == "word" and token.text.upper() in ("HAVING", "ORDER", "LIMIT", "OFFSET", "VALUES"):
                break
            if token.kind == "var":
                names.add(token.text[1:])
    return names


def _ungrouped_in_expression(text: str, items: list[Token]) -> Diagnosis | None:
    """A variable used outside any aggregate in a SELECT expression, and not grouped."""
    start = next((i for i, t in enumerate(items) if _is(t, "SELECT")), None)
    if start is None:
        return None
    grouped = _grouped(items, _projection(items)[2])
    depth = aggregate_depth = 0
    for index in range(start + 1, len(items)):
        token = items[index]
        if token.text == "{" or _is(token, "WHERE") or _is(token, "FROM"):
            break
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
            if aggregate_depth and depth < aggregate_depth:
                aggregate_depth = 0
        elif token.kind == "word" and token.text.upper() in AGGREGATES and not aggregate_depth:
            aggregate_depth = depth + 1
        elif (
            token.kind == "var"
            and depth > 0
            and not aggregate_depth
            and not _is(items[index - 1], "AS")
            and token.text[1:] not in grouped
        ):
            return _diagnosis(
                text,
                token.position,
                f"{token.text} at {_at(text, token.position)} is used in a SELECT expression but is neither grouped "
                "nor inside an aggregate: group by it (or by the expression: GROUP BY (LANG(?x) AS ?lang), then "
                "select ?lang), or wrap it in an aggregate such as SAMPLE()",
            )
    return None


def _ungrouped(text: str, items: list[Token]) -> Diagnosis | None:
    plain, _, group = _projection(items)
    grouped = _grouped(items, group)
    for token in plain:
        if token.text[1:] not in grouped:
            name = token.text
            return _diagnosis(
                text,
                token.position,
                f"{name} at {_at(text, token.position)} is selected but neither grouped nor aggregated: "
                f"add it to GROUP BY, or select an aggregate of it, such as (SAMPLE({name}) AS ?{name[1:]}_)",
            )
    return None


def _selected_twice(text: str, items: list[Token]) -> Diagnosis | None:
    plain, named, _ = _projection(items)
    seen: set[str] = set()
    for token in sorted(plain + named, key=lambda t: t.position):
        if token.text[1:] in seen:
            return _diagnosis(
                text, token.position, f"{token.text} at {_at(text, token.position)} is selected a second time"
            )
        seen.add(token.text[1:])
    return None


def _second_opinion(text: str, offset: int) -> int:
    """Where rdflib's parser stops reading `text`, if before `offset` (Oxigraph's position)."""
    if len(text) > MAX_SECOND_OPINION:
        return offset
    try:
        from rdflib.plugins.sparql.parser import parseQuery

        parseQuery(text)
    except Exception as exc:  # pyparsing's ParseException, or any failure of a parser asked for an opinion
        found = re.search(r"\(at char (\d+)\)", str(exc))
        if found and int(found.group(1)) < offset:
            return int(found.group(1))
    return offset


def _unexpected(text: str, items: list[Token], offset: int) -> Diagnosis:
    token = next((t for t in items if t.position + len(t.text) > offset), None)
    if token is None or not text[offset:].strip():
        end = len(text.rstrip())
        return _diagnosis(text, end, f"Unexpected end of the query at {_at(text, end)}: the query is incomplete")
    position = max(offset, token.position) if token.position > offset else token.position
    return _diagnosis(text, position, f"Unexpected '{_shown(token.text)}' at {_at(text, position)}")
