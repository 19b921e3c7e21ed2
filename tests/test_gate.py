"""The gate (SHACL on a change and what it touches), minting, provenance and RDF Patch, on the real asserted graph.

The last group gives each shape of shapes/07-contributions.ttl a non-conforming case (tests/test_shapes.py
lists cases of the other shape files).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF

from kg.changes.gate import GateReport, check
from kg.changes.model import NEW, Change, Provenance
from kg.changes.patch import apply, mint, read_rdf_patch, to_rdf_patch, with_provenance
from kg.changes.proposal import proposed_change, read_proposal
from kg.namespaces import DCTERMS as DCT
from kg.namespaces import EUCOUNTRY, SCHEMA, ProjectNamespaces
from kg.reasoning.validate import load_turtle_dir

ROOT = Path(__file__).resolve().parent.parent
DATASET = Path("/work/main/build/current/dataset.nq")
NS = ProjectNamespaces()
CAP, ID = NS.cap, NS.id
EQUITY = ID["material/assessment-tool-climate-equity"]
EQUITY_CARD = ID["appearance/assessment-tool-climate-equity/4.1"]
M1, C1 = URIRef(NEW + "m1"), URIRef(NEW + "c1")
CHANGE_SET = ID["change/7"]
PROPOSED_AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
APPROVED_AT = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)

CARD = """
<c1> a cap:MaterialAppearance ; cap:appearanceOf <m1> ; cap:inProblemStatement {subcategory} ;
    schema:position 9 ; cap:titleAsPrinted "Heat action plans for small towns" ; cap:typeLabel "Guide"@en ;
    dcterms:description "How five Danish towns planned for heat waves."@en ; cap:keyFeature "A checklist"@en .
"""
MATERIAL = """
<m1> a cap:LearningMaterial ; {title} dcterms:spatial eucountry:DNK ; cap:releaseYear "2025"^^xsd:gYear .
"""
TITLE = 'dcterms:title "Heat action plans for small towns"@en ;'


class World:
    def __init__(self) -> None:
        dataset = Dataset()
        dataset.parse(DATASET, format="nquads")
        self.current = Graph()
        for triple in dataset.graph(NS.graph("asserted")):
            self.current.add(triple)
        self.shapes = load_turtle_dir(ROOT / "shapes", NS)
        self.ontology = load_turtle_dir(ROOT / "ontology", NS)

    def change(self, turtle: str, action: str = "add", target: URIRef | None = None) -> Change:
        proposed = read_proposal(turtle.encode(), "text/turtle")
        return proposed_change(self.current, proposed, action=action, target=target, ns=NS)

    def check(self, change: Change) -> GateReport:
        return check(change, self.current, self.shapes, self.ontology, NS)


@pytest.fixture(scope="module")
def world() -> World:
    if not DATASET.exists():
        pytest.skip(f"no built dataset at {DATASET} (run kg build in /work/main)")
    return World()


def new_material(title: str = TITLE, subcategory: str = "id:challenge\\/4.1") -> str:
    return MATERIAL.format(title=title) + CARD.format(subcategory=subcategory)


def provenance(**changes: object) -> Provenance:
    fields: dict = {
        "change_set": CHANGE_SET,
        "number": 7,
        "proposer": "alice",
        "approver": "bob",
        "proposed_at": PROPOSED_AT,
        "approved_at": APPROVED_AT,
        "note": "Heat action plans, from the Danish partner",
    }
    fields.update(changes)
    return Provenance(**fields)


def violations(report: GateReport) -> list[tuple[str, str | None]]:
    return [(f.focus, f.path) for f in report.violations]


# -- the gate --------------------------------------------------------------------------------------


def test_a_new_material_with_a_card_in_an_existing_problem_statement_passes(world: World) -> None:
    report = world.check(world.change(new_material()))
    assert report.conforms, [f.describe() for f in report.findings]
    assert report.triples < 1_000  # what was validated is the neighbourhood, not the 10,000-triple graph


def test_without_a_title_the_new_material_is_a_violation_on_dcterms_title(world: World) -> None:
    report = world.check(world.change(new_material(title="")))
    assert not report.conforms
    assert (str(M1), str(DCTERMS.title)) in violations(report)
    title = [f for f in report.violations if f.path == str(DCTERMS.title)]
    assert all("title" in f.message for f in title)


def test_a_blank_node_focus_is_named_by_what_it_is(world: World) -> None:
    turtle = new_material(title="").replace("<m1>", "_:m1")
    report = world.check(world.change(turtle))
    focus = [f.focus for f in report.violations if f.path == str(DCTERMS.title)]
    assert focus and focus[0].startswith("new LearningMaterial")


def test_a_card_in_a_problem_statement_that_does_not_exist_is_a_violation(world: World) -> None:
    report = world.check(world.change(new_material(subcategory="id:challenge\\/9.9")))
    assert (str(C1), str(CAP.inProblemStatement)) in violations(report)
    assert [f.value for f in report.violations if f.path == str(CAP.inProblemStatement)] == [str(ID["challenge/9.9"])]


def test_a_country_that_is_not_a_location_is_a_violation(world: World) -> None:
    turtle = new_material().replace("eucountry:DNK", "<http://example.org/Atlantis>")
    assert (str(M1), str(DCTERMS.spatial)) in violations(world.check(world.change(turtle)))


def test_a_warning_the_linked_material_had_before_is_not_the_contributors(world: World) -> None:
    # capsh:MaterialReleaseYearShape warns about a material with neither a release year nor a period
    undated = sorted(
        (
            m
            for m in world.current.subjects(RDF.type, CAP.LearningMaterial)
            if (m, CAP.releaseYear, None) not in world.current and (m, DCTERMS.temporal, None) not in world.current
        ),
        key=str,
    )
    assert undated, "the portfolio prints materials without a year (e.g. pilot project portfolios, n.d.)"
    material = undated[0]
    touching = world.check(world.change(f"<{material}> dcterms:spatial eucountry:SWE ."))
    assert any(f.node == material and "No year of release" in f.message for f in touching.findings)
    card = CARD.format(subcategory="id:challenge\\/4.1").replace("<m1>", f"<{material}>")
    linking = world.check(world.change(card))
    assert linking.conforms, [f.describe() for f in linking.findings]
    assert all(f.node != material for f in linking.findings), [f.describe() for f in linking.findings]


def test_a_replacement_of_a_title_passes(world: World) -> None:
    proposed = Graph()
    for triple in world.current.triples((EQUITY, None, None)):
        if triple[1] != DCTERMS.title:
            proposed.add(triple)
    proposed.add((EQUITY, DCTERMS.title, Literal("Copenhagen Climate Equity Assessment Tool", lang="en")))
    change = proposed_change(world.current, proposed, action="replace", target=EQUITY, ns=NS)
    assert world.check(change).conforms


def test_removing_a_material_leaves_its_card_without_one(world: World) -> None:
    change = world.change("", action="remove", target=EQUITY)
    report = world.check(change)
    assert (str(EQUITY_CARD), str(CAP.appearanceOf)) in violations(report)


def test_removing_a_material_and_its_card_together(world: World) -> None:
    first = world.change("", action="remove", target=EQUITY)
    second = world.change("", action="remove", target=EQUITY_CARD)
    both = Change(added=set(), removed=first.removed | second.removed)
    report = world.check(both)
    assert not [f for f in report.violations if f.node in (EQUITY, EQUITY_CARD)], [
        f.describe() for f in report.findings
    ]


# -- minting and provenance ------------------------------------------------------------------------


def test_mint_follows_the_importers_patterns(world: World) -> None:
    minted = mint(world.change(new_material()), world.current, NS, 7)
    subjects = {s for s, _, _ in minted.added}
    assert subjects == {
        ID["material/heat-action-plans-for-small-towns"],
        ID["appearance/heat-action-plans-for-small-towns/4.1"],
    }
    assert (
        ID["appearance/heat-action-plans-for-small-towns/4.1"],
        CAP.appearanceOf,
        ID["material/heat-action-plans-for-small-towns"],
    ) in minted.added


def test_mint_makes_a_taken_slug_unique_and_numbers_other_resources(world: World) -> None:
    turtle = new_material(title='dcterms:title "Assessment tool: Climate equity"@en ;') + (
        '<c1> cap:learnMoreLink <l1> . <l1> a cap:LearnMoreLink ; schema:name "Website" ; schema:position 1 .'
    )
    minted = mint(world.change(turtle), world.current, NS, 7)
    subjects = {s for s, _, _ in minted.added}
    assert subjects == {
        ID["material/assessment-tool-climate-equity-2"],
        ID["appearance/assessment-tool-climate-equity-2/4.1"],
        ID["contribution/7/1"],
    }


def test_minted_resources_without_provenance_need_source_lines(world: World) -> None:
    minted = mint(world.change(new_material()), world.current, NS, 7)
    report = world.check(minted)
    assert (str(ID["appearance/heat-action-plans-for-small-towns/4.1"]), str(CAP.sourceLocator)) in violations(report)


def test_mint_and_provenance_applied_to_the_asserted_graph_pass_the_gate(world: World) -> None:
    minted = mint(world.change(new_material()), world.current, NS, 7)
    full = with_provenance(minted, provenance(), NS, current=world.current)
    material = ID["material/heat-action-plans-for-small-towns"]
    assert (material, PROV.wasGeneratedBy, CHANGE_SET) in full.added
    assert (CHANGE_SET, RDF.type, CAP.ChangeSet) in full.added
    assert (CHANGE_SET, PROV.wasAssociatedWith, ID["account/alice"]) in full.added
    assert (CHANGE_SET, PROV.startedAtTime, Literal("2026-12-01T09:30:00+00:00", datatype=_XSD_DATETIME)) in full.added
    report = world.check(full)
    assert report.conforms, [f.describe() for f in report.findings]
    graph = Graph()
    for triple in world.current:
        graph.add(triple)
    apply(graph, full)
    assert (material, DCTERMS.title, Literal("Heat action plans for small towns", lang="en")) in graph
    assert len(graph) == len(world.current) + len(full.added)


def test_a_changed_resource_is_influenced_by_the_change_set(world: World) -> None:
    change = world.change(f"<{EQUITY}> dcterms:spatial eucountry:SWE .")
    full = with_provenance(change, provenance(), NS, current=world.current)
    assert (EQUITY, PROV.wasInfluencedBy, CHANGE_SET) in full.added
    assert (EQUITY, DCT.modified, Literal("2026-12-02T14:00:00+00:00", datatype=_XSD_DATETIME)) in full.added
    assert (EQUITY, PROV.wasGeneratedBy, CHANGE_SET) not in full.added
    assert world.check(full).conforms


_XSD_DATETIME = URIRef("http://www.w3.org/2001/XMLSchema#dateTime")


# -- RDF Patch -------------------------------------------------------------------------------------


def test_rdf_patch_is_sorted_and_round_trips(world: World) -> None:
    change = world.change(f'<{EQUITY}> a cap:LearningMaterial ; dcterms:title "Equity tool"@en .', "replace", EQUITY)
    full = with_provenance(change, provenance(), NS, current=world.current)
    header = {"id": "urn:uuid:6f1c2a52-8a5e-4a55-9a43-2f5a0c5f1e10", "change": str(CHANGE_SET)}
    text = to_rdf_patch(full, header)
    lines = text.splitlines()
    assert lines[0] == "H id <urn:uuid:6f1c2a52-8a5e-4a55-9a43-2f5a0c5f1e10> ."
    assert lines[2] == "TX ." and lines[-1] == "TC ."
    body = lines[3:-1]
    codes = [line[0] for line in body]
    assert codes == sorted(codes, key=lambda c: c != "D")  # deletions first
    assert body[: codes.count("D")] == sorted(body[: codes.count("D")])
    assert f'D <{EQUITY}> <{DCTERMS.title}> "Assessment tool: Climate equity"@en .' in body
    assert f'A <{EQUITY}> <{DCTERMS.title}> "Equity tool"@en .' in body
    again = read_rdf_patch(text)
    assert again.added == full.added and again.removed == full.removed
    assert to_rdf_patch(again, header) == text


def test_rdf_patch_keeps_escapes_and_datatypes() -> None:
    change = Change(
        added={(EQUITY, DCTERMS.description, Literal('Two lines\nand a "quote"', lang="en"))},
        removed={(EQUITY, SCHEMA.position, Literal(3))},
    )
    assert read_rdf_patch(to_rdf_patch(change, {"id": "urn:uuid:1"})) == change


def test_applying_removes_then_adds_and_ignores_absent_triples() -> None:
    graph = Graph()
    graph.add((EQUITY, DCTERMS.title, Literal("old")))
    change = Change(
        added={(EQUITY, DCTERMS.title, Literal("new"))},
        removed={(EQUITY, DCTERMS.title, Literal("old")), (EQUITY, DCTERMS.spatial, EUCOUNTRY.DNK)},
    )
    apply(graph, change)
    assert set(graph) == {(EQUITY, DCTERMS.title, Literal("new"))}


# -- shapes/07-contributions.ttl: a failing case for every shape -----------------------------------

CAPSH = str(NS.capsh)


def full_change(world: World, **changes: object) -> Change:
    minted = mint(world.change(new_material()), world.current, NS, 7)
    return with_provenance(minted, provenance(**changes), NS, current=world.current)


def without(change: Change, predicate: URIRef, subject: URIRef | None = None) -> Change:
    kept = {t for t in change.added if not (t[1] == predicate and (subject is None or t[0] == subject))}
    return Change(added=kept, removed=change.removed)


def shapes_of(report: GateReport, focus: URIRef) -> set[str]:
    return {f.shape.removeprefix(CAPSH) for f in report.violations if f.node == focus and f.shape}


@pytest.mark.parametrize(
    ("name", "predicate"),
    [
        ("ChangeSet-startedAtTime", PROV.startedAtTime),
        ("ChangeSet-endedAtTime", PROV.endedAtTime),
        ("ChangeSet-associatedWith", PROV.wasAssociatedWith),
    ],
)
def test_a_change_set_without_its_times_or_accounts(world: World, name: str, predicate: URIRef) -> None:
    report = world.check(without(full_change(world), predicate, CHANGE_SET))
    assert name in shapes_of(report, CHANGE_SET)


def test_a_change_set_approved_before_it_was_proposed(world: World) -> None:
    report = world.check(full_change(world, approved_at=datetime(2026, 11, 1, tzinfo=UTC)))
    assert "ChangeSet-startedAtTime" in shapes_of(report, CHANGE_SET)


@pytest.mark.parametrize(("name", "role"), [("ChangeSet-proposer", "proposer"), ("ChangeSet-approver", "approver")])
def test_a_change_set_without_a_proposer_or_approver(world: World, name: str, role: str) -> None:
    association = URIRef(f"{CHANGE_SET}/{role}")
    change = without(full_change(world), PROV.hadRole, association)
    assert shapes_of(world.check(change), CHANGE_SET) == {name}


def test_a_contributed_resource_generated_by_something_else(world: World) -> None:
    change = full_change(world)
    material = ID["material/heat-action-plans-for-small-towns"]
    change.added.add((material, PROV.wasGeneratedBy, ID["account/alice"]))
    assert "ContributedResource-changeSet" in shapes_of(world.check(change), material)


def test_a_changed_resource_without_its_modification_time(world: World) -> None:
    change = with_provenance(world.change(f"<{EQUITY}> dcterms:spatial eucountry:SWE ."), provenance(), NS)
    report = world.check(without(change, DCT.modified))
    assert shapes_of(report, EQUITY) == {"ChangedResource-modified"}
    change.added.add((EQUITY, PROV.wasInfluencedBy, ID["account/bob"]))
    assert "ChangedResource-changeSet" in shapes_of(world.check(change), EQUITY)
