"""Contribution forms from the real shapes and the real asserted graph: fields, proposal Turtle, findings, page."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from rdflib import Dataset, Graph, Literal, URIRef

from api.views.forms import (
    NEW_CARD,
    NEW_MATERIAL,
    Field,
    FormValueError,
    findings_by_field,
    form_fields,
    form_kinds,
    form_to_turtle,
)
from api.views.render import TEMPLATES
from kg.namespaces import DCTERMS, RDF, ProjectNamespaces
from kg.reasoning.validate import load_turtle_dir
from tests.conftest import Built

ROOT = Path(__file__).resolve().parent.parent
ASSERTED = URIRef("https://w3id.org/capacities/lp/id/graph/asserted")
CAP = "https://w3id.org/capacities/lp/ontology#"
ID = "https://w3id.org/capacities/lp/id/"
AUSTRIA = "http://publications.europa.eu/resource/authority/country/AUT"
CHALLENGE_1_2 = ID + "challenge/1.2"
# the subcategory heading as printed in the portfolio (data/sources/000_11870afa8f6afaf9.txt, line 501)
CHALLENGE_1_2_LABEL = "1.2 Towards lesser fragmentation: clarification of roles, budget and targets"
AUSTRIAN_MISSION = URIRef(ID + "material/austrian-climate-neutral-cities-mission")
AUSTRIAN_MISSION_CARD = URIRef(ID + "appearance/austrian-climate-neutral-cities-mission/1.2")
GYEAR = URIRef("http://www.w3.org/2001/XMLSchema#gYear")
NASTY = 'He said "hi", then """ and \\ and \\n and <script>alert(1)</script>'


@pytest.fixture(scope="module")
def graphs(built: Built) -> tuple[Graph, Graph, Graph]:
    ns = ProjectNamespaces()
    shapes = load_turtle_dir(ROOT / "shapes", ns)
    ontology = load_turtle_dir(ROOT / "ontology", ns)
    dataset = Dataset()
    dataset.parse(built.result.directory / "dataset.nq", format="nquads")
    return shapes, ontology, dataset.graph(ASSERTED)


KINDS = form_kinds(ProjectNamespaces())
MATERIAL = KINDS["material"]


def material_form(shapes: Graph, ontology: Graph, graph: Graph, *, existing: URIRef | None = None) -> list[Field]:
    return form_fields(MATERIAL, shapes, ontology, graph, existing=existing)


@pytest.fixture(scope="module")
def fields(graphs: tuple[Graph, Graph, Graph]) -> list[Field]:
    return material_form(*graphs)


def by_key(fields: list[Field]) -> dict[str, Field]:
    return {f.key: f for f in fields}


def test_title_is_required_english_text(fields: list[Field]) -> None:
    title = by_key(fields)["material.title"]
    assert (title.path, title.resource, title.kind) == (DCTERMS.title, "material", "text")
    assert title.required and title.language
    assert title.label == "title"
    assert not title.repeatable  # sh:uniqueLang: one English title


def test_problem_statement_is_a_required_single_choice_labelled_as_printed(fields: list[Field]) -> None:
    statement = by_key(fields)["card.inProblemStatement"]
    assert statement.resource == "card" and statement.kind == "choice" and statement.required
    assert (CHALLENGE_1_2, CHALLENGE_1_2_LABEL) in statement.choices
    labels = [label for _, label in statement.choices]
    assert labels.index(CHALLENGE_1_2_LABEL) < next(i for i, label in enumerate(labels) if label.startswith("1.3 "))


def test_countries_offer_austria_and_are_optional(fields: list[Field]) -> None:
    countries = by_key(fields)["material.spatial"]
    assert (AUSTRIA, "Austria") in countries.choices
    assert countries.kind == "multi-choice" and countries.repeatable
    assert not countries.required  # the minCount is a Warning only


def test_importer_owned_properties_are_not_fields(fields: list[Field]) -> None:
    paths = {str(f.path) for f in fields}
    for owned in ("sourceLocator", "firstLine", "lastLine", "curationDecision", "appearanceOf"):
        assert CAP + owned not in paths
    assert "http://schema.org/position" not in paths
    assert not any(p.startswith("http://www.w3.org/ns/prov#") for p in paths)
    assert str(RDF.type) not in paths


def test_filled_form_yields_exactly_the_expected_triples(fields: list[Field]) -> None:
    submitted = [
        ("csrf", "token"),
        ("note", "found it at a conference"),
        ("material.title", "  Climate contracts toolkit "),
        ("material.spatial", AUSTRIA),
        ("material.releaseYear", "2024"),
        ("material.organizer", ""),
        ("card.inProblemStatement", CHALLENGE_1_2),
        ("card.titleAsPrinted", "Climate contracts toolkit"),
        ("card.typeLabel", "Toolkit"),
        ("card.description", "First line.\r\nSecond line."),
        ("card.keyFeature", "Templates"),
        ("card.keyFeature", ""),
        ("card.keyFeature", "Examples"),
    ]
    turtle = form_to_turtle(MATERIAL, fields, submitted)
    parsed = Graph().parse(data=turtle, format="turtle")
    material, card = URIRef("urn:x-new:material"), URIRef("urn:x-new:card")
    expected = {
        (material, RDF.type, URIRef(CAP + "LearningMaterial")),
        (material, DCTERMS.title, Literal("Climate contracts toolkit", lang="en")),
        (material, DCTERMS.spatial, URIRef(AUSTRIA)),
        (material, URIRef(CAP + "releaseYear"), Literal("2024", datatype=GYEAR)),
        (card, RDF.type, URIRef(CAP + "MaterialAppearance")),
        (card, URIRef(CAP + "appearanceOf"), material),
        (card, URIRef(CAP + "inProblemStatement"), URIRef(CHALLENGE_1_2)),
        (card, URIRef(CAP + "titleAsPrinted"), Literal("Climate contracts toolkit")),
        (card, URIRef(CAP + "typeLabel"), Literal("Toolkit", lang="en")),
        (card, DCTERMS.description, Literal("First line.\nSecond line.", lang="en")),
        (card, URIRef(CAP + "keyFeature"), Literal("Templates", lang="en")),
        (card, URIRef(CAP + "keyFeature"), Literal("Examples", lang="en")),
    }
    assert set(parsed) == expected


def test_editing_writes_the_existing_iri_and_keeps_what_the_form_does_not_show(
    graphs: tuple[Graph, Graph, Graph],
) -> None:
    shapes, ontology, current = graphs
    fields = material_form(*graphs, existing=AUSTRIAN_MISSION)
    assert {f.resource for f in fields} == {"material"}  # a correction of the material, not of its cards
    turtle = form_to_turtle(
        MATERIAL, fields, [("material.title", "New title")], existing=AUSTRIAN_MISSION, current=current
    )
    parsed = set(Graph().parse(data=turtle, format="turtle"))
    assert (AUSTRIAN_MISSION, DCTERMS.title, Literal("New title", lang="en")) in parsed
    assert not any(str(term).startswith("urn:x-new:") for triple in parsed for term in triple)
    # its type and its links (not form fields) stay as they are; the fields left empty are emptied
    assert (AUSTRIAN_MISSION, RDF.type, URIRef(CAP + "LearningMaterial")) in parsed
    mentions = URIRef(CAP + "mentionsMaterial")  # the text says it mentions another material: not a form field
    assert mentions not in {f.path for f in fields}
    mentioned = set(current.objects(AUSTRIAN_MISSION, mentions))
    assert mentioned and {o for s, p, o in parsed if p == mentions} == mentioned
    assert not any(p == DCTERMS.spatial for _, p, _ in parsed)
    # provenance is the build's: never written by a form
    assert not any(p == URIRef(CAP + "sourceLocator") for _, p, _ in parsed)


def test_a_value_not_among_the_choices_is_refused_naming_the_field(fields: list[Field]) -> None:
    with pytest.raises(FormValueError) as refused:
        form_to_turtle(MATERIAL, fields, [("material.spatial", "http://example.org/atlantis")])
    assert refused.value.field == "material.spatial"
    assert "country or place" in str(refused.value) and "material.spatial" in str(refused.value)
    with pytest.raises(FormValueError) as literal:  # a choice never takes text, even a country's name
        form_to_turtle(MATERIAL, fields, [("card.inProblemStatement", "1.2")])
    assert literal.value.field == "card.inProblemStatement"


def test_a_second_value_for_a_single_field_is_refused(fields: list[Field]) -> None:
    with pytest.raises(FormValueError) as refused:
        form_to_turtle(MATERIAL, fields, [("material.title", "One"), ("material.title", "Two")])
    assert refused.value.field == "material.title"


def test_quotes_backslashes_and_markup_round_trip_through_turtle(fields: list[Field]) -> None:
    turtle = form_to_turtle(MATERIAL, fields, [("material.title", NASTY)])
    parsed = Graph().parse(data=turtle, format="turtle")
    assert list(parsed.objects(NEW_MATERIAL, DCTERMS.title)) == [Literal(NASTY, lang="en")]


def test_editing_a_real_material_prefills_its_values(graphs: tuple[Graph, Graph, Graph]) -> None:
    fields = by_key(material_form(*graphs, existing=AUSTRIAN_MISSION))
    title = "Austrian Climate-Neutral Cities Mission and “Cities Mission Action Group”"
    assert fields["material.title"].values == [title]
    assert fields["material.spatial"].values == [AUSTRIA]
    assert fields["material.releaseYear"].values == ["2021"]
    assert fields["material.title"].node == AUSTRIAN_MISSION
    card = by_key(form_fields(KINDS["card"], *graphs, existing=AUSTRIAN_MISSION_CARD))
    assert card["card.inProblemStatement"].values == [CHALLENGE_1_2]
    assert card["card.titleAsPrinted"].values == ['Austrian "Cities Mission Action Group"']
    assert len(card["card.keyFeature"].values) == 3
    assert card["card.typeLabel"].node == AUSTRIAN_MISSION_CARD


def test_new_form_is_empty(fields: list[Field]) -> None:
    assert all(not f.values for f in fields)
    assert {f.node for f in fields} == {NEW_MATERIAL, NEW_CARD}


def test_findings_go_beside_their_field(fields: list[Field]) -> None:
    findings = [
        {
            "severity": "Violation",
            "focus": "urn:x-new:material",
            "path": str(DCTERMS.title),
            "value": None,
            "message": "Missing or malformed title",
        },
        {
            "severity": "Warning",
            "focus": "urn:x-new:card",
            "path": CAP + "keyFeature",
            "value": None,
            "message": "Card without key features",
        },
        # a title of another node and a property no field has: both belong to no field
        {"severity": "Violation", "focus": ID + "material/other", "path": str(DCTERMS.title), "message": "Elsewhere"},
        {"severity": "Violation", "focus": "urn:x-new:card", "path": CAP + "unknownProperty", "message": "Closed"},
    ]
    placed = findings_by_field(fields, findings)
    assert placed == {
        "material.title": ["Missing or malformed title"],
        "card.keyFeature": ["Card without key features"],
        "": ["Elsewhere", "Closed"],
    }


def render(fields: list[Field], **context: object) -> str:
    return TEMPLATES.get_template("contribute.html").render(
        request=None,
        version="test",
        fields=fields,
        csrf="tok-123",
        action="/contribute",
        parts=MATERIAL.new,
        heading="Propose a learning material",
        **context,
    )


def test_page_binds_every_label_and_carries_the_csrf_token(graphs: tuple[Graph, Graph, Graph]) -> None:
    fields = material_form(*graphs)
    page = BeautifulSoup(render(fields, errors={}), "html.parser")
    form = page.find("form", class_="contribute")
    assert form["action"] == "/contribute" and form["method"] == "post"
    assert form.find("input", attrs={"type": "hidden", "name": "csrf"})["value"] == "tok-123"
    controls = [c for c in form.find_all(["input", "select", "textarea"]) if c.get("type") not in ("hidden", "submit")]
    ids = [c["id"] for c in controls]
    assert len(ids) == len(set(ids))
    bound = {label["for"] for label in form.find_all("label")}
    assert set(ids) <= bound and bound <= set(ids)
    legends = [group.find("legend").get_text(strip=True) for group in form.find_all("fieldset", class_="form-group")]
    assert legends == ["The learning material", "Its card in a problem statement"]
    assert form.find("label", attrs={"for": "field-note"}).get_text(strip=True) == "Why this change?"
    title_label = form.find("label", attrs={"for": "field-material-title"}).get_text(" ", strip=True)
    assert "required" in title_label
    for control in controls:  # every reference names an element of the page
        for ref in control.get("aria-describedby", "").split():
            assert page.find(id=ref) is not None
    assert page.find(attrs={"role": "alert"}) is None


def test_page_shows_findings_and_escapes_prefilled_values(graphs: tuple[Graph, Graph, Graph]) -> None:
    fields = material_form(*graphs)
    title = by_key(fields)["material.title"]
    title.values = [NASTY]
    errors = findings_by_field(
        fields,
        [{"focus": "urn:x-new:material", "path": str(DCTERMS.title), "message": "Title is template text"}],
    )
    html = render(fields, errors=errors)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = BeautifulSoup(html, "html.parser")
    field = page.find(id="field-material-title")
    assert field["value"] == NASTY
    assert field["aria-invalid"] == "true"
    error = page.find(id="field-material-title-error")
    assert "Title is template text" in error.get_text()
    assert "field-material-title-error" in field["aria-describedby"].split()
    summary = page.find(attrs={"role": "alert"})
    assert summary.find("a", href="#field-material-title") is not None


def test_help_texts_are_written_for_people(fields: list[Field]) -> None:
    """The shapes' sh:description (for people), not their rdfs:comment (for curators, naming RDF terms)."""
    assert by_key(fields)["material.title"].help.startswith("The material's name, in English")
    for form_field in fields:
        assert form_field.help, form_field.key
        assert not any(term in form_field.help for term in ("dcterms:", "cap:", "xsd:", "schema:")), form_field.key


AUSTRIAN_PROFILE = URIRef(ID + "profile/2026/at")
PROBLEM_STATEMENT_1_2 = URIRef(CHALLENGE_1_2)
SKOS_NOTE = URIRef("http://www.w3.org/2004/02/skos/core#note")
ORG_ORGANIZATION = URIRef("http://www.w3.org/ns/org#Organization")


def test_every_kind_the_issue_names_has_a_form() -> None:
    """New material, correction of a material or card, organisation, platform profile, note on a placeholder."""
    assert set(KINDS) == {"material", "card", "organisation", "profile", "note"}
    assert not KINDS["profile"].can_add and not KINDS["note"].can_add  # corrected, never added


def test_a_new_organisation_has_a_required_english_name_other_names_and_a_place(
    graphs: tuple[Graph, Graph, Graph],
) -> None:
    fields = by_key(form_fields(KINDS["organisation"], *graphs))
    name = fields["organisation.prefLabel"]
    assert name.required and name.language and not name.repeatable
    assert fields["organisation.altLabel"].repeatable
    location = fields["organisation.location"]
    assert location.kind == "choice" and (AUSTRIA, "Austria") in location.choices
    submitted = [("organisation.prefLabel", "Climate Agency of Ruritania"), ("organisation.location", AUSTRIA)]
    parsed = set(
        Graph().parse(data=form_to_turtle(KINDS["organisation"], list(fields.values()), submitted), format="turtle")
    )
    new = URIRef("urn:x-new:organisation")
    assert parsed == {
        (new, RDF.type, ORG_ORGANIZATION),
        (
            new,
            URIRef("http://www.w3.org/2004/02/skos/core#prefLabel"),
            Literal("Climate Agency of Ruritania", lang="en"),
        ),
        (new, URIRef("http://schema.org/location"), URIRef(AUSTRIA)),
    }


def test_a_profile_update_shows_its_cells_and_keeps_what_identifies_it(graphs: tuple[Graph, Graph, Graph]) -> None:
    shapes, ontology, current = graphs
    fields = by_key(form_fields(KINDS["profile"], *graphs, existing=AUSTRIAN_PROFILE))
    # the Austrian profile's facilitator cell, as printed (lines 3213-3222 of the portfolio)
    assert fields["profile.facilitatorText"].values[0].startswith("Federal Ministry of Innovation, Mobility")
    assert fields["profile.formalisationText"].kind == "textarea"  # long cells get a text area
    assert not {"profile.profileOf", "profile.spatial", "profile.listsCity"} & set(fields)
    submitted = [(key, value) for key, f in fields.items() for value in f.values]
    submitted = [(k, "Nobody yet." if k == "profile.regionalActorsText" else v) for k, v in submitted]
    turtle = form_to_turtle(
        KINDS["profile"], list(fields.values()), submitted, existing=AUSTRIAN_PROFILE, current=current
    )
    parsed = Graph().parse(data=turtle, format="turtle")
    assert str(parsed.value(AUSTRIAN_PROFILE, URIRef(CAP + "regionalActorsText"))) == "Nobody yet."
    assert parsed.value(AUSTRIAN_PROFILE, URIRef(CAP + "profileOf")) == URIRef(ID + "platform/at")
    assert len(set(parsed.objects(AUSTRIAN_PROFILE, URIRef(CAP + "listsCity")))) == len(
        set(current.objects(AUSTRIAN_PROFILE, URIRef(CAP + "listsCity")))
    )


def test_a_note_form_has_one_field_and_keeps_the_whole_problem_statement(graphs: tuple[Graph, Graph, Graph]) -> None:
    shapes, ontology, current = graphs
    fields = form_fields(KINDS["note"], *graphs, existing=PROBLEM_STATEMENT_1_2)
    assert [(f.key, f.path, f.required, f.language) for f in fields] == [("statement.note", SKOS_NOTE, False, True)]
    note = "Materials on budgeting follow in the spring edition."
    turtle = form_to_turtle(
        KINDS["note"], fields, [("statement.note", note)], existing=PROBLEM_STATEMENT_1_2, current=current
    )
    parsed = set(Graph().parse(data=turtle, format="turtle"))
    kept = {t for t in current.triples((PROBLEM_STATEMENT_1_2, None, None)) if "sourceLocator" not in str(t[1])}
    kept = {
        t
        for t in kept
        if not any(w in str(t[1]) for w in ("firstLine", "lastLine", "wasDerivedFrom", "curationDecision"))
    }
    assert parsed - kept == {(PROBLEM_STATEMENT_1_2, SKOS_NOTE, Literal(note, lang="en"))}
    assert kept <= parsed


def test_a_new_card_belongs_to_the_material_it_names(graphs: tuple[Graph, Graph, Graph]) -> None:
    fields = form_fields(KINDS["card"], *graphs)
    submitted = [("card.inProblemStatement", CHALLENGE_1_2), ("card.typeLabel", "Toolkit")]
    with pytest.raises(FormValueError) as refused:
        form_to_turtle(KINDS["card"], fields, submitted)
    assert refused.value.field == "parent"
    parsed = set(
        Graph().parse(data=form_to_turtle(KINDS["card"], fields, submitted, parent=AUSTRIAN_MISSION), format="turtle")
    )
    assert (URIRef("urn:x-new:card"), URIRef(CAP + "appearanceOf"), AUSTRIAN_MISSION) in parsed


@pytest.mark.parametrize("slug", ["organisation", "card", "profile", "note"])
def test_every_form_speaks_to_people(graphs: tuple[Graph, Graph, Graph], slug: str) -> None:
    """Labels and help from the shapes' sh:name and sh:description, never their curators' RDF terms."""
    kind = KINDS[slug]
    existing = {"profile": AUSTRIAN_PROFILE, "note": PROBLEM_STATEMENT_1_2}.get(slug)
    for form_field in form_fields(kind, *graphs, existing=existing):
        assert form_field.help, form_field.key
        for text in (form_field.help, form_field.label):
            assert not any(term in text for term in ("dcterms:", "cap:", "xsd:", "schema:", "skos:", "org:")), text
