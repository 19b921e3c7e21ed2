"""A page for each kind of thing in the graph: which kind a resource is, and what its page shows.

Each module of this package serves one or more classes: it names them in CLASSES (full IRIs, or "cap:Name"
for the project's ontology), its template in TEMPLATE (under templates/kinds/), and gives the template its
context with `async def context(runtime, facts) -> dict`. A resource of several served classes gets the page
of the module with the highest PRIORITY. Anything no module serves gets the generic module's page (generic.py).
Every page ends with the same collapsed "data" section: the RDF statements and the RDF formats.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType

from api.plumbing.runtime import Runtime
from kg.engines.protocol import Term

LABELS = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://purl.org/dc/terms/title",
    "http://schema.org/name",
    "http://www.w3.org/2000/01/rdf-schema#label",
)
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
GENERIC = "generic"


@dataclass
class Facts:
    """What the graph says about one resource (both directions), with the labels of the things it names."""

    iri: str
    types: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    outgoing: dict[str, list[Term]] = field(default_factory=lambda: defaultdict(list))
    incoming: dict[str, list[Term]] = field(default_factory=lambda: defaultdict(list))

    @property
    def title(self) -> str:
        return self.labels.get(self.iri, self.iri.rsplit("/", 1)[-1])

    def values(self, predicate: str) -> list[str]:
        """The lexical values (or IRIs) of one property, in a stable order."""
        return sorted({term[1] for term in self.outgoing.get(predicate, [])})

    def one(self, predicate: str) -> str | None:
        found = self.values(predicate)
        return found[0] if found else None

    def subjects(self, predicate: str) -> list[str]:
        """The resources that point here with one property."""
        return sorted({term[1] for term in self.incoming.get(predicate, [])})

    def label(self, iri: str) -> str:
        return self.labels.get(iri, iri.rsplit("/", 1)[-1])


Context = Callable[[Runtime, Facts], Awaitable[dict[str, object]]]


@dataclass(frozen=True)
class Kind:
    name: str
    template: str
    classes: tuple[str, ...]
    priority: int
    context: Context


def _expand(name: str, cap: str) -> str:
    return cap + name[len("cap:") :] if name.startswith("cap:") else name


def kinds() -> list[Kind]:
    """Every module of this package that serves classes, as a Kind."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module: ModuleType = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "CLASSES"):
            found.append(
                Kind(info.name, module.TEMPLATE, tuple(module.CLASSES), getattr(module, "PRIORITY", 0), module.context)
            )
    return found


KINDS = kinds()


def kind_of(runtime: Runtime, types: list[str]) -> Kind | None:
    cap = str(runtime.ns.cap)
    matching = [k for k in KINDS if any(_expand(c, cap) in types for c in k.classes)]
    fallback = next((k for k in KINDS if k.name == GENERIC), None)  # a class nobody serves: the generic page
    return max(matching, key=lambda k: k.priority, default=fallback)
