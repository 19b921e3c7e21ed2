"""Predeclared prefixes: a client's query may use the project's prefixes without declaring them.

The endpoint declares every prefix of `ProjectNamespaces.prefixes()` (cap:, id:, schema:, skos:,
dcterms:, rdfs:, rdf:, owl:, xsd:, org:, prov:, foaf: ...). Only the ones a query uses and does not
declare itself are added, as PREFIX declarations on one line before its text, so that the same text
goes to every store (the embedded one, an Oxigraph server, Virtuoso) and a query's own PREFIX for a
name wins. Positions the parser reports in the text sent are moved back by `shift` lines to the
client's own text (the columns are the client's: the declarations end with their own line).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kg.sparql.guard import Token, tokens


@dataclass(frozen=True)
class Prefixed:
    """The text to run, the lines put before the client's text, and the prefixes they declare."""

    text: str
    shift: int
    added: tuple[str, ...]


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


def with_prefixes(text: str, prefixes: Mapping[str, str]) -> Prefixed:
    """`text` with the PREFIX declarations it needs from `prefixes` and lacks, on one line before it.

    Linear in the text's length (one pass of the guard's lexer). A name the lexer takes for a prefixed
    name where the parser does not (inside a string, say) only adds a declaration nothing uses.
    """
    items = tokens(text)
    own = declared(items)
    needed = tuple(name for name in used(items) if name in prefixes and name not in own)
    if not needed:
        return Prefixed(text, 0, ())
    header = " ".join(f"PREFIX {name}: <{prefixes[name]}>" for name in needed)
    return Prefixed(f"{header}\n{text}", 1, needed)


def declarations(prefixes: Mapping[str, str]) -> str:
    """The prefixes as SPARQL PREFIX lines (for pages and documentation)."""
    return "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in prefixes.items())
