"""The page of any resource: its kind's page for people, then its RDF statements in a collapsed data section."""

from __future__ import annotations

import re

from fastapi import Request

from api.plumbing.runtime import Runtime
from api.views.kinds import LABELS, RDF_TYPE, Facts, kind_of
from api.views.render import curie, local, render
from kg.engines.protocol import EncodedTriple, Term


def facts_of(iri: str, rows: list[EncodedTriple]) -> Facts:
    facts = Facts(iri)
    english: set[str] = set()  # things whose label is English (or untagged): another language never replaces it
    for subject, predicate, value in rows:
        if predicate[1] in LABELS and value[0] == "literal" and subject[1] not in english:
            if value[3] in (None, "", "en"):
                facts.labels[subject[1]] = value[1]
                english.add(subject[1])
            else:
                facts.labels.setdefault(subject[1], value[1])
    for subject, predicate, value in rows:
        if subject[1] == iri:
            if predicate[1] == RDF_TYPE:
                facts.types.append(value[1])
            facts.outgoing[predicate[1]].append(value)
        elif value[1] == iri:
            facts.incoming[predicate[1]].append(subject)
    return facts


async def resource_page(request: Request, runtime: Runtime, iri: str, rows: list[EncodedTriple]) -> str:
    facts = facts_of(iri, rows)
    kind = kind_of(runtime, facts.types)
    extra = await kind.context(runtime, facts) if kind else {}
    return render(
        kind.template if kind else "thing.html",
        request,
        runtime,
        iri=iri,
        title=facts.title,
        facts=facts,
        types=[
            (facts.label(t) if t in facts.labels else curie(runtime, t), local(runtime, t))
            for t in sorted(set(facts.types))
        ],
        properties=_table(runtime, facts, facts.outgoing),
        incoming=_table(runtime, facts, facts.incoming),
        **extra,
    )


def _table(
    runtime: Runtime, facts: Facts, statements: dict[str, list[Term]]
) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Statements for the data section: by property name, each value once, in order."""
    return sorted(
        (
            (
                curie(runtime, predicate),
                sorted(
                    {_value(runtime, term, facts.labels) for term in terms},
                    key=lambda v: (v[0].casefold(), v[1] or ""),
                ),
            )
            for predicate, terms in statements.items()
        ),
        key=lambda item: item[0],
    )


EU_COUNTRY = "http://publications.europa.eu/resource/authority/country/"


PROVENANCE = re.compile(r"^(?P<text>.+)#line=(?P<after>\d+),(?P<last>\d+)$")


def _value(runtime: Runtime, term: Term, labels: dict[str, str]) -> tuple[str, str | None]:
    kind, value, _, language = term
    located = PROVENANCE.match(value) if kind == "literal" else None
    if located and located["text"].startswith(f"{runtime.ns.id}source/"):
        # an RFC 5147 locator: lines after+1 to last, shown highlighted on the source text's page
        first, last = int(located["after"]) + 1, int(located["last"])
        return value, f"{local(runtime, located['text'])}?lines={first}-{last}#line-{first}"
    if kind == "iri":
        href = f"/country/{value[len(EU_COUNTRY) :]}" if value.startswith(EU_COUNTRY) else local(runtime, value)
        return labels.get(value, curie(runtime, value)), href
    return (value + (f" @{language}" if language and language != "en" else "")), None
