"""An approved change: its new resources get IRIs, its resources get PROV-O, and it is written as RDF Patch.

IRIs follow the importer's patterns (kg/rdf/materials.py) where a class has one: a learning material is
id/material/{slug of its English title}, a card id/appearance/{material slug}/{notation of its subcategory};
anything else the change creates is id/contribution/{change number}/{n}. RDF Patch is
https://afs.github.io/rdf-patch/ with every term in N-Triples and the lines sorted, so that one change is
always one text.
"""

from __future__ import annotations

from datetime import datetime

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD
from rdflib.plugins.serializers.nt import _nt_row
from rdflib.term import Node

from kg.changes.gate_errors import PatchSyntaxError
from kg.changes.model import Change, Provenance, Triple, is_new
from kg.namespaces import ProjectNamespaces
from kg.sources.cells import slugify

# -- minting ---------------------------------------------------------------------------------------


def mint(change: Change, current: Graph, ns: ProjectNamespaces, number: int) -> Change:
    """The change with every new node (blank node or urn:x-new:) replaced by an IRI in the project's namespace."""
    added = Graph()
    for triple in change.added:
        added.add(triple)
    new = sorted(
        {term for triple in change.added | change.removed for term in triple if is_new(term)},
        key=lambda node: _order(node, added),
    )
    taken: set[URIRef] = set()
    minted: dict[Node, URIRef] = {}

    def unique(path: str) -> URIRef:
        candidate, suffix = ns.id[path], 1
        while candidate in taken or (candidate, None, None) in current or (None, None, candidate) in current:
            suffix += 1
            candidate = ns.id[f"{path}-{suffix}"]
        taken.add(candidate)
        return candidate

    cap = ns.cap
    materials = [node for node in new if (node, RDF.type, cap.LearningMaterial) in added]
    cards = [node for node in new if (node, RDF.type, cap.MaterialAppearance) in added]
    for node in materials:
        minted[node] = unique(f"material/{slugify(_english_title(added, node))}")
    others = 0
    for node in cards:
        material = added.value(node, cap.appearanceOf)
        material = minted.get(material, material)  # type: ignore[arg-type]
        subcategory = added.value(node, cap.inProblemStatement)
        notation = (
            (added.value(subcategory, SKOS.notation) or current.value(subcategory, SKOS.notation))
            if (subcategory is not None)
            else None
        )
        material_path = str(material)[len(str(ns.id)) :] if material is not None else ""
        if material_path.startswith("material/") and notation is not None:
            minted[node] = unique(f"appearance/{material_path[len('material/') :]}/{notation}")
    for node in new:
        if node not in minted:
            others += 1
            minted[node] = unique(f"contribution/{number}/{others}")
    return Change(added=_renamed(change.added, minted), removed=_renamed(change.removed, minted))


def _english_title(graph: Graph, node: Node) -> str:
    titles = sorted(graph.objects(node, DCTERMS.title), key=lambda t: (getattr(t, "language", None) != "en", str(t)))
    return str(titles[0]) if titles else "material"


def _order(node: Node, added: Graph) -> tuple[str, ...]:
    """Blank node labels are random: order new nodes by what they say, so that numbering repeats."""
    facts = sorted(f"{p.n3()} {o.n3()}" for p, o in added.predicate_objects(node) if not is_new(o))
    return (*facts, str(node))


def _renamed(triples: set[Triple], minted: dict[Node, URIRef]) -> set[Triple]:
    return {(minted.get(s, s), minted.get(p, p), minted.get(o, o)) for s, p, o in triples}


# -- provenance ------------------------------------------------------------------------------------


def account(ns: ProjectNamespaces, name: str) -> URIRef:
    return ns.id[f"account/{name}"]


def with_provenance(change: Change, prov: Provenance, ns: ProjectNamespaces, *, current: Graph | None = None) -> Change:
    """The change with its change set (PROV-O) and, on every resource it adds or changes, a link to it.

    A resource is new when `current` does not have it (without `current`: when the change adds its type and
    removes nothing of it). New resources are prov:wasGeneratedBy the change set; changed ones
    prov:wasInfluencedBy it, with dcterms:modified replacing any earlier value.
    """
    cap, change_set = ns.cap, prov.change_set
    added = set(change.added)
    removed = set(change.removed)
    added |= {
        (change_set, RDF.type, cap.ChangeSet),
        (change_set, RDF.type, PROV.Activity),
        (change_set, PROV.startedAtTime, _when(prov.proposed_at)),
        (change_set, PROV.endedAtTime, _when(prov.approved_at)),
    }
    if prov.note:
        added.add((change_set, RDFS.comment, Literal(prov.note)))
    for role, name in ((cap.proposer, prov.proposer), (cap.approver, prov.approver)):
        agent = account(ns, name)
        association = URIRef(f"{change_set}/{str(role).rsplit('#', 1)[-1]}")
        added |= {
            (agent, RDF.type, PROV.Agent),
            (agent, RDFS.label, Literal(name)),
            (change_set, PROV.wasAssociatedWith, agent),
            (change_set, PROV.qualifiedAssociation, association),
            (association, RDF.type, PROV.Association),
            (association, PROV.agent, agent),
            (association, PROV.hadRole, role),
        }
    typed = {s for s, p, _ in change.added if p == RDF.type}
    for subject in sorted(change.subjects, key=str):
        if current is not None:
            exists = (subject, None, None) in current
            gone = (
                exists
                and not any(s == subject for s, _, _ in change.added)
                and all(t in change.removed for t in current.triples((subject, None, None)))
            )
        else:
            exists = not (subject in typed and not any(s == subject for s, _, _ in change.removed))
            gone = not any(s == subject for s, _, _ in change.added) and any(
                s == subject and p == RDF.type for s, p, _ in change.removed
            )
        if gone:
            continue
        if not exists:
            added.add((subject, PROV.wasGeneratedBy, change_set))
            continue
        added.add((subject, PROV.wasInfluencedBy, change_set))
        if current is not None:
            removed |= set(current.triples((subject, DCTERMS.modified, None)))
        added.add((subject, DCTERMS.modified, _when(prov.approved_at)))
    return Change(added=added, removed=removed - added)


def _when(moment: datetime) -> Literal:
    return Literal(moment.isoformat(), datatype=XSD.dateTime)


# -- RDF Patch -------------------------------------------------------------------------------------


def to_rdf_patch(change: Change, header: dict[str, str]) -> str:
    """The change as an RDF Patch transaction: header, TX, deletions, additions, TC."""
    lines = [f"H {key} {_header_value(value)} ." for key, value in sorted(header.items(), key=_id_first)]
    lines.append("TX .")
    lines += sorted(f"D {_nt_row(triple).rstrip()[:-1].rstrip()} ." for triple in change.removed)
    lines += sorted(f"A {_nt_row(triple).rstrip()[:-1].rstrip()} ." for triple in change.added)
    lines.append("TC .")
    return "\n".join(lines) + "\n"


def _id_first(item: tuple[str, str]) -> tuple[bool, str]:
    return (item[0] != "id", item[0])


def _header_value(value: str) -> str:
    if ":" in value and not any(c in value for c in ' <>"{}|\\^`'):
        return f"<{value}>"
    return Literal(value).n3()


def read_rdf_patch(text: str) -> Change:
    """The change an RDF Patch (as `to_rdf_patch` writes it) makes; headers are not part of the change."""
    additions: list[str] = []
    deletions: list[str] = []
    state = "header"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        code, _, rest = line.partition(" ")
        if code == "H" and state == "header":
            continue
        if code == "TX" and state == "header":
            state = "body"
        elif code in ("A", "D") and state == "body":
            (additions if code == "A" else deletions).append(rest)
        elif code == "TC" and state == "body":
            state = "done"
        elif code in ("PA", "PD"):
            continue  # prefix declarations: this project writes none, and N-Triples needs none
        else:
            raise PatchSyntaxError(f"unexpected {code!r} (in the {state} of the patch)", line=number)
    if state != "done":
        raise PatchSyntaxError("the patch does not end its transaction with TC")
    return Change(added=_triples(additions), removed=_triples(deletions))


def _triples(rows: list[str]) -> set[Triple]:
    graph = Graph()
    try:
        graph.parse(data="\n".join(rows) + "\n", format="nt")
    except Exception as exc:  # rdflib raises several types for bad N-Triples
        raise PatchSyntaxError(f"a triple of the patch is not N-Triples: {str(exc).splitlines()[0]}") from exc
    return set(graph)


def apply(graph: Graph, change: Change) -> None:
    """Remove, then add (removing a triple the graph does not have is not an error)."""
    for triple in change.removed:
        graph.remove(triple)
    for triple in change.added:
        graph.add(triple)
