"""Refuse what a read-only endpoint must not run, before it runs.

pyoxigraph executes `SERVICE <url>` by making HTTP requests, so federated queries are
refused here, along with updates (which `Store.query` would reject anyway, with a less
helpful message) and FROM / FROM NAMED clauses naming anything but the dataset's graphs.
A lexer that knows SPARQL's comments, strings, IRIs, variables and prefixed names (with
their backslash escapes) finds the keywords; a keyword inside a literal or a name is ignored.
The query workers also run without network access where the system allows it (kg.engines.embedded).

Every check takes time linear in the query's length (a client chooses the text): no token pattern
scans text that the lexer then scans again (possessive quantifiers; an unterminated string or a
name without a colon is consumed as what it is, not retried from each of its characters).
Verdicts are remembered per query text within a byte budget (VERDICTS).
"""

from __future__ import annotations

import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

from kg.errors import QueryRefused

UPDATE_KEYWORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
QUERY_FORMS = {"SELECT", "CONSTRUCT", "ASK", "DESCRIBE"}
PN_LOCAL_ESCAPE = r"\\[_~.\-!$&'()*+,;=/?#@%]"
# Names are read as at least as long as Oxigraph reads them (a name that stopped short could leave one of
# its escapes, `ex:a€\'`, to open a string the parser never sees): every non-ASCII character counts as part
# of a name, a superset of SPARQL's PN_CHARS. A character Oxigraph does not take is a syntax error there.
_WIDE = r"\x80-\U0010ffff"
_LOCAL = rf"(?:[\w\-:%.{_WIDE}]|{PN_LOCAL_ESCAPE})*+"
TOKEN = re.compile(
    rf"""(?P<comment>\#[^\r\n]*)
      | (?P<string>'''(?:[^'\\]|\\[\s\S]|'(?!''))*+(?:'''|\\?\Z)
                  |\"\"\"(?:[^"\\]|\\[\s\S]|"(?!""))*+(?:\"\"\"|\\?\Z)
                  |'(?:[^'\\\r\n]|\\[^\r\n])*+'?
                  |"(?:[^"\\\r\n]|\\[^\r\n])*+"?)
      | (?P<iri><(?:[^<>"{{}}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{{4}}|\\U[0-9A-Fa-f]{{8}})*+>)
      | (?P<name>[A-Za-z{_WIDE}][\w.\-{_WIDE}]*+)(?P<prefixed>:{_LOCAL})?
      | (?P<pname>:{_LOCAL})
      | (?P<var>[?$][\w{_WIDE}]+)
      | (?P<word>[A-Za-z_][A-Za-z0-9_-]*)
      | (?P<other>\S)""",
    re.VERBOSE,
)
# Each alternative either consumes what it scanned or fails within a bounded distance:
# - a comment ends at a line end (CR or LF, as for Oxigraph);
# - a string ends at its closing quotes or, unterminated, at the line end (short) or the text's end (long):
#   Oxigraph then stops at it with a syntax error, so nothing after it runs;
# - an IRI's characters are Oxigraph's IRIREF (no space or control character, \u escapes); a failed
#   attempt stops at a character no later token can scan back over;
# - a run of name characters is matched once; without a colon after it, it is split into the words and
#   single characters it was always read as (WORDS), instead of being rescanned from each position.
WORDS = re.compile(r"(?P<word>[A-Za-z_][A-Za-z0-9_-]*)|(?P<other>\S)")


class Token(NamedTuple):  # a tuple: a query may have a great many
    kind: str
    text: str
    position: int


@dataclass(frozen=True)
class QueryShape:
    """What the guard learnt about an accepted query."""

    form: str  # SELECT | CONSTRUCT | ASK | DESCRIBE
    has_dataset_clause: bool  # FROM or FROM NAMED
    prefixes: tuple[str, ...] = ()  # the predeclared prefixes it uses without declaring them (kg.sparql.prefixes)


def tokens(text: str) -> list[Token]:
    """The query's tokens, comments left out, in time linear in its length."""
    return list(_scan(text))


def _scan(text: str) -> Iterator[Token]:
    for match in TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind == "comment":
            continue
        if kind == "prefixed":
            yield Token("pname", match.group(), match.start())
        elif kind == "name":
            for part in WORDS.finditer(text, match.start(), match.end()):
                yield Token(part.lastgroup or "other", part.group(), part.start())
        else:
            yield Token(kind, match.group(), match.start())


def position_of(text: str, position: int) -> tuple[int, int]:
    """The 1-based line and column (in characters) of offset `position` in `text`."""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column


def _line_column(text: str, position: int) -> str:
    line, column = position_of(text, position)
    return f"line {line}, column {column}"


def _refused(problem: str, text: str, position: int | None) -> QueryRefused:
    """A refusal of the query text, its position (if any) both in words and as line and column."""
    line, column = position_of(text, position) if position is not None else (None, None)
    return QueryRefused(problem, field="query", line=line, column=column)


def check_query(
    text: str,
    allowed_graphs: set[str],
    *,
    dataset_given: bool = False,
    untrusted: bool = True,
    predeclared: Mapping[str, str] | None = None,
) -> QueryShape:
    """Raise QueryRefused for updates, SERVICE, and FROM clauses naming graphs outside the dataset.

    With `dataset_given` (protocol default-graph-uri / named-graph-uri), the query's FROM clauses
    are replaced by the protocol's dataset, so they are not checked. `untrusted` (a client's text):
    see _refuse_service and _Brackets; the project's own queries, with values bound as serialised terms, are not.
    `predeclared`: the prefixes the endpoint declares for every query (kg.sparql.prefixes), which FROM
    clauses may use without a PREFIX of their own.
    Verdicts are remembered per query text (VERDICTS): sites send the same queries again and again.
    Linear in the text's length, but a client's text may be long: the HTTP layer runs this off its event
    loop, and answers from `recall_verdict` on it.
    """
    graphs = _graphs_key(allowed_graphs, predeclared)
    verdict = VERDICTS.get(text, (graphs, dataset_given, untrusted))
    if verdict is None:
        verdict = _check(text, graphs, frozenset(allowed_graphs), dataset_given, untrusted, dict(predeclared or {}))
    return _delivered(verdict)


def _graphs_key(allowed_graphs: Iterable[str], predeclared: Mapping[str, str] | None) -> frozenset[str]:
    """The verdict cache's key for a dataset and the predeclared prefixes (a prefix is no graph IRI: no clash)."""
    return frozenset(allowed_graphs) | frozenset(f"PREFIX {p}: <{iri}>" for p, iri in (predeclared or {}).items())


def recall_verdict(
    text: str,
    allowed_graphs: set[str],
    *,
    dataset_given: bool = False,
    untrusted: bool = True,
    predeclared: Mapping[str, str] | None = None,
) -> QueryShape | None:
    """check_query's remembered verdict on `text` (QueryShape, or QueryRefused raised), None if there is none.

    Cheap (a dictionary look-up: hashing the text), so it may run where check_query should not.
    """
    verdict = VERDICTS.get(text, (_graphs_key(allowed_graphs, predeclared), dataset_given, untrusted))
    return None if verdict is None else _delivered(verdict)


@dataclass(frozen=True)
class _Refusal:
    """A remembered refusal: its message, not the exception (whose traceback would keep the tokens alive)."""

    problem: str
    field: str | None
    line: int | None = None
    column: int | None = None


_Verdict: TypeAlias = QueryShape | _Refusal


def _delivered(verdict: _Verdict) -> QueryShape:
    if isinstance(verdict, _Refusal):
        raise QueryRefused(verdict.problem, field=verdict.field, line=verdict.line, column=verdict.column)
    return verdict


def _check(
    text: str,
    key: frozenset[str],
    graphs: frozenset[str],
    dataset_given: bool,
    untrusted: bool,
    predeclared: dict[str, str],
) -> _Verdict:
    verdict: _Verdict
    try:
        if untrusted:
            _refuse_service(text)
        items = tokens(text)
        if untrusted:
            _refuse_deep_nesting(text, items)
        verdict = _inspect(text, items, graphs, dataset_given, predeclared)
    except QueryRefused as refused:
        verdict = _Refusal(refused.problem, refused.field, refused.line, refused.column)
    VERDICTS.put(text, (key, dataset_given, untrusted), verdict)
    if untrusted and isinstance(verdict, QueryShape):  # what the trusted check would say too (RemoteEngine asks)
        VERDICTS.put(text, (key, dataset_given, False), verdict)
    return verdict


def _inspect(
    text: str, items: list[Token], allowed_graphs: frozenset[str], dataset_given: bool, predeclared: dict[str, str]
) -> QueryShape:
    prefixes = dict(predeclared)  # the query's own PREFIX wins
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
            raise _refused(
                f"SERVICE (federated query) is not allowed on this endpoint ({_line_column(text, token.position)})",
                text,
                token.position,
            )
        elif word in UPDATE_KEYWORDS and form is None:
            raise _refused(
                f"this endpoint is read-only: {word} (a SPARQL Update operation) is not allowed "
                f"({_line_column(text, token.position)})",
                text,
                token.position,
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
                shown = (target.text if len(target.text) <= 80 else target.text[:77] + "...") if target else "nothing"
                raise _refused(
                    f"FROM {shown} names a graph that is not part of this dataset "
                    f"({_line_column(text, token.position)}); the graphs are {sorted(allowed_graphs)}",
                    text,
                    token.position,
                )
    escape = re.search(r"\\[uU]", _outside_strings(text, items))
    if escape:
        raise _refused(
            f"codepoint escapes (\\u, \\U) are not accepted outside literals ({_line_column(text, escape.start())})",
            text,
            escape.start(),
        )
    return QueryShape(form or "SELECT", has_dataset_clause, needed(items, predeclared))


MAX_NESTING = 200  # Oxigraph's parser recurses: a few thousand nested brackets overflow its stack
CODEPOINT_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
LINE_END = re.compile(r"[\r\n]")
SHORT_STRING_BODY = re.compile(r"(?:[^'\\\r\n]|\\[^\r\n])*+")
IRI_STOP = re.compile(r"['#\\]")  # where reading an IRI's characters as code stops being plain code


def _refuse_service(text: str) -> None:
    """What a client's text must meet before anything parses it: no SERVICE at all (and see _Brackets).

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
        raise _refused(
            f"the word SERVICE may not appear anywhere in a query here ({where}): "
            "federated queries are refused, and this is how they are refused reliably. To match "
            'text that contains the word, split it: CONTAINS(?text, CONCAT("serv", "ice"))',
            decoded,
            found.start(),
        )


def _refuse_deep_nesting(text: str, items: list[Token]) -> None:
    brackets = _Brackets(text, items)
    deepest, plain, unsure = brackets.deepest_level(MAX_NESTING)  # plain: up to MAX_NESTING + 1
    if plain > MAX_NESTING:
        over = brackets.over if brackets.over is not None else 0
        raise _refused(
            f"the query nests brackets more than {MAX_NESTING} deep ({_line_column(text, over)}); "
            f"at most {MAX_NESTING} levels are accepted",
            text,
            over,
        )
    if deepest > MAX_NESTING:
        where = _line_column(text, unsure if unsure is not None else 0)
        raise _refused(
            f"the query nests brackets more than {MAX_NESTING} deep as Oxigraph may read it; at most {MAX_NESTING} "
            f"levels are accepted. The IRI at {where} follows a value inside an expression, where its < can also "
            "be read as less-than, and what follows it as a comment or a string: write its # as %23 and its ' as "
            "%27, or use a prefixed name",
            text,
            unsure if unsure is not None else 0,
        )


# Words after which a `<` is never less-than (it opens an IRI, or the query is not SPARQL).
NOT_OPERANDS = {
    "A", "AS", "ASC", "ASK", "BASE", "BIND", "BY", "CONSTRUCT", "DESC", "DESCRIBE", "DISTINCT", "EXISTS",
    "FILTER", "FROM", "GRAPH", "GROUP", "HAVING", "IN", "LIMIT", "MINUS", "NAMED", "NOT", "OFFSET", "OPTIONAL",
    "ORDER", "PREFIX", "REDUCED", "SELECT", "UNION", "VALUES", "WHERE",
}  # fmt: skip


class _Brackets:
    """How deep the query's brackets nest, as Oxigraph's parser may read it: never less than it does.

    Brackets are ( [ { and the triple terms' <<, counted from the tokens: outside strings, IRIs and comments.
    The tokens are how Oxigraph reads the text, but for one thing a lexer cannot tell: `<...>` is an IRI, or,
    after a value inside an expression, may be less-than (`FILTER(?a<((1))>?b)`); glued to a `<`, its own `<` may
    end a triple term's `<<` (`<<<a#b>`). Read that way, the IRI's characters are code up to a ' (a string), #
    (a comment to the line's end) or \\ (a syntax error, where that reading ends). Every reading the parser may
    take is counted:

    - up to where it stops, the IRI's brackets count (`<((((1))))&&?b>`);
    - after a #, that reading stays in a comment to the line's end while the tokens go on (`FILTER(1<2)#> }}}`):
      at the line end, the deeper of the two readings is kept. A line end inside a token (a long string opened
      on the same line) cannot be lined up, nor a ' whose string closes on the same line: there the count
      gives up reading, and counts every opening bracket after it and no closing one (more than any reading).

    Which brackets open an expression follows SPARQL's grammar (FILTER(, BIND(, function calls, the SELECT and
    ORDER BY / GROUP BY / HAVING clauses), so that triple patterns, VALUES rows and collections, where `<` is
    always an IRI, are read one way. Once two readings met again, any IRI after a value is read both ways.
    """

    def __init__(self, text: str, items: list[Token]) -> None:
        self.text, self.items = text, items
        self.depth = 0  # the level, the deepest of the readings that go on
        self.deepest = 0  # the deepest level of any reading
        self.plain_depth = self.plain = 0  # the level and the deepest level as the tokens read
        self.open: list[str] = []  # the open brackets as the tokens read: expression, list, group, data, blank, triple
        self.line_end = -1  # while >= 0: where some reading's comment, opened inside an IRI, ends
        self.held = 0  # the deepest of those readings' levels, until then
        self.loose = False  # readings met again: the open brackets may be another reading's
        self.clause = False  # in SELECT's projection or a GROUP BY / ORDER BY / HAVING clause
        self.values = False  # after VALUES: the next { holds data
        self.at = 0  # the position of the token being read
        self.unsure: int | None = None  # where the first IRI read two ways starts
        self.over: int | None = None  # where the tokens' own reading first goes deeper than the limit
        self.limit = MAX_NESTING

    def deepest_level(self, limit: int) -> tuple[int, int, int | None]:
        """The deepest level of any reading, the deepest as the tokens read, and the first IRI read two ways;
        the count stops once the tokens' own reading is deeper than `limit`."""
        items, text = self.items, self.text
        self.limit = limit
        skip = met = False
        for index, token in enumerate(items):
            if self.plain > limit:
                break
            self.at = token.position
            if skip:
                skip = False
                continue
            end = token.position + len(token.text)
            met = False
            if self.line_end >= 0 and end > self.line_end:
                if token.position < self.line_end:  # the line ends inside this token (a long string)
                    return self._give_up(self.line_end, max(self.depth, self.held))
                self.depth, self.held, self.line_end = max(self.depth, self.held), 0, -1
                self.loose = met = True
            previous = items[index - 1] if index else None
            kind, char = token.kind, token.text
            if kind == "word":
                word = char.upper()
                if word in ("SELECT", "BY", "HAVING"):
                    self.clause = True
                elif word in ("WHERE", "LIMIT", "OFFSET"):
                    self.clause = False
                elif word == "VALUES":
                    self.values = True
            elif kind == "other":
                if char == "{":
                    self._push("data" if self.values else "group")
                    self.values = self.clause = False
                elif char == "(":
                    self._push(self._paren(previous, items[index - 2] if index > 1 else None))
                elif char == "[":
                    self._push("blank")
                elif char == "<" and text.startswith("<", end):  # <<
                    self._push("triple")
                    skip = index + 1 < len(items) and items[index + 1].kind == "other"
                elif char in "})]":
                    self._pop()
                    self.clause = self.clause and char != "}"
                elif char == ">" and index + 1 < len(items) and items[index + 1].position == end:
                    if items[index + 1].text == ">":  # >>
                        self._pop()
                        skip = True
            elif kind == "iri":
                glued = previous is not None and previous.text == "<" and previous.position + 1 == token.position
                expression = self.loose or (bool(self.open) and self.open[-1] == "expression")
                if glued or (expression and (met or _operand(previous))):
                    given_up = self._both_ways(token)
                    if given_up:
                        return given_up
        return self.deepest, self.plain, self.unsure

    def _paren(self, previous: Token | None, before: Token | None) -> str:
        inner = self.open[-1] if self.open else None
        if inner == "expression":
            return "expression"
        if inner == "data" or _is_word(previous, "VALUES"):
            return "list"  # a row of VALUES, or its variables
        if self.clause or inner is None:
            return "expression"  # a projection, GROUP BY / ORDER BY / HAVING (...)
        if previous is not None and (
            previous.kind == "word" or (previous.kind in ("pname", "iri") and _is_word(before, "FILTER"))
        ):
            return "expression"  # FILTER(, BIND(, FILTER regex(, FILTER ex:function(
        return "list"  # a collection, in a triple pattern (after its predicate)

    def _push(self, bracket: str) -> None:
        self.open.append(bracket)
        self.depth += 1
        self.plain_depth += 1
        self.deepest = max(self.deepest, self.depth)
        self.plain = max(self.plain, self.plain_depth)
        if self.over is None and self.plain > self.limit:
            self.over = self.at

    def _pop(self) -> None:
        if self.open:
            self.open.pop()
        self.depth -= 1
        self.plain_depth -= 1

    def _both_ways(self, token: Token) -> tuple[int, int, int | None] | None:
        """Count the reading of `token` as less-than followed by code; give up where that cannot be lined up."""
        if self.unsure is None:
            self.unsure = token.position
        content = token.text[1:-1]
        found = IRI_STOP.search(content)
        stop = found.start() if found else len(content)
        level, top = _bracket_profile(content[:stop])
        self.deepest = max(self.deepest, self.depth + top)
        after = content[stop : stop + 1]
        if after == "":  # both readings meet after the '>'
            self.depth += max(0, level)
            self.loose = self.loose or top > 0 or level != 0
        elif after == "#":
            self.held = max(self.held, self.depth + level)
            if self.line_end < 0:
                found = LINE_END.search(self.text, token.position + 1 + stop)
                self.line_end = found.start() if found else len(self.text)
        elif after == "'":
            quote = token.position + 1 + stop
            body = SHORT_STRING_BODY.match(self.text, quote + 1)  # always matches, maybe nothing
            closing = body.end() if body else quote + 1
            if self.text.startswith("'''", quote) or self.text.startswith("'", closing):
                return self._give_up(token.position, max(self.depth, self.held if self.line_end >= 0 else 0))
        return None  # (after a \, that reading ends with a syntax error)

    def _give_up(self, position: int, level: int) -> tuple[int, int, int | None]:
        opening = sum(self.text.count(bracket, position) for bracket in "{([") + self.text.count("<<", position)
        return max(self.deepest, level + opening), self.plain, self.unsure


def _is_word(token: Token | None, word: str) -> bool:
    return token is not None and token.kind == "word" and token.text.upper() == word


def _operand(token: Token | None) -> bool:
    """Whether `token` may end a value in an expression (a `<` after it may be less-than)."""
    if token is None:
        return False
    if token.kind in ("var", "string", "iri", "pname"):
        return True
    if token.kind == "word":
        return token.text.upper() not in NOT_OPERANDS
    return token.text in ")]>" or token.text.isdigit()


def _bracket_profile(code: str) -> tuple[int, int]:
    """The level after `code`'s round and square brackets, and the highest level within it."""
    level = top = 0
    if "(" in code or "[" in code or ")" in code or "]" in code:
        for char in code:
            if char in "([":
                level += 1
                top = max(top, level)
            elif char in ")]":
                level -= 1
    return level, top


class VerdictCache:
    """check_query's verdicts by query text, least recently used first, within a byte budget.

    An entry costs its text, its verdicts (one per dataset and trust) and a fixed overhead; a text that
    would take more than 1/64 of the budget is not remembered at all. Shared by threads (a lock).
    """

    OVERHEAD = 256  # bytes: the entry's slot, key tuple, dictionary and record, roughly

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0  # bytes accounted for
        self._entries: OrderedDict[str, tuple[int, dict[tuple[frozenset[str], bool, bool], _Verdict]]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, text: str, key: tuple[frozenset[str], bool, bool]) -> _Verdict | None:
        with self._lock:
            entry = self._entries.get(text)
            if entry is None or key not in entry[1]:
                return None
            self._entries.move_to_end(text)
            return entry[1][key]

    def put(self, text: str, key: tuple[frozenset[str], bool, bool], verdict: _Verdict) -> None:
        cost = self.OVERHEAD + sys.getsizeof(key[0]) + _verdict_size(verdict)
        with self._lock:
            entry = self._entries.get(text)
            size, verdicts = entry if entry is not None else (sys.getsizeof(text) + self.OVERHEAD, {})
            if key in verdicts or size + cost > self.budget // 64:
                return
            verdicts[key] = verdict
            self._entries[text] = (size + cost, verdicts)
            self._entries.move_to_end(text)
            self.size += cost + (0 if entry is not None else size)
            self._evict()

    def resize(self, budget: int) -> None:
        with self._lock:
            if budget != self.budget:
                self.budget = budget
                self._evict()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.size = 0

    def _evict(self) -> None:
        while self.size > self.budget and self._entries:
            _, (size, _) = self._entries.popitem(last=False)
            self.size -= size


def _verdict_size(verdict: _Verdict) -> int:
    if isinstance(verdict, _Refusal):
        return 64 + sys.getsizeof(verdict.problem)
    return 64


VERDICTS = VerdictCache(8 * 2**20)  # the budget is the setting guard_cache_bytes (set by the HTTP layer)


_PARSER = None


def form_token(text: str) -> Token | None:
    """The query's SELECT, CONSTRUCT, ASK or DESCRIBE keyword."""
    return next((t for t in _scan(text) if t.kind == "word" and t.text.upper() in QUERY_FORMS), None)


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
        problem = str(exc)
        if probe is not text and form is not None:  # a position after the ASK keyword, back in the client's text
            line, column = position_of(text, form.position)
            found = ERROR_AT.match(problem)
            if found and int(found.group(1)) == line and int(found.group(2)) > column + 3:
                moved = int(found.group(2)) - (len("CONSTRUCT {}") - len("ASK"))
                problem = f"error at {line}:{moved}:{problem[found.end() :]}"
        return problem
    return None


ERROR_AT = re.compile(r"error at (\d+):(\d+):")  # how Oxigraph's parser states a position


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
    pieces, last = [], 0
    for token in items:
        if token.kind == "string":
            pieces += [text[last : token.position], " " * len(token.text)]
            last = token.position + len(token.text)
    return "".join(pieces) + text[last:]


# -- the prefixes a query uses and declares (kg.sparql.prefixes adds the predeclared ones it lacks) ------


def declared(items: list[Token]) -> set[str]:
    """The prefix names the query declares itself (PREFIX name: <iri>)."""
    names = set()
    for index, token in enumerate(items[:-1]):
        if token.kind == "word" and token.text.upper() == "PREFIX" and items[index + 1].kind == "pname":
            names.add(items[index + 1].text.partition(":")[0])
    return names


def used(items: list[Token]) -> list[str]:
    """The prefix names of the query's prefixed names, in order of first use (declarations left out)."""
    names: dict[str, None] = {}
    for index, token in enumerate(items):
        if token.kind != "pname":
            continue
        before = items[index - 1] if index else None
        if before is not None and before.kind == "word" and before.text.upper() == "PREFIX":
            continue
        names.setdefault(token.text.partition(":")[0], None)
    return list(names)


def needed(items: list[Token], prefixes: Mapping[str, str]) -> tuple[str, ...]:
    """The names of `prefixes` the query uses without declaring them, in order of first use."""
    own = declared(items)
    return tuple(name for name in used(items) if name in prefixes and name not in own)
