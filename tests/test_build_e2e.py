"""The whole portfolio, built end to end, answers questions whose answers were read in the text.

Each expected value cites the line of data/sources/000_11870afa8f6afaf9.txt it was read
from, and the tests check that the line really says so before checking the graph.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kg.errors import KGError, NonConformantData
from kg.pipeline import build
from kg.settings import Settings
from tests.conftest import ASSERTED, INFERRED, ROOT, Built


def printed(lines: list[str], number: int, *fragments: str) -> None:
    """Guard: the source line says what the test expects (so expectations stay tied to the text)."""
    for fragment in fragments:
        assert fragment in lines[number - 1], f"line {number} does not print {fragment!r}"


def subcategories_of(built: Built, title: str) -> set[str]:
    return built.column(
        f"""
        SELECT ?notation WHERE {{
          ?material dcterms:title ?title . FILTER(STR(?title) = "{title}")
          ?card cap:appearanceOf ?material ; cap:inProblemStatement ?sub .
          ?sub skos:notation ?notation }}""",
        "notation",
    )


def test_six_categories_and_every_subcategory_including_the_one_the_toc_misses(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 1841, "3.4 Approaches to funding")
    notations = built.column("SELECT ?n WHERE { ?s a cap:ProblemStatement ; skos:notation ?n }", "n")
    assert len(notations) == 29
    assert "3.4" in notations
    assert built.column("SELECT ?n WHERE { ?s a cap:CoreChallenge ; skos:notation ?n }", "n") == {
        "01",
        "02",
        "03",
        "04",
        "05",
        "06",
    }


def test_subcategory_title_variants_are_alternative_labels(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 2249, "4.4 Engaging Research and Innovation & Local Businesses and SMEs")
    printed(portfolio_lines, 130, "4.4 Engaging Local Businesses and SMEs")
    printed(portfolio_lines, 1978, "Engaging Research and Innovation, Businesses")
    rows = built.select(
        "SELECT ?p ?label WHERE { id:challenge\\/4.4 ?p ?label FILTER(?p IN (skos:prefLabel, skos:altLabel)) }"
    )
    labels = {(r["p"].rsplit("#", 1)[1], r["label"]) for r in rows}
    assert labels == {
        ("prefLabel", "Engaging Research and Innovation & Local Businesses and SMEs"),
        ("altLabel", "Engaging Local Businesses and SMEs"),
        ("altLabel", "Engaging Research and Innovation, Businesses"),
    }


def test_a_material_printed_in_five_subcategories_is_one_resource(built: Built, portfolio_lines) -> None:
    for line in (466, 564, 817, 1281, 2025):
        printed(portfolio_lines, line, "Memorandum of Cooperation (MoC)\tGreece\t2022")
    assert subcategories_of(built, "Memorandum of Cooperation (MoC)") == {"1.1", "1.2", "1.5", "2.3", "4.1"}
    rows = built.select("""SELECT (COUNT(DISTINCT ?m) AS ?n) WHERE {
        ?m a cap:LearningMaterial ; dcterms:title ?t FILTER(STR(?t) = "Memorandum of Cooperation (MoC)") }""")
    assert rows[0]["n"] == "1"


def test_innocities_cards(built: Built, portfolio_lines) -> None:
    for line in (1299, 2043, 2170, 2395):
        printed(portfolio_lines, line, "Innocities platform\tFinland\t2022")
    assert subcategories_of(built, "Innocities platform") == {"2.3", "4.1", "4.2", "4.5"}


def test_one_series_title_split_into_four_webinars(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 1682, "Capacity-building session")
    printed(portfolio_lines, 1679, "Webinar: Funding and financing")
    titles = built.column(
        """SELECT ?t WHERE { ?m a cap:LearningMaterial ; dcterms:title ?t ;
                              schema:isPartOf/schema:name ?series FILTER(CONTAINS(?series, "Capacity-building")) }""",
        "t",
    )
    assert len(titles) == 4
    assert subcategories_of(built, "Webinar: Funding and financing") == {"3.1"}
    assert subcategories_of(built, "Webinar: GHG Emissions Data Monitoring and Reporting") == {"6.2", "6.5"}


def test_card_keeps_its_own_framing(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 560, "Governance Initiative: A New Approach")
    printed(portfolio_lines, 570, "MoC contributes to the establishment of national framework conditions")
    rows = built.select("""SELECT ?label ?feature WHERE {
        ?card cap:appearanceOf/dcterms:title "Memorandum of Cooperation (MoC)"@en ;
              cap:inProblemStatement/skos:notation "1.2" ; cap:typeLabel ?label ; cap:keyFeature ?feature }""")
    assert {r["label"] for r in rows} == {"Governance Initiative: A New Approach"}
    assert "MoC contributes to the establishment of national framework conditions" in {r["feature"] for r in rows}


def test_placeholders_are_not_materials(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 1494, "IN PROGRESS")
    assert (
        built.column(
            """SELECT ?p WHERE { ?p a cap:PlaceholderCard ; cap:inProblemStatement/skos:notation "2.5" }""", "p"
        ).__len__()
        == 2
    )
    assert not built.ask('ASK { ?c cap:inProblemStatement/skos:notation "2.5" ; a cap:MaterialAppearance }')
    assert not built.ask('ASK { ?m a cap:LearningMaterial ; dcterms:title ?t FILTER(STR(?t) = "IN PROGRESS") }')


def test_multi_country_cell_and_eu_level(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 656, "EU level , Italy, The Netherlands, Czech Republic")
    places = built.column(
        """SELECT ?place WHERE { ?m dcterms:title "CrAFt (Creating Actionable Futures) platform"@en ;
                             dcterms:spatial ?place }""",
        "place",
    )
    base = "http://publications.europa.eu/resource/authority/country/"
    assert places == {base + code for code in ("EUR", "ITA", "NLD", "CZE")}


def test_countries_carry_iso_codes_and_wikidata(built: Built) -> None:
    rows = built.select("""PREFIX euvoc: <http://publications.europa.eu/ontology/euvoc#>
        SELECT ?code ?wd WHERE { eucountry:AUT skos:notation ?code ; skos:exactMatch ?wd
                                 FILTER(DATATYPE(?code) = euvoc:ISO_3166_1_ALPHA_2) }""")
    assert rows == [{"code": "AT", "wd": "http://www.wikidata.org/entity/Q40"}]


@pytest.mark.parametrize(
    ("title", "line", "cell", "years", "printed_year"),
    [
        (
            'Dialogue Forum Mission Climate-Neutral City / Austrian "CapaCITIES national event"',
            716,
            "2023, 2024, 2025",
            {"2023", "2024", "2025"},
            "2023, 2024, 2025",
        ),
        ("Pilot Project Portfolios", 1176, "Slovakia\t\t", set(), ""),
        ("CDP-ICLEI Track Platform", 2941, "n.d.", set(), "n.d."),
    ],
)
def test_year_cells(
    built: Built, portfolio_lines, title: str, line: int, cell: str, years: set[str], printed_year: str
) -> None:
    printed(portfolio_lines, line, cell)
    found = built.column(
        f"""SELECT ?y WHERE {{ ?m dcterms:title ?t FILTER(STR(?t) = '{title}')
                             ?m cap:releaseYear ?y }}""",
        "y",
    )
    assert found == years
    verbatim = built.column(
        f"""SELECT ?v WHERE {{ ?c cap:appearanceOf/dcterms:title ?t FILTER(STR(?t) = '{title}')
                                ?c cap:yearAsPrinted ?v }}""",
        "v",
    )
    assert verbatim == ({printed_year} if printed_year else set())


def test_year_range_is_a_period(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 736, "2020-2023")
    rows = built.select("""PREFIX dcat: <http://www.w3.org/ns/dcat#>
        SELECT ?start ?end WHERE {
        ?m dcterms:title "National Smart City Data Sharing Governance Platform"@en ;
           dcterms:temporal [ dcat:startDate ?start ; dcat:endDate ?end ] }""")
    assert rows == [{"start": "2020", "end": "2023"}]


def test_link_labels_with_language_tags(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 1364, "Manual [Spanish]")
    rows = built.select("""SELECT ?name ?lang ?eu WHERE {
        ?card cap:appearanceOf/dcterms:title "Manual of designing transformative conversations"@en ;
              cap:learnMoreLink ?link . ?link schema:name ?name ; schema:inLanguage ?lang ; dcterms:language ?eu }""")
    assert rows == [
        {"name": "Manual", "lang": "es", "eu": "http://publications.europa.eu/resource/authority/language/SPA"}
    ]


def test_profile_lists_the_cities_the_text_lists(built: Built, portfolio_lines) -> None:
    printed(
        portfolio_lines,
        3244,
        "6 Mission Cities (Espoo, Helsinki, Lahti, Lappeenranta, Tampere, Turku)",
        "Mission-minded cities (Vaasa, Joensuu, Jyväskylä, Oulu, Vantaa)",
    )
    rows = built.select("""SELECT ?name ?role WHERE { id:profile\\/2026\\/fi cap:listsCity ?p .
        ?p cap:city/schema:name ?name ; cap:cityRole ?role }""")
    by_role: dict[str, set[str]] = {}
    for row in rows:
        by_role.setdefault(row["role"].rsplit("/", 1)[1], set()).add(row["name"])
    assert by_role == {
        "mission-city": {"Espoo", "Helsinki", "Lahti", "Lappeenranta", "Tampere", "Turku"},
        "mission-minded-city": {"Vaasa", "Joensuu", "Jyväskylä", "Oulu", "Vantaa"},
    }
    assert built.ask('ASK { ?c a cap:MissionCity ; schema:name "Espoo" }')
    assert not built.ask('ASK { ?c a cap:MissionCity ; schema:name "Vaasa" }')


def test_fifteen_profiles_and_the_austrian_facilitator(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 3215, "Federal Ministry of Innovation, Mobility and Infrastructure (BMIMI)")
    assert len(built.column("SELECT ?p WHERE { ?p a cap:PlatformProfile }", "p")) == 15
    facilitators = built.column(
        """SELECT ?name WHERE { ?m org:organization id:platform\\/at ;
        org:role id:role\\/facilitator ; org:member/skos:prefLabel ?name }""",
        "name",
    )
    assert len(facilitators) == 1
    assert "Innovation, Mobility and Infrastructure" in next(iter(facilitators))


def test_rename_bmk_to_bmimi_is_an_org_change_event(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 421, "former Federal Ministry for Climate Policy", "(BMK)")
    rows = built.select("""SELECT ?before ?after WHERE { ?e a org:ChangeEvent ;
        org:originalOrganization/skos:altLabel ?before ; org:resultingOrganization/skos:altLabel ?after
        FILTER(?before = "BMK" && ?after = "BMIMI") }""")
    assert rows


def test_organisation_variants_are_one_resource(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 419, "AustriaTech (ATE)")
    printed(portfolio_lines, 705, "Austria Tech (ATE)")
    partners = built.column(
        """SELECT DISTINCT ?org WHERE { ?card cap:appearancePartner ?org ;
        cap:partnersAsPrinted ?list . ?org skos:altLabel|skos:prefLabel ?label
        FILTER(?label IN ("AustriaTech (ATE)", "Austria Tech (ATE)")) }""",
        "org",
    )
    assert len(partners) == 1


def test_hashtag_typo_is_a_hidden_label_and_index_is_a_collection(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 1998, "#StakheolderMapping")
    rows = built.select("""SELECT ?pref WHERE { ?h skos:hiddenLabel "#StakheolderMapping" ; skos:prefLabel ?pref .
                           id:challenge\\/4.1 cap:hasHashtag ?h }""")
    assert rows == [{"pref": "#StakeholderMapping"}]
    printed(portfolio_lines, 256, "#Partnership")
    assert built.ask('ASK { id:collection\\/hashtag-index skos:member/skos:prefLabel "#Partnership" }')


def test_provenance_to_edition_and_lines(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 532, "ERRIN")
    rows = built.select("""SELECT ?first ?last ?loc ?edition WHERE {
        ?card cap:appearanceOf/dcterms:title ?t FILTER(CONTAINS(STR(?t), "(ERRIN)"))
        ?card cap:firstLine ?first ; cap:lastLine ?last ; cap:sourceLocator ?loc ;
              prov:wasDerivedFrom/dcterms:isPartOf ?edition }""")
    (row,) = rows
    assert int(row["first"]) <= 532 <= int(row["last"])
    assert row["loc"].endswith(f"000_11870afa8f6afaf9.txt#line={int(row['first']) - 1},{row['last']}")
    assert row["edition"].endswith("/id/edition/2026")
    missing = built.select("""SELECT ?x WHERE {
        ?x a ?cls
        FILTER(?cls IN (cap:MaterialAppearance, cap:ProblemStatement, cap:PlatformProfile, cap:PlaceholderCard))
        FILTER NOT EXISTS { ?x cap:sourceLocator ?l } }""")
    assert missing == []


def test_inferred_shortcuts_live_in_their_own_graph(built: Built) -> None:
    query = f"""SELECT ?n WHERE {{ GRAPH <{INFERRED}> {{ ?m cap:listedUnder ?s }} ?m dcterms:title "Viable Cities"@en .
               ?s skos:notation ?n }}"""
    assert built.column(query, "n") == {"1.5", "3.3"}
    challenges = built.column(
        """SELECT ?n WHERE { ?m dcterms:title "Viable Cities"@en ;
                                 cap:listedUnderChallenge/skos:notation ?n }""",
        "n",
    )
    assert challenges == {"01", "03"}
    assert not built.ask(f"ASK {{ GRAPH <{ASSERTED}> {{ ?m cap:listedUnder ?s }} }}")


def test_inferred_hashtags_inverses_types_and_transitive_broader(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 805, "Vinnova; Formas")
    tags = built.column(
        """SELECT ?t WHERE { ?m dcterms:title "Viable Cities"@en ; cap:taggedWith/skos:prefLabel ?t }""", "t"
    )
    assert {"#CityDiversity", "#Funding", "#Flexibility"} <= tags
    assert built.ask('ASK { ?m dcterms:title "Viable Cities"@en ; cap:hasAppearance ?c . ?c cap:appearanceOf ?m }')
    assert built.ask(f"ASK {{ GRAPH <{INFERRED}> {{ ?m a <http://schema.org/LearningResource> }} }}")
    sub, category = (
        "<https://w3id.org/capacities/lp/id/challenge/1.1>",
        "<https://w3id.org/capacities/lp/id/challenge/01>",
    )
    assert built.ask(
        f"ASK {{ GRAPH <{INFERRED}> {{ {sub} skos:broaderTransitive {category} . {category} skos:narrower {sub} }} }}"
    )
    assert built.ask(
        f"ASK {{ GRAPH <{INFERRED}> {{ ?org cap:isNationalPartnerOf ?m }} ?org skos:prefLabel ?l "
        "FILTER(CONTAINS(STR(?l), 'Vinnova')) }"
    )
    assert not built.ask(f"ASK {{ GRAPH <{INFERRED}> {{ ?x <http://www.w3.org/2002/07/owl#sameAs> ?y }} }}")


def test_lessons_deep_dives_personas_events(built: Built, portfolio_lines) -> None:
    printed(portfolio_lines, 1002, "CITIES WORKING GROUP, POLAND")
    steps = built.column("""SELECT ?name WHERE { id:deep-dive\\/01 schema:step/schema:name ?name }""", "name")
    assert "Peer-to-Peer Discussions" in steps and len(steps) == 5
    assert built.ask("ASK { id:deep-dive\\/01 dcterms:spatial eucountry:POL }")
    printed(portfolio_lines, 2473, "Citizen & Stakeholder Engagement: tbc.")
    assert built.ask("ASK { ?l a cap:LessonLearned ; schema:about id:challenge\\/4.3 ; cap:isPlaceholder true }")
    needs = built.column('SELECT ?t WHERE { ?n cap:persona/schema:name "Kemal" ; schema:text ?t }', "t")
    assert len(needs) == 5
    printed(portfolio_lines, 3130, "24 May 2023")
    assert built.ask('ASK { ?e a cap:Webinar ; schema:startDate "2023-05-24"^^xsd:date }')


def test_summary_counts(built: Built) -> None:
    summary = built.result.summary()
    assert set(summary["graphs"]) == {
        ASSERTED,
        INFERRED,
        "https://w3id.org/capacities/lp/id/graph/ontology",
        "https://w3id.org/capacities/lp/id/graph/justifications",
    }
    assert summary["classes"]["cap:MaterialAppearance"] == 76


STRICT_SHAPE = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix cap: <https://w3id.org/capacities/lp/ontology#> .
<urn:test:ThreeFeatures> a sh:NodeShape ; sh:targetClass cap:MaterialAppearance ;
    sh:property [ sh:path cap:keyFeature ; sh:minCount 3 ; sh:severity sh:Violation ;
                  sh:message "a card needs at least three key features" ] .
"""


def test_a_violation_stops_the_build_before_any_release_is_written(built: Built, tmp_path: Path) -> None:
    """Data that breaks a shape: NonConformantData names every violation; no release, `current` as it was."""
    build_dir = tmp_path / "build"
    previous = build_dir / "releases" / built.result.directory.resolve().name
    shutil.copytree(built.result.directory.resolve(), previous)
    (build_dir / "current").symlink_to(previous.relative_to(build_dir), target_is_directory=True)
    files_before = {p: p.read_bytes() for p in build_dir.rglob("*") if p.is_file()}
    shapes = tmp_path / "shapes"
    shutil.copytree(ROOT / "shapes", shapes)
    (shapes / "zz-strict.ttl").write_text(STRICT_SHAPE, encoding="utf-8")

    with pytest.raises(NonConformantData) as raised:
        build(Settings(build_dir=build_dir, shapes_dir=shapes))

    # the cards that break the shape, counted in the dataset of the good build (not by SHACL)
    offending = built.column(
        f"""SELECT ?card WHERE {{ GRAPH <{ASSERTED}> {{ ?card a cap:MaterialAppearance
                                  OPTIONAL {{ ?card cap:keyFeature ?feature }} }} }}
            GROUP BY ?card HAVING (COUNT(?feature) < 3)""",
        "card",
        union=False,
    )
    assert len(offending) > 1  # the System Demonstrator card (2.4) prints one key feature (line 1390)
    violations = raised.value.violations
    assert len(violations) == len(offending)
    assert str(raised.value).startswith(f"{len(offending)} SHACL violation(s); the build stopped")
    for card in offending:
        named = [v for v in violations if f"<{card}>" in v]
        assert len(named) == 1, (card, violations)
        assert "a card needs at least three key features" in named[0]
    assert {p: p.read_bytes() for p in build_dir.rglob("*") if p.is_file()} == files_before
    assert sorted(p.name for p in build_dir.iterdir()) == ["current", "releases"]
    assert [p.name for p in (build_dir / "releases").iterdir()] == [previous.name]
    assert (build_dir / "current").resolve() == previous


def test_a_validation_process_that_dies_fails_the_build_and_leaves_nothing(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SHACL runs in a process of its own beside the rest of the build: if that process dies without an answer
    (killed, out of memory), the build fails saying so, and neither a release nor a staging directory is left."""
    import os

    from kg import pipeline

    monkeypatch.setattr(pipeline.Prepared, "validate", lambda self: os._exit(9))
    build_dir = tmp_path / "build"
    with pytest.raises(KGError, match=r"ended without an answer \(exit 9\)"):
        build(Settings(build_dir=build_dir))
    assert not (build_dir / "current").exists()
    assert list((build_dir / "releases").iterdir()) == []


def test_the_build_runs_shacl_beside_inference_and_reports_both(built: Built) -> None:
    """The validation's own time is a stage of the build, and its report the one the build kept."""
    stages = {timing.name for timing in built.result.timings}
    assert {"validate (SHACL)", "infer (OWL-RL)", "write outputs"} <= stages
    assert built.result.validation.counts()["Warning"] > 0
    report = (built.result.directory / "report.md").read_text(encoding="utf-8")
    assert "Warning" in report
