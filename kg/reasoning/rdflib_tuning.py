"""Three costs of rdflib that pySHACL, owlrl and the build pay over and over, removed without changing a result.

- rdflib's vocabularies (`OWL`, `RDF`, `RDFS`, `SKOS` …) resolve every `OWL.sameAs` through a metaclass
  `__getattr__`; owlrl looks terms up that way in each rule for each triple (1.2 million look-ups, about
  half of the inference's time). Setting each term as a plain class attribute makes the look-up a dict hit.
- pySHACL hands rdflib each SPARQL query of the shapes as a string, and rdflib parses a string on every call
  (25-70 ms a query), once per validation and often once per shape.
- Python's cyclic garbage collector walks every live object in each full collection, and the build makes
  full collections happen again and again while it allocates millions of small terms and tuples that it
  keeps (the graphs) or drops without cycles: at 10x the portfolio they took half of the justifications'
  time, growing faster than the data. The build pauses the collector while it allocates.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import rdflib.namespace
from rdflib.plugins.sparql import processor

_resolved = False


def resolve_vocabulary_terms() -> None:
    """Make every term of rdflib's own vocabularies a plain class attribute (same URIRef values)."""
    global _resolved
    if _resolved:
        return
    for vocabulary in vars(rdflib.namespace).values():
        if not isinstance(vocabulary, rdflib.namespace.DefinedNamespaceMeta):
            continue
        if vocabulary is rdflib.namespace.DefinedNamespace:
            continue
        for name in getattr(vocabulary, "__annotations__", {}):
            if not name.startswith("_"):
                type.__setattr__(vocabulary, name, vocabulary[name])
    _resolved = True


_PREPARED: dict[tuple[object, ...], object] = {}
_MAX_PREPARED = 512  # the shapes hold a few dozen queries; the bound only guards against surprises
_MAX_TEXT = 16_384  # characters: longer texts are parsed each time, not kept
_local = threading.local()
_install_lock = threading.Lock()
_installed = False


@contextmanager
def parse_each_query_once() -> Iterator[None]:
    """Inside this block, in this thread, rdflib parses each SPARQL text once per process.

    The wrapper is installed once and caches only in the thread that is inside the block, so that no
    other caller of rdflib's SPARQL (and no text a client sends) reaches the cache."""
    global _installed
    with _install_lock:
        if not _installed:
            original = processor.SPARQLProcessor.query

            def query(self, text, initBindings=None, initNs=None, base=None, DEBUG=False):  # noqa: ANN001, ANN202, N803
                if getattr(_local, "active", False) and isinstance(text, str) and len(text) <= _MAX_TEXT:
                    key = (text, tuple(sorted((initNs or {}).items())), base)
                    prepared: Any = _PREPARED.get(key)
                    if prepared is None:
                        prepared = processor.prepareQuery(text, initNs, base)
                        if len(_PREPARED) < _MAX_PREPARED:
                            _PREPARED[key] = prepared
                    text = prepared
                return original(self, text, initBindings, initNs, base, DEBUG)

            processor.SPARQLProcessor.query = query  # type: ignore[method-assign]
            _installed = True
    _local.active = True
    try:
        yield
    finally:
        _local.active = False


_pause_lock = threading.Lock()
_pauses = 0
_was_enabled = True


@contextmanager
def garbage_collection_paused() -> Iterator[None]:
    """Inside this block (in any thread, nested or not), the cyclic garbage collector does not run.

    Reference counting still frees everything that is not in a cycle; cycles made meanwhile are collected
    when the last block ends, if the collector was on when the first one began."""
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
