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
    form_to_turtle,
    material_form,
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
    turtle = form_to_turtle(fields, submitted, existing=None, card=None)
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


def test_editing_writes_the_existing_iris(fields: list[Field]) -> None:
    turtle = form_to_turtle(
        fields, [("material.title", "New title")], existing=AUSTRIAN_MISSION, card=AUSTRIAN_MISSION_CARD
    )
    parsed = set(Graph().parse(data=turtle, format="turtle"))
    assert (AUSTRIAN_MISSION_CARD, URIRef(CAP + "appearanceOf"), AUSTRIAN_MISSION) in parsed
    assert (AUSTRIAN_MISSION, DCTERMS.title, Literal("New title", lang="en")) in parsed
    assert not any(str(term).startswith("urn:x-new:") for triple in parsed for term in triple)


def test_a_value_not_among_the_choices_is_refused_naming_the_field(fields: list[Field]) -> None:
    with pytest.raises(FormValueError) as refused:
        form_to_turtle(fields, [("material.spatial", "http://example.org/atlantis")], existing=None, card=None)
    assert refused.value.field == "material.spatial"
    assert "country or place" in str(refused.value) and "material.spatial" in str(refused.value)
    with pytest.raises(FormValueError) as literal:  # a choice never takes text, even a country's name
        form_to_turtle(fields, [("card.inProblemStatement", "1.2")], existing=None, card=None)
    assert literal.value.field == "card.inProblemStatement"


def test_a_second_value_for_a_single_field_is_refused(fields: list[Field]) -> None:
    with pytest.raises(FormValueError) as refused:
        form_to_turtle(fields, [("material.title", "One"), ("material.title", "Two")], existing=None, card=None)
    assert refused.value.field == "material.title"


def test_quotes_backslashes_and_markup_round_trip_through_turtle(fields: list[Field]) -> None:
    turtle = form_to_turtle(fields, [("material.title", NASTY)], existing=None, card=None)
    parsed = Graph().parse(data=turtle, format="turtle")
    assert list(parsed.objects(NEW_MATERIAL, DCTERMS.title)) == [Literal(NASTY, lang="en")]


def test_editing_a_real_material_prefills_its_values(graphs: tuple[Graph, Graph, Graph]) -> None:
    fields = by_key(material_form(*graphs, existing=AUSTRIAN_MISSION, card=AUSTRIAN_MISSION_CARD))
    title = "Austrian Climate-Neutral Cities Mission and “Cities Mission Action Group”"
    assert fields["material.title"].values == [title]
    assert fields["material.spatial"].values == [AUSTRIA]
    assert fields["material.releaseYear"].values == ["2021"]
    assert fields["card.inProblemStatement"].values == [CHALLENGE_1_2]
    assert fields["card.titleAsPrinted"].values == ['Austrian "Cities Mission Action Group"']
    assert len(fields["card.keyFeature"].values) == 3
    assert fields["material.title"].node == AUSTRIAN_MISSION and fields["card.typeLabel"].node == AUSTRIAN_MISSION_CARD


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
        request=None, version="test", fields=fields, csrf="tok-123", action="/contribute", **context
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
