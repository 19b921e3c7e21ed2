"""Namespaces. The project's own ones hang off the configurable base IRI."""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, PROV, RDF, RDFS, SKOS, XSD, DefinedNamespace

from kg.settings import DEFAULT_BASE_IRI

SCHEMA = Namespace("http://schema.org/")  # http, not https: see docs/model.md
DCAT = Namespace("http://www.w3.org/ns/dcat#")  # DCAT 3 terms; rdflib's DCAT object is DCAT 2
VOID = Namespace("http://rdfs.org/ns/void#")
TIME = Namespace("http://www.w3.org/2006/time#")
EUCOUNTRY = Namespace("http://publications.europa.eu/resource/authority/country/")
EULANG = Namespace("http://publications.europa.eu/resource/authority/language/")
EUVOC = Namespace("http://publications.europa.eu/ontology/euvoc#")
WD = Namespace("http://www.wikidata.org/entity/")
SH = Namespace("http://www.w3.org/ns/shacl#")

VOCABULARIES: dict[str, Namespace | type[DefinedNamespace]] = {  # rdflib's own vocabularies are classes
    "schema": SCHEMA,
    "dcterms": DCTERMS,
    "skos": SKOS,
    "org": ORG,
    "prov": PROV,
    "foaf": FOAF,
    "owl": OWL,
    "dcat": DCAT,
    "void": VOID,
    "time": TIME,
    "eucountry": EUCOUNTRY,
    "eulang": EULANG,
    "euvoc": EUVOC,
    "wd": WD,
    "xsd": XSD,
    "rdfs": RDFS,
    "rdf": RDF,
    "sh": SH,
}

__all__ = [
    "DCAT",
    "DCTERMS",
    "EUCOUNTRY",
    "EULANG",
    "EUVOC",
    "FOAF",
    "ORG",
    "OWL",
    "PROV",
    "RDF",
    "RDFS",
    "SCHEMA",
    "SH",
    "SKOS",
    "TIME",
    "VOCABULARIES",
    "VOID",
    "WD",
    "XSD",
    "ProjectNamespaces",
]


@dataclass(frozen=True)
class ProjectNamespaces:
    base: str = DEFAULT_BASE_IRI

    @property
    def cap(self) -> Namespace:
        return Namespace(self.base + "ontology#")

    @property
    def capsh(self) -> Namespace:
        return Namespace(self.base + "shapes#")

    @property
    def id(self) -> Namespace:
        return Namespace(self.base + "id/")

    def graph(self, name: str) -> URIRef:
        return self.id["graph/" + name]

    def rebase(self, text: str) -> str:
        """Turtle written against the default base, moved to this base."""
        return text if self.base == DEFAULT_BASE_IRI else text.replace(DEFAULT_BASE_IRI, self.base)

    @property
    def api(self) -> Namespace:
        """Terms of the REST API's JSON-LD that are not in the ontology."""
        return Namespace(self.base + "api#")

    def prefixes(self) -> dict[str, str]:
        """Every prefix the project uses, its own first: for Turtle, JSON-LD contexts and short names on pages."""
        return {
            "cap": str(self.cap),
            "capsh": str(self.capsh),
            "id": str(self.id),
            **{prefix: str(namespace) for prefix, namespace in VOCABULARIES.items()},
        }

    def bind(self, graph: Graph) -> None:
        for prefix, namespace in self.prefixes().items():
            graph.bind(prefix, Namespace(namespace), override=True, replace=True)
