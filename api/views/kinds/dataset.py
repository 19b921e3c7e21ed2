"""The pages of the dataset description: the catalogue, the dataset, its downloads, graphs and link sets."""

from __future__ import annotations

import re

import pyoxigraph as ox

from api.plumbing.described import Description, description
from api.plumbing.runtime import Runtime
from api.views.kinds import Facts
from api.views.kinds.shared import linked_rows
from api.views.render import local

DCAT = "http://www.w3.org/ns/dcat#"
VOID = "http://rdfs.org/ns/void#"
DCTERMS = "http://purl.org/dc/terms/"
CLASSES = (
    DCAT + "Catalog",
    DCAT + "Dataset",
    DCAT + "DataService",
    DCAT + "Distribution",
    VOID + "Dataset",
    VOID + "Linkset",
)
TEMPLATE = "kinds/dataset.html"
PRIORITY = 10
NAMES = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://xmlns.com/foaf/0.1/name",
    DCTERMS + "title",
    "http://schema.org/name",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2006/vcard/ns#fn",
)


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    about = _About(description(runtime), runtime)
    node = ox.NamedNode(facts.iri)
    summary: list[tuple[str, list[dict[str, str | None]]]] = []
    for label, predicate in (
        ("Publisher", DCTERMS + "publisher"),
        ("Version", DCAT + "version"),
        ("Issued", DCTERMS + "issued"),
        ("Language", DCTERMS + "language"),
        ("Themes", DCAT + "theme"),
        ("Derived from", "http://www.w3.org/ns/prov#wasDerivedFrom"),
        ("Conforms to", DCTERMS + "conformsTo"),
        ("Part of", DCTERMS + "isPartOf"),
        ("Serves", DCAT + "servesDataset"),
        ("Endpoint", DCAT + "endpointURL"),
        ("Datasets", DCAT + "dataset"),
        ("Services", DCAT + "service"),
        ("Format", DCTERMS + "format"),
        ("Media type", DCAT + "mediaType"),
        ("Size", DCAT + "byteSize"),
        ("Download", DCAT + "downloadURL"),
        ("Statements", VOID + "triples"),
        ("Links to", VOID + "objectsTarget"),
        ("Linked by", VOID + "linkPredicate"),
    ):
        values = [await about.shown(value) for value in about.objects(node, predicate)]
        if predicate == DCAT + "byteSize":
            values = [{"text": _size(int(v["text"] or 0)), "path": None} for v in values]
        if predicate == VOID + "triples":
            values = [{"text": f"{int(v['text'] or 0):,}", "path": None} for v in values]
        if values:
            summary.append((label, values))
    contact = [
        {
            "name": about.name(point),
            "email": next(iter(about.objects(point, "http://www.w3.org/2006/vcard/ns#hasEmail")), None),
        }
        for point in about.objects(node, DCAT + "contactPoint")
    ]
    rights = [about.name(r) for r in about.objects(node, DCTERMS + "rights")]
    keywords = sorted(
        {str(k.value) for k in about.objects(node, DCAT + "keyword") if isinstance(k, ox.Literal)}, key=str.casefold
    )
    spatial = len(list(about.objects(node, DCTERMS + "spatial")))
    distributions = [
        {
            "title": about.name(d),
            "path": local(runtime, d.value),
            "download": local(runtime, str(next(iter(about.objects(d, DCAT + "downloadURL")), d).value)),
            "size": _size(int(str(next(iter(about.objects(d, DCAT + "byteSize")), ox.Literal("0")).value))),
        }
        for d in about.objects(node, DCAT + "distribution")
        if isinstance(d, ox.NamedNode)
    ]
    subsets = [
        {"title": about.name(s), "path": local(runtime, s.value), "triples": _count(about, s)}
        for s in about.objects(node, VOID + "subset")
        if isinstance(s, ox.NamedNode)
    ]
    classes = sorted(
        (
            {
                "name": _humane(str(about.one(p, VOID + "class") or "")),
                "count": _number(about.one(p, VOID + "entities")),
            }
            for p in about.objects(node, VOID + "classPartition")
        ),
        key=lambda c: (-int(str(c["count"]).replace(",", "") or 0), str(c["name"])),
    )
    return {
        "summary": summary,
        "contact": contact,
        "rights": rights,
        "keywords": keywords,
        "spatial": spatial,
        "distributions": sorted(distributions, key=lambda d: str(d["title"])),
        "subsets": sorted(subsets, key=lambda s: str(s["title"])),
        "classes": classes,
        "description_text": next((str(v.value) for v in about.objects(node, DCTERMS + "description")), None),
        "triples": _number(about.one(node, VOID + "triples")),
    }


class _About:
    """Reading the description: objects of a subject, and names of things."""

    def __init__(self, described: Description, runtime: Runtime) -> None:
        self.described = described
        self.runtime = runtime

    def objects(self, subject: object, predicate: str) -> list:
        return sorted(
            (t.object for t in self.described.by_subject.get(subject, ()) if t.predicate.value == predicate), key=str
        )

    def one(self, subject: object, predicate: str) -> object | None:
        found = self.objects(subject, predicate)
        return found[0] if found else None

    def name(self, node: object) -> str:
        for predicate in NAMES:
            for value in self.objects(node, predicate):
                if isinstance(value, ox.Literal):
                    return value.value
        return _humane(node.value) if isinstance(node, ox.NamedNode) else ""

    async def shown(self, value: object) -> dict[str, str | None]:
        if isinstance(value, ox.Literal):
            return {"text": value.value, "path": None}
        if isinstance(value, ox.NamedNode):
            named = any(self.objects(value, p) for p in NAMES)
            text = self.name(value) if named else await self._stored_name(value.value)
            return {"text": text, "path": local(self.runtime, value.value)}
        return {"text": self.name(value), "path": None}

    async def _stored_name(self, iri: str) -> str:
        """The name the graph gives a resource of ours that the description cites by IRI alone."""
        if iri.startswith(str(self.runtime.ns.id)):
            found = await linked_rows(self.runtime, "label", iri)
            if found and found[0].get("label"):
                return str(found[0]["label"])
        return _humane(iri)


def _class_name(node: object) -> str:
    return _humane(node.value) if isinstance(node, ox.NamedNode) else ""


def _count(about: _About, node: object) -> str:
    return _number(about.one(node, VOID + "triples"))


def _number(value: object) -> str:
    return f"{int(value.value):,}" if isinstance(value, ox.Literal) and value.value.isdigit() else ""


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000  # type: ignore[assignment]
    return ""


def _humane(iri: str) -> str:
    """A name for an IRI nobody labelled: its last segment, words split ("LearningMaterial" → "Learning material")."""
    tail = re.split(r"[/#]", iri.rstrip("/#"))[-1] or iri
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", tail.replace("_", " ").replace("-", " "))
    return words[:1].upper() + words[1:].lower() if words else iri
