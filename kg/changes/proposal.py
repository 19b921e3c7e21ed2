"""Reading what a contributor sends: Turtle or JSON-LD, bounded, never fetching anything; then the change it makes.

A proposal names new resources with blank nodes or `urn:x-new:` IRIs (relative IRIs resolve there), refers to
existing ones by their IRIs, and never chooses an IRI in the project's namespace: approval mints those.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import Node

from kg.changes.gate_errors import (
    ProposalMediaTypeRefused,
    ProposalRefused,
    ProposalSyntaxError,
    ProposalTargetMissing,
    ProposalTooLarge,
)
from kg.changes.model import NEW, Change, Triple, is_new
from kg.namespaces import ProjectNamespaces

TURTLE = "text/turtle"
JSON_LD = "application/ld+json"
ACCEPTED = (TURTLE, JSON_LD)
MAX_LITERAL = 20_000  # characters; the longest card description of the portfolio is about 2,000
# rdflib cannot resolve a relative IRI against a base without a slash (urn:x-new:): parse against this one,
# then move what resolved under it to urn:x-new:
_PARSE_BASE = "https://x-new.invalid/"

ACTIONS = ("add", "replace", "remove")


def read_proposal(
    body: bytes,
    media_type: str,
    *,
    max_bytes: int = 256_000,
    max_triples: int = 2_000,
    ns: ProjectNamespaces | None = None,
) -> Graph:
    """The proposal's triples, or a refusal whose http_status says why (400, 413, 415, 422)."""
    ns = ns or ProjectNamespaces()
    if len(body) > max_bytes:
        raise ProposalTooLarge(f"the proposal has {len(body):,} bytes; at most {max_bytes:,} are accepted")
    kind = media_type.split(";", 1)[0].strip().lower()
    if kind not in ACCEPTED:
        raise ProposalMediaTypeRefused(
            f"proposals in {kind or 'an unnamed format'!s} are not accepted; send {' or '.join(ACCEPTED)}"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProposalSyntaxError(f"the proposal is not UTF-8 (byte {exc.start})") from exc
    parsed = _turtle(text, ns) if kind == TURTLE else _json_ld(text)
    graph = Graph()
    ns.bind(graph)
    for triple in parsed:
        graph.add(tuple(_rebased(term) for term in triple))  # type: ignore[arg-type]
    if len(graph) > max_triples:
        raise ProposalTooLarge(f"the proposal has {len(graph):,} triples; at most {max_triples:,} are accepted")
    for _, predicate, value in graph:
        if isinstance(value, Literal) and len(value) > MAX_LITERAL:
            raise ProposalRefused(
                f"a value of {predicate} has {len(value):,} characters; at most {MAX_LITERAL:,} are accepted",
                field=str(predicate),
            )
    return graph


def _turtle(text: str, ns: ProjectNamespaces) -> Graph:
    # the project's prefixes, on one line of their own so that an error's line number is off by exactly one
    preamble = " ".join(f"@prefix {prefix}: <{iri}> ." for prefix, iri in ns.prefixes().items()) + "\n"
    graph = Graph()
    try:
        graph.parse(data=preamble + text, format="turtle", publicID=_PARSE_BASE)
    except BadSyntax as exc:
        data = (preamble + text).encode("utf-8")
        index = min(max(exc._i, 0), len(data))  # a byte offset into what was parsed
        line_start = data.rfind(b"\n", 0, index) + 1
        column = len(data[line_start:index].decode("utf-8", errors="ignore")) + 1
        line = max(exc.lines, 1)  # 0-based in the parsed text, whose first line is the preamble
        raise ProposalSyntaxError(
            f"Turtle syntax error at line {line}, column {column}: {exc._why}", line=line, column=column
        ) from exc
    except Exception as exc:  # rdflib raises ValueError and others for bad IRIs and bad @base
        raise ProposalSyntaxError(f"Turtle that cannot be read: {str(exc).splitlines()[0]}") from exc
    return graph


MAX_JSON_DEPTH = 64  # a card and its material nest a few levels; thousands only exhaust the parser's stack


def _json_depth(text: str) -> int:
    """How deep arrays and objects nest, outside strings: one linear pass, before any parser recurses."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _json_ld(text: str) -> Graph:
    if (depth := _json_depth(text)) > MAX_JSON_DEPTH:
        raise ProposalRefused(f"the JSON nests {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProposalSyntaxError(
            f"JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from exc
    for where, context in _contexts(document, "$"):
        if not _inline(context):
            raise ProposalRefused(
                "remote contexts are not fetched: give the JSON-LD @context inline, as an object", field=where
            )
    graph = Graph()
    try:
        # the document goes in already checked: every context in it is inline, so rdflib has nothing to fetch
        graph.parse(data=json.dumps(document), format="json-ld", base=_PARSE_BASE)
    except Exception as exc:  # rdflib's JSON-LD processor raises several types
        raise ProposalSyntaxError(f"JSON-LD that cannot be read: {str(exc).splitlines()[0]}") from exc
    return graph


def _contexts(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    """Every @context (and @import, which also fetches) anywhere in the document, with its JSON path."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("@context", "@import"):
                yield f"{where}.{key}", item if key == "@context" else [item]
            yield from _contexts(item, f"{where}.{key}")
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _contexts(item, f"{where}[{number}]")


def _inline(context: Any) -> bool:
    if context is None or isinstance(context, dict):
        return True
    if isinstance(context, list):
        return all(item is None or isinstance(item, dict) for item in context)
    return False


def _rebased(term: Node) -> Node:
    if isinstance(term, URIRef) and str(term).startswith(_PARSE_BASE):
        return URIRef(NEW + str(term)[len(_PARSE_BASE) :])
    return term


# -- the change a proposal makes ---------------------------------------------------------------------


def owned_properties(ns: ProjectNamespaces) -> set[URIRef]:
    """The importer's provenance and the change sets' own: a replacement keeps them, a contributor never sets them."""
    cap = ns.cap
    return {
        PROV.wasDerivedFrom,
        cap.sourceLocator,
        cap.firstLine,
        cap.lastLine,
        cap.curationDecision,
        PROV.wasGeneratedBy,
        PROV.wasInfluencedBy,
        DCTERMS.modified,
    }


def proposed_change(
    current: Graph, proposed: Graph, *, action: str, target: URIRef | None, ns: ProjectNamespaces
) -> Change:
    """The triples a proposal adds to and removes from the asserted graph `current`."""
    if action not in ACTIONS:
        raise ProposalRefused(f"unknown action {action!r}; one of {', '.join(ACTIONS)}", field="action")
    owned = owned_properties(ns)
    if action == "remove":
        target = _existing(current, target)
        if len(proposed):
            raise ProposalRefused("a removal carries no triples", field="body")
        removed = set(current.triples((target, None, None))) | set(current.triples((None, None, target)))
        return Change(added=set(), removed=removed)
    added = {triple for triple in proposed if triple not in current}
    for _, predicate, _ in added:
        if predicate in owned:
            raise ProposalRefused(f"{predicate} is provenance the build records; a proposal does not set it")
    if action == "add":
        if target is not None:
            raise ProposalRefused("an addition names no target", field="target")
        for subject in set(proposed.subjects()):
            _check_subject(current, subject, ns)
        return Change(added=added, removed=set())
    target = _existing(current, target)
    for subject in set(proposed.subjects()):
        if subject != target and not is_new(subject):
            raise ProposalRefused(
                f"a replacement describes {target} and new resources only, not {subject}", field="body"
            )
    removed = {
        triple for triple in current.triples((target, None, None)) if triple[1] not in owned and triple not in proposed
    }
    return Change(added=added, removed=removed)


def _existing(current: Graph, target: URIRef | None) -> URIRef:
    if target is None:
        raise ProposalRefused("a replacement or removal names its target", field="target")
    if (target, None, None) not in current:
        raise ProposalTargetMissing(f"{target} is not in the graph")
    return target


def _check_subject(current: Graph, subject: Node, ns: ProjectNamespaces) -> None:
    if is_new(subject) or (subject, None, None) in current:
        return
    if str(subject).startswith(str(ns.id)):
        raise ProposalRefused(
            f"contributors do not choose IRIs: {subject} is not in the graph; name a new resource with a blank "
            "node or a urn:x-new: IRI and approval mints its IRI",
            field="body",
        )
    raise ProposalRefused(
        f"{subject} is not in the graph: a proposal adds new resources (blank nodes or urn:x-new: IRIs) "
        "or adds to existing ones",
        field="body",
    )


def target_digest(current: Graph, target: URIRef) -> str:
    """SHA-256 of the target's description, to tell that it changed since a proposal was made."""
    lines = sorted(_nt(triple) for triple in current.triples((target, None, None)))
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _nt(triple: Triple) -> str:
    return " ".join(term.n3() for term in triple) + " .\n"
