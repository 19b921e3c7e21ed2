"""A release's dataset description (void.ttl: the catalogue, dataset, distributions, partitions, link sets),
read once per release and indexed, so that its IRIs answer like any other resource."""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from api.plumbing.runtime import Runtime
from kg.engines.protocol import EncodedTriple, encode_term
from kg.release.layout import VOID_FILE


class Description:
    """A release's dataset description (void.ttl), its triples indexed by subject and by object."""

    def __init__(self, triples: list[ox.Triple]) -> None:
        self.by_subject: defaultdict[Any, list[ox.Triple]] = defaultdict(list)
        self.by_object: defaultdict[Any, list[ox.Triple]] = defaultdict(list)
        for triple in triples:
            self.by_subject[triple.subject].append(triple)
            self.by_object[triple.object].append(triple)


_DESCRIPTIONS: OrderedDict[Path, Description] = OrderedDict()  # those of the last releases served


def description(runtime: Runtime) -> Description:
    """The release's dataset description, parsed once per release (the last four kept)."""
    directory = runtime.build_dir
    if directory not in _DESCRIPTIONS:
        triples = list(ox.parse(path=str(directory / VOID_FILE), format=ox.RdfFormat.TURTLE))
        _DESCRIPTIONS[directory] = Description(triples)
        while len(_DESCRIPTIONS) > 4:
            _DESCRIPTIONS.popitem(last=False)
    _DESCRIPTIONS.move_to_end(directory)
    return _DESCRIPTIONS[directory]


def description_rows(runtime: Runtime, iri: str) -> list[EncodedTriple]:
    """What the dataset description says about `iri`: its triples (with the blank nodes they lead to, as a
    concise bounded description) and the triples that point at it."""
    described = description(runtime)
    node = ox.NamedNode(iri)
    chosen: list[ox.Triple] = []
    frontier: list[ox.NamedNode | ox.BlankNode] = [node]
    seen: set[ox.NamedNode | ox.BlankNode] = set()
    while frontier:
        subject = frontier.pop()
        if subject in seen:
            continue
        seen.add(subject)
        for triple in described.by_subject.get(subject, ()):
            chosen.append(triple)
            if isinstance(triple.object, ox.BlankNode):
                frontier.append(triple.object)
    chosen += [t for t in described.by_object.get(node, ()) if t.subject != node]
    return [
        (encode_term(t.subject), encode_term(t.predicate), encode_term(t.object))  # type: ignore[arg-type]
        for t in chosen
    ]
