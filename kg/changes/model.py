"""A change to the asserted graph: the triples it adds and removes, and where its new resources stand.

Contributors never choose IRIs: a new resource is a blank node, or an IRI under `urn:x-new:` (so that a
proposal in Turtle can name it twice), until approval mints its IRI in the project's namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rdflib import BNode, URIRef
from rdflib.term import Node

Triple = tuple[Node, Node, Node]
NEW = "urn:x-new:"  # a resource the proposal creates; replaced by a minted IRI on approval


def is_new(term: Node) -> bool:
    return isinstance(term, BNode) or (isinstance(term, URIRef) and str(term).startswith(NEW))


@dataclass
class Change:
    """What a proposal does to the asserted graph."""

    added: set[Triple] = field(default_factory=set)
    removed: set[Triple] = field(default_factory=set)

    @property
    def subjects(self) -> set[Node]:
        return {s for s, _, _ in self.added | self.removed}

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


@dataclass(frozen=True)
class Provenance:
    """Who proposed and who approved a change set, and when (PROV-O on every resource it adds or changes)."""

    change_set: URIRef  # id/change/{number}
    number: int
    proposer: str  # account names
    approver: str
    proposed_at: datetime
    approved_at: datetime
    note: str = ""
