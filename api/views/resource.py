"""The page of any resource: its kind's page for people, then its RDF statements in a collapsed data section."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote, urlencode

from fastapi import Request

from api.plumbing.runtime import Runtime, field_text
from api.views.kinds import LABELS, RDF_TYPE, Facts, kind_of
from api.views.kinds.shared import linked_rows
from api.views.render import curie, local, render
from kg.engines.protocol import EncodedTriple, Term

SOURCE_LOCATOR = "https://w3id.org/capacities/lp/ontology#sourceLocator"
PROV_DERIVED = "http://www.w3.org/ns/prov#wasDerivedFrom"


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
    rows = _without_reification(runtime, iri, rows)
    facts = facts_of(iri, rows)
    inferred = await _inferred(runtime, iri)
    kind = kind_of(runtime, facts.types)
    extra = await kind.context(runtime, facts) if kind else {}
    contributed = await _contributed(runtime, iri)
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
        properties=_table(runtime, facts, facts.outgoing, inferred, lambda p, v: (iri, p, v[1])),
        incoming=_table(runtime, facts, facts.incoming, inferred, lambda p, v: (v[1], p, iri)),
        contributed=contributed,
        proposing=proposing(iri, facts.types, runtime.ns.id),
        from_text=SOURCE_LOCATOR in facts.outgoing or PROV_DERIVED in facts.outgoing,
        **extra,
    )


CAP = "https://w3id.org/capacities/lp/ontology#"
ORG = "http://www.w3.org/ns/org#"
# (type, what the link says, the form): the editorial loop's forms (api.routers.editing) for a kind of resource
PROPOSING = (
    (CAP + "LearningMaterial", "Correct this learning material", "/contribute/material?edit="),
    (CAP + "LearningMaterial", "Add a card for it in another problem statement", "/contribute/card?parent="),
    (CAP + "MaterialAppearance", "Correct this card", "/contribute/card?edit="),
    (ORG + "Organization", "Correct this organisation", "/contribute/organisation?edit="),
    (ORG + "FormalOrganization", "Correct this organisation", "/contribute/organisation?edit="),
    (ORG + "OrganizationalCollaboration", "Correct this organisation", "/contribute/organisation?edit="),
    (CAP + "PlatformProfile", "Update this profile", "/contribute/profile?edit="),
    (CAP + "ProblemStatement", "Add a note for readers", "/contribute/note?edit="),
)


def proposing(iri: str, types: list[str], id_namespace: str) -> list[tuple[str, str]]:
    """The changes a partner can propose to this resource: (what the link says, where it goes)."""
    links: dict[str, str] = {}
    for cls, text, form in PROPOSING:
        if cls in types:
            links.setdefault(text, form + quote(iri, safe=""))
    if iri.startswith(str(id_namespace)):
        links["Propose removing it"] = "/contribute-removal?target=" + quote(iri, safe="")
    return list(links.items())


async def _contributed(runtime: Runtime, iri: str) -> list[dict[str, object]]:
    """The change sets that added or changed the resource (kg.changes.patch): who, when, why."""
    rows = await linked_rows(runtime, "contributions", iri)
    return [
        {
            "how": field_text(row, "how"),
            "path": local(runtime, field_text(row, "change")),
            "number": field_text(row, "change").rsplit("/", 1)[-1],
            "proposer": field_text(row, "proposer"),
            "approver": field_text(row, "approver"),
            "proposed": _day(field_text(row, "proposed")),
            "approved": _day(field_text(row, "approved")),
            "note": row.get("note"),
        }
        for row in rows
    ]


def _day(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).strftime("%-d %B %Y")
    except ValueError:
        return stamp


def _table(
    runtime: Runtime,
    facts: Facts,
    statements: dict[str, list[Term]],
    inferred: set[tuple[str, str, str]] = frozenset(),  # type: ignore[assignment]
    triple_of: Callable[[str, Term], tuple[str, str, str]] | None = None,
) -> list[tuple[str, list[tuple[str, str | None, str | None]]]]:
    """Statements for the data section: by property name, each value once, in order; the third member of a
    value is the address of the explanation of an inferred statement (None for an asserted one)."""

    def row(predicate: str, term: Term) -> tuple[str, str | None, str | None]:
        text, href = _value(runtime, term, facts.labels)
        triple = triple_of(predicate, term) if triple_of and term[0] == "iri" else None
        explained = None
        if triple is not None and triple in inferred:
            explained = "/explain?" + urlencode(dict(zip(("subject", "predicate", "object"), triple, strict=True)))
        return text, href, explained

    return sorted(
        (
            (
                curie(runtime, predicate),
                sorted(
                    {row(predicate, term) for term in terms},
                    key=lambda v: (v[0].casefold(), v[1] or "", v[2] or ""),
                ),
            )
            for predicate, terms in statements.items()
        ),
        key=lambda item: item[0],
    )


async def _inferred(runtime: Runtime, iri: str) -> set[tuple[str, str, str]]:
    """The resource's statements (either direction) that are inferred, not asserted: the page marks them."""
    rows = await runtime.plain_rows(runtime.registry.text("explain/inferred_about"), {"s": ("iri", iri, None, None)})
    return {(row["subject"], row["predicate"], row["object"]) for row in rows}


def _without_reification(runtime: Runtime, iri: str, rows: list[EncodedTriple]) -> list[EncodedTriple]:
    """The page's rows without the justification graph's nodes that point at the resource (the proofs of its
    statements, reached from their markers instead; a graph's page would list every statement node of it),
    unless the page is one of those nodes."""
    nodes = (f"{runtime.ns.id}justification/", f"{runtime.ns.id}statement/")
    if iri.startswith(nodes):
        return rows
    return [row for row in rows if not (row[0][1].startswith(nodes) and row[2][1] == iri)]


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
