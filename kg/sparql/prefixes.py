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

from kg.sparql.guard import needed, tokens


@dataclass(frozen=True)
class Prefixed:
    """The text to run, the lines put before the client's text, and the prefixes they declare."""

    text: str
    shift: int
    added: tuple[str, ...]


def declare_needed(text: str, prefixes: Mapping[str, str], needed: tuple[str, ...]) -> Prefixed:
    """`text` after the declarations of the `needed` names (the guard found them: QueryShape.prefixes)."""
    if not needed:
        return Prefixed(text, 0, ())
    header = " ".join(f"PREFIX {name}: <{prefixes[name]}>" for name in needed)
    return Prefixed(f"{header}\n{text}", 1, needed)


def with_prefixes(text: str, prefixes: Mapping[str, str]) -> Prefixed:
    """`text` with the PREFIX declarations it needs from `prefixes` and lacks, on one line before it.

    Linear in the text's length (one pass of the guard's lexer). A name the lexer takes for a prefixed
    name where the parser does not (inside a string, say) only adds a declaration nothing uses.
    """
    return declare_needed(text, prefixes, needed(tokens(text), prefixes))


def declarations(prefixes: Mapping[str, str]) -> str:
    """The prefixes as SPARQL PREFIX lines (for pages and documentation)."""
    return "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in prefixes.items())
