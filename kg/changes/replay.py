"""Approved change sets in a build: read from the ledger in order and applied to the asserted graph.

A build is reproducible from the sources, the curation files and the approved change sets, in the order
they were approved. Each change set is RDF Patch carrying its own provenance (kg.changes.patch), so
replaying it needs nothing but its text.
"""

from __future__ import annotations

from collections.abc import Sequence

from rdflib import Graph

from kg.changes.ledger import Ledger
from kg.changes.patch import apply, read_rdf_patch
from kg.settings import Settings


def approved_patches(settings: Settings) -> list[str]:
    """The approved change sets' RDF Patch texts, oldest first (none without a ledger)."""
    if not settings.ledger_file.is_file():
        return []
    return [change_set.patch for change_set in Ledger(settings.ledger_file).change_sets()]


def replay(graph: Graph, patches: Sequence[str]) -> int:
    """Apply each patch to `graph` in order; the number of patches applied."""
    for text in patches:
        apply(graph, read_rdf_patch(text))
    return len(patches)
