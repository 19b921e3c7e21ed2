"""The ontology is OWL 2 RL and OWL 2 DL by the OWL API's profile checker, no IRI is two kinds of entity,
and DL reasoners find the ontology and the built data consistent (issue 12).

"The ontology" is the ontology graph as the build loads and serves it (`id:graph/ontology`): every
Turtle file under ontology/, capacities.ttl and the imports (kg.reasoning.validate.load_turtle_dir).

The checks are the OWL API's and the reasoners' own, run with Java (17 in CI) from the jars that
owlready2 bundles (a test dependency; Maven Central is not needed): hermit/HermiT.jar holds HermiT
1.3.8 and the OWL API 3.4.3 with its OWL2RLProfile and OWL2DLProfile, pellet/ holds Pellet 2.3.1.
tests/owl/OwlCheck.java drives the OWL API and HermiT; Pellet runs from its command line. Each
check is also run on a copy with a known fault, so that a check that cannot fail does not pass.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from kg.namespaces import ProjectNamespaces
from kg.reasoning.validate import load_turtle_dir
from kg.settings import Settings
from tests.conftest import ASSERTED, ROOT, Built

CAP = "https://w3id.org/capacities/lp/ontology#"
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")  # rdflib's closed XSD namespace warns when pytest inspects it
CHECKER = ROOT / "tests" / "owl" / "OwlCheck.java"
DEADLINE = 300  # seconds for one Java run; each takes about 10 s here

# OWL 2 Structural Specification, section 4 (Datatype Maps): the datatypes OWL 2 DL reasoners support
# (rdf:langString literals are rdf:PlainLiteral values; rdflib gives them no datatype).
OWL2_DATATYPE_MAP = {RDF.PlainLiteral, RDF.XMLLiteral, RDFS.Literal, OWL.real, OWL.rational} | {
    XSD[name]
    for name in (
        "decimal integer nonNegativeInteger nonPositiveInteger positiveInteger negativeInteger long int short byte "
        "unsignedLong unsignedInt unsignedShort unsignedByte double float string normalizedString token language "
        "Name NCName NMTOKEN boolean hexBinary base64Binary anyURI dateTime dateTimeStamp"
    ).split()
}
EUVOC = "http://publications.europa.eu/ontology/euvoc#"
# OWL 2's own entities (Structural Specification 5.8.1): declared by OWL itself
BUILT_IN = (
    OWL2_DATATYPE_MAP
    | {OWL.Thing, OWL.Nothing, OWL.topObjectProperty, OWL.topDataProperty}
    | {
        RDFS.label,
        RDFS.comment,
        RDFS.seeAlso,
        RDFS.isDefinedBy,
        OWL.deprecated,
        OWL.versionInfo,
        OWL.priorVersion,
        OWL.backwardCompatibleWith,
        OWL.incompatibleWith,
    }
)

# The kinds of entity that must not share an IRI (OWL 2 Structural Specification 5.9: a class and a
# datatype, or two kinds of property, may not share one; the issue asks for no class/property punning either).
KIND_OF_TYPE = {
    OWL.Class: "class",
    RDFS.Class: "class",
    OWL.ObjectProperty: "object property",
    OWL.TransitiveProperty: "object property",
    OWL.SymmetricProperty: "object property",
    OWL.InverseFunctionalProperty: "object property",
    OWL.DatatypeProperty: "datatype property",
    OWL.AnnotationProperty: "annotation property",
    RDFS.Datatype: "datatype",
}
OWLAPI_KINDS = {"Class", "ObjectProperty", "DataProperty", "AnnotationProperty", "Datatype"}


@dataclass(frozen=True)
class Java:
    """Java, with OwlCheck compiled against the OWL API and HermiT in owlready2's HermiT.jar, and Pellet's jars."""

    java: str
    classes: Path
    hermit_jar: Path
    pellet_dir: Path

    def owlcheck(self, mode: str, document: Path) -> subprocess.CompletedProcess[str]:
        classpath = f"{self.classes}:{self.hermit_jar}"
        command = [self.java, "-Xmx1500m", "-cp", classpath, "OwlCheck", mode, str(document)]
        return subprocess.run(command, capture_output=True, text=True, timeout=DEADLINE, check=False)

    def pellet_consistency(self, document: Path) -> subprocess.CompletedProcess[str]:
        classpath = ":".join([*(str(jar) for jar in sorted(self.pellet_dir.glob("*.jar"))), str(self.pellet_dir)])
        command = [self.java, "-Xmx1500m", "-cp", classpath, "pellet.Pellet", "consistency", str(document)]
        return subprocess.run(command, capture_output=True, text=True, timeout=DEADLINE, check=False)


@pytest.fixture(scope="session")
def java(tmp_path_factory: pytest.TempPathFactory) -> Java:
    java, javac = shutil.which("java"), shutil.which("javac")
    if not java or not javac:
        pytest.fail("the OWL checks need a Java 17 JDK (java and javac on PATH)")
    spec = importlib.util.find_spec("owlready2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("owlready2 is not installed: run scripts/setup.sh (it is in the test extra)")
    owlready = Path(next(iter(spec.submodule_search_locations)))
    hermit_jar, pellet_dir = owlready / "hermit" / "HermiT.jar", owlready / "pellet"
    assert hermit_jar.is_file() and (pellet_dir / "pellet-2.3.1.jar").is_file(), f"owlready2 at {owlready} lacks jars"
    classes = tmp_path_factory.mktemp("owlcheck")
    compiled = subprocess.run(
        [javac, "-nowarn", "-cp", str(hermit_jar), "-d", str(classes), str(CHECKER)],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert compiled.returncode == 0, f"javac {CHECKER.name}:\n{compiled.stderr}"
    return Java(java, classes, hermit_jar, pellet_dir)


@pytest.fixture(scope="session")
def ontology() -> Graph:
    settings = Settings()
    return load_turtle_dir(settings.ontology_dir, ProjectNamespaces(settings.base_iri))


@pytest.fixture(scope="session")
def asserted(built: Built) -> Graph:
    construct = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{ASSERTED}> {{ ?s ?p ?o }} }}"
    triples = built.store.query(construct).serialize(format=ox.RdfFormat.N_TRIPLES)
    graph = Graph().parse(data=triples, format="nt")
    assert len(graph) > 5000, "the asserted graph of the build is unexpectedly small"
    return graph


def rdf_xml(tmp_path: Path, name: str, *graphs: Graph) -> Path:
    """The union of `graphs` as RDF/XML, the OWL API's most robust input."""
    union = Graph()
    for graph in graphs:
        for triple in graph:
            union.add(triple)
    path = tmp_path / f"{name}.owl"
    union.serialize(path, format="xml")
    return path


def violations(java: Java, document: Path) -> dict[str, list[str]]:
    """The OWL API's profile violations of `document`, by profile ("RL", "DL")."""
    run = java.owlcheck("profile", document)
    assert run.returncode in (0, 1), f"the OWL API could not check {document.name}:\n{run.stderr}"
    found: dict[str, list[str]] = {"RL": [], "DL": []}
    for line in run.stdout.splitlines():
        profile, kind, text = line.split("\t", 2)
        found[profile].append(f"{kind}: {text}")
    assert (run.returncode == 0) == (not found["RL"] and not found["DL"])
    return found


def shown(lines: list[str]) -> str:
    return f"{len(lines)} violation(s):\n  " + "\n  ".join(lines[:60])


# (a), (b): the profiles


@pytest.fixture(scope="module")
def profile_of_the_ontology(java: Java, ontology: Graph, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return violations(java, rdf_xml(tmp_path_factory.mktemp("profile"), "ontology", ontology))


def test_ontology_is_in_the_owl2_rl_profile(profile_of_the_ontology: dict) -> None:
    assert profile_of_the_ontology["RL"] == [], shown(profile_of_the_ontology["RL"])


def test_ontology_is_in_the_owl2_dl_profile(profile_of_the_ontology: dict) -> None:
    assert profile_of_the_ontology["DL"] == [], shown(profile_of_the_ontology["DL"])


def test_profile_checker_reports_the_faults_the_issue_found(java: Java, ontology: Graph, tmp_path: Path) -> None:
    """The faults of issue 12, put back into a copy: the checker names each one."""
    faulty = Graph()
    for triple in ontology:
        faulty.add(triple)
    # an object property under the annotation property rdfs:seeAlso (punning cap:learnMoreLink)
    faulty.add((URIRef(CAP + "learnMoreLink"), RDF.type, OWL.ObjectProperty))
    # the xsd:gYear range (not in the OWL 2 datatype map, nor among OWL 2 RL's datatypes)
    faulty.add((URIRef(CAP + "releaseYear"), RDFS.range, XSD.gYear))
    # an undeclared external class
    faulty.add((URIRef(CAP + "Webinar"), RDFS.subClassOf, URIRef("http://schema.org/EducationEvent")))
    found = violations(java, rdf_xml(tmp_path, "faulty", faulty))
    rl, dl = "\n".join(found["RL"]), "\n".join(found["DL"])
    assert "IllegalPunning" in dl and "learnMoreLink" in dl, shown(found["DL"])
    assert "UseOfUndeclaredClass" in dl and "schema.org/EducationEvent" in dl, shown(found["DL"])
    assert "UseOfIllegalDataRange" in rl and "gYear" in rl, shown(found["RL"])


# (c): no punning


def kinds(graph: Graph) -> dict[URIRef, set[str]]:
    """Each IRI that `graph` declares, with the kinds of entity it is declared as."""
    found: dict[URIRef, set[str]] = defaultdict(set)
    for subject, rdf_type in graph.subject_objects(RDF.type):
        if isinstance(subject, URIRef) and rdf_type in KIND_OF_TYPE:
            found[subject].add(KIND_OF_TYPE[rdf_type])
    return found


def punned(graph: Graph) -> dict[str, set[str]]:
    return {str(iri): k for iri, k in kinds(graph).items() if len(k) > 1}


def test_no_iri_of_the_ontology_is_declared_as_two_kinds(ontology: Graph) -> None:
    assert punned(ontology) == {}
    faulty = Graph()
    for triple in ontology:
        faulty.add(triple)
    faulty.add((URIRef(CAP + "keyChallenge"), RDF.type, OWL.DatatypeProperty))
    assert punned(faulty) == {CAP + "keyChallenge": {"annotation property", "datatype property"}}


def test_every_term_an_ontology_axiom_names_is_declared(ontology: Graph) -> None:
    """Superclasses, super-properties, domains, ranges and chain members: the ontology declares them all."""
    declared = set(kinds(ontology))
    named: set[tuple[str, URIRef]] = set()
    for predicate in (RDFS.subClassOf, RDFS.domain, RDFS.range, RDFS.subPropertyOf, OWL.inverseOf):
        for subject, value in ontology.subject_objects(predicate):
            named |= {(predicate.n3(), term) for term in (subject, value) if isinstance(term, URIRef)}
    for _, chain in ontology.subject_objects(OWL.propertyChainAxiom):
        named |= {("owl:propertyChainAxiom", term) for term in ontology.items(chain) if isinstance(term, URIRef)}
    undeclared = sorted(f"{term} (in {where})" for where, term in named if term not in declared | BUILT_IN)
    assert undeclared == [], "\n".join(undeclared)


def test_data_uses_each_declared_property_as_its_kind(ontology: Graph, asserted: Graph) -> None:
    """Object properties have IRIs as values, datatype properties literals, and no class is a predicate."""
    declared = kinds(ontology)
    wrong: set[str] = set()
    for _, predicate, value in asserted:
        kind = declared.get(predicate, set())
        if "object property" in kind and isinstance(value, Literal):
            wrong.add(f"{predicate} (an object property) has the literal {value!r}")
        if "datatype property" in kind and isinstance(value, URIRef | BNode):
            wrong.add(f"{predicate} (a datatype property) has the resource {value}")
        if kind & {"class", "datatype"}:
            wrong.add(f"{predicate} is declared a class or datatype but used as a property")
    for value in set(asserted.objects(None, RDF.type)):
        if declared.get(value, set()) - {"class"}:
            wrong.add(f"{value} is an instance's type but declared {declared[value]}")
    assert sorted(wrong) == []


def test_owl_api_reads_no_iri_as_two_kinds(
    java: Java, ontology: Graph, asserted: Graph, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The OWL API's own reading, of the ontology and of ontology + data (where it guesses undeclared terms)."""
    folder = tmp_path_factory.mktemp("entities")
    for name, graphs in (("ontology", (ontology,)), ("ontology-and-data", (ontology, asserted))):
        run = java.owlcheck("entities", rdf_xml(folder, name, *graphs))
        assert run.returncode == 0, run.stderr
        read = {line.split("\t")[1]: set(line.split("\t")[2].split()) for line in run.stdout.splitlines()}
        assert len(read) > 100, f"{name}: the OWL API read only {len(read)} entities"
        two = {iri: k for iri, k in read.items() if len(k & OWLAPI_KINDS) > 1}
        assert two == {}, f"{name}: {two}"


# (d): consistency


@pytest.fixture(scope="module")
def ontology_and_data(ontology: Graph, asserted: Graph, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rdf_xml(tmp_path_factory.mktemp("consistency"), "ontology-and-data", ontology, asserted)


def test_hermit_reads_the_ontology_and_finds_it_consistent(java: Java, ontology: Graph, tmp_path: Path) -> None:
    """No datatype outside the OWL 2 datatype map is left in the ontology: HermiT reads all of it."""
    run = java.owlcheck("consistent", rdf_xml(tmp_path, "ontology", ontology))
    assert (run.returncode, run.stdout.strip()) == (0, "consistent"), run.stderr


def test_data_datatypes_hermit_does_not_know_are_only_the_dates_and_eu_notations(asserted: Graph) -> None:
    """HermiT supports only the OWL 2 datatype map; the data's other datatypes are the ones the shapes ask for
    (xsd:gYear, xsd:gYearMonth, xsd:date in shapes/02-materials.ttl and 06-events-and-sources.ttl) and the EU
    vocabularies' notation types (euvoc:) of skos:notation. HermiT is asked to read those as opaque values
    below; Pellet, which implements the XML Schema date types, checks them."""
    outside = {o.datatype for o in asserted.objects() if isinstance(o, Literal) and o.datatype} - OWL2_DATATYPE_MAP
    assert outside, "the data has no dates any more: HermiT can check everything, tighten this test"
    assert {t for t in outside if not str(t).startswith(EUVOC)} <= {XSD.gYear, XSD.gYearMonth, XSD.date}, outside


@pytest.mark.slow
def test_hermit_finds_the_ontology_and_the_built_data_consistent(java: Java, ontology_and_data: Path) -> None:
    run = java.owlcheck("consistent-ignoring-unsupported-datatypes", ontology_and_data)
    assert (run.returncode, run.stdout.strip()) == (0, "consistent"), run.stderr


@pytest.mark.slow
def test_pellet_finds_the_ontology_and_the_built_data_consistent(java: Java, ontology_and_data: Path) -> None:
    run = java.pellet_consistency(ontology_and_data)
    assert run.returncode == 0 and "Consistent: Yes" in run.stdout, run.stdout + run.stderr


def contradicted(ontology_and_data: Path) -> Graph:
    """Ontology + data, with a card of two materials stated to be different: cap:appearanceOf is functional."""
    graph = Graph().parse(ontology_and_data, format="xml")
    card, first = next(iter(graph.subject_objects(URIRef(CAP + "appearanceOf"))))
    second = next(m for m in graph.objects(None, URIRef(CAP + "appearanceOf")) if m != first)
    graph.add((card, URIRef(CAP + "appearanceOf"), second))
    graph.add((first, OWL.differentFrom, second))
    return graph


@pytest.mark.slow
def test_both_reasoners_find_a_contradiction_in_the_data(java: Java, ontology_and_data: Path, tmp_path: Path) -> None:
    faulty = rdf_xml(tmp_path, "contradicted", contradicted(ontology_and_data))
    hermit = java.owlcheck("consistent-ignoring-unsupported-datatypes", faulty)
    assert (hermit.returncode, hermit.stdout.strip()) == (1, "inconsistent"), hermit.stderr
    pellet = java.pellet_consistency(faulty)
    assert "Consistent: No" in pellet.stdout, pellet.stdout + pellet.stderr


@pytest.mark.slow
def test_pellet_finds_a_malformed_release_year(java: Java, ontology_and_data: Path, tmp_path: Path) -> None:
    """A cap:releaseYear outside xsd:gYear's lexical space (XML Schema 1.1 part 2, 3.3.11) is a contradiction."""
    graph = Graph().parse(ontology_and_data, format="xml")
    material = next(graph.subjects(URIRef(CAP + "releaseYear"), None))
    graph.add((material, URIRef(CAP + "releaseYear"), Literal("20x1", datatype=XSD.gYear)))
    run = java.pellet_consistency(rdf_xml(tmp_path, "malformed-year", graph))
    assert "Consistent: No" in run.stdout and "gYear" in run.stdout, run.stdout + run.stderr
