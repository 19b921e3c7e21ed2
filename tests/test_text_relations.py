"""What the text says that the graph held nothing of (issue 12): relations between learning materials,
recorded webinars linked to their materials, the three hashtags 2.6 prints, transliterated city IRIs.

Every expected value is read in the portfolio text, data/sources/000_11870afa8f6afaf9.txt (the
`portfolio_lines` fixture); each test cites the lines.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import html5lib
import httpx
import pytest

from kg.errors import CurationError
from kg.namespaces import ProjectNamespaces
from kg.rdf import map_sources
from kg.settings import Settings
from kg.sources.bundle import read_sources
from kg.sources.cells import slugify, slugify_untransliterated
from kg.sources.curation import load_curation
from tests.conftest import INFERRED, ROOT, Built
from tests.stores import serving

ID = "https://w3id.org/capacities/lp/id/"


def fold(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("*", "")
    for fancy, plain in (("“", '"'), ("”", '"'), ("„", '"'), ("’", "'"), ("–", "-"), ("—", "-")):
        text = text.replace(fancy, plain)
    return re.sub(r"\s+", " ", text).strip().casefold()


def material_at(built: Built, line: int) -> str:
    """The material whose printed card spans `line` of the portfolio."""
    found = built.column(
        f"""SELECT DISTINCT ?m WHERE {{ ?a cap:appearanceOf ?m ; cap:firstLine ?f ; cap:lastLine ?l .
                                       FILTER(?f <= {line} && {line} <= ?l) }}""",
        "m",
    )
    assert len(found) == 1, (line, found)
    return found.pop()


def related(built: Built, prop: str) -> set[tuple[str, str]]:
    return {(r["s"], r["o"]) for r in built.select(f"SELECT ?s ?o WHERE {{ ?s cap:{prop} ?o }}")}


def relation_rows(built: Built) -> list[dict[str, str]]:
    return built.select(
        """SELECT ?r ?s ?o ?kind ?quote ?first ?last ?locator WHERE {
             ?r a cap:MaterialRelation ; cap:relationSubject ?s ; cap:relationObject ?o ;
                cap:relationKind/skos:notation ?kind ; cap:evidence ?e .
             ?e schema:text ?quote ; cap:firstLine ?first ; cap:lastLine ?last ; cap:sourceLocator ?locator }"""
    )


# -- relations between materials ------------------------------------------------------------------


def test_m100_hub_and_the_initiatives_developed_under_it(built: Built, portfolio_lines: list[str]) -> None:
    hub = material_at(built, 940)  # line 940: "Romanian M100 national hub"
    assert portfolio_lines[939].startswith("Romanian M100 national hub\t")
    # 1212 "the second initiative developed under the M100 National Hub" (card 1210 M100 Platform);
    # 1417 "the first flagship initiative of the M100 National Hub" (card 1415 M100 Platform project);
    # 847 "a flagship moment of the M100 initiative" (card 845 M100 Annual Convention);
    # 1443 "within the M100 Community of Practice" (card 1437 M100 Resource Library)
    for card, statement, phrase in (
        (1210, 1212, "second initiative developed under the M100 National Hub"),
        (1415, 1417, "first flagship initiative of the M100 National Hub"),
        (845, 847, "a flagship moment of the M100 initiative"),
        (1437, 1443, "within the M100 Community of Practice"),
    ):
        assert phrase in portfolio_lines[statement - 1]
        assert (material_at(built, card), hub) in related(built, "partOfProgramme"), card
    parts = {r["s"] for r in relation_rows(built) if r["o"] == hub and r["kind"] == "part-of"}
    assert parts == {material_at(built, line) for line in (1210, 1415, 845, 1437)}


def test_austrian_mission_forum_visual_insights_klien_and_fit4urbanmission(
    built: Built, portfolio_lines: list[str]
) -> None:
    mission, forum = material_at(built, 416), material_at(built, 716)  # lines 416 and 716
    visual, klien, fit = material_at(built, 1395), material_at(built, 1698), material_at(built, 1814)
    assert "Dialogue Forum Mission Climate-Neutral City" in portfolio_lines[715]
    assert (forum, mission) in related(built, "partOfProgramme")
    assert "(see more in section 1.4.)" in portfolio_lines[1396]  # line 1397: the Visual insights card
    assert (visual, forum) in related(built, "seeAlsoMaterial")
    assert {(visual, forum), (visual, mission)} <= related(built, "outputOf")  # lines 1397 and 1399
    assert 'as part of the national Mission "Climate Neutral City."' in portfolio_lines[1699]  # line 1700
    assert (klien, mission) in related(built, "partOfProgramme")
    assert '"Climate-neutral city"' in portfolio_lines[1815]  # line 1816
    assert (fit, mission) in related(built, "preparesFor")
    see_more = [r for r in relation_rows(built) if r["s"] == visual and r["kind"] == "see-also"]
    assert [(r["first"], r["last"]) for r in see_more] == [("1397", "1397")]
    assert see_more[0]["locator"].endswith("000_11870afa8f6afaf9.txt#line=1396,1397")


def test_dk2020_follow_up_and_craft(built: Built, portfolio_lines: list[str]) -> None:
    dk2020, monitoring = material_at(built, 959), material_at(built, 2748)  # lines 959 and 2748-2750
    assert "follow-up to the DK2020 initiative" in portfolio_lines[2749]
    assert related(built, "followsUp") == {(monitoring, dk2020)}
    craft, session, neb = material_at(built, 656), material_at(built, 2218), material_at(built, 1234)
    assert "This initiative is part of CrAft" in portfolio_lines[2221]  # line 2222
    assert {(session, craft), (craft, neb)} <= related(built, "partOfProgramme")
    # "is part of the New European Bauhaus (NEB) initiative" is printed on the three CrAFt cards
    printed = [n for n, text in enumerate(portfolio_lines, 1) if "is part of the New European Bauhaus (NEB)" in text]
    assert printed == [658, 1164, 2157]
    cited = {int(r["first"]) for r in relation_rows(built) if (r["s"], r["o"]) == (craft, neb)}
    assert cited == set(printed)


def test_viable_cities_and_the_programmes_that_work_with_it(built: Built, portfolio_lines: list[str]) -> None:
    viable = material_at(built, 803)
    assert "collaborates with national platforms like Viable Cities" in portfolio_lines[1194]  # line 1195
    assert (material_at(built, 1190), viable) in related(built, "collaboratesWith")
    assert "supported by Viable Cities" in portfolio_lines[1380]  # line 1381
    assert (material_at(built, 1379), viable) in related(built, "supportedByMaterial")


def test_the_other_direction_of_each_relation_is_inferred(built: Built, portfolio_lines: list[str]) -> None:
    """The asserted graph holds the direction the text states; OWL-RL adds the inverses to the inferred graph."""

    def inferred(prop: str) -> set[tuple[str, str]]:
        query = f"SELECT ?s ?o WHERE {{ GRAPH <{INFERRED}> {{ ?s cap:{prop} ?o }} }}"
        return {(r["s"], r["o"]) for r in built.select(query, union=False)}

    hub = material_at(built, 940)  # line 940: the Romanian M100 national hub; its parts at 1210, 1415, 845, 1437
    assert {(hub, material_at(built, card)) for card in (1210, 1415, 845, 1437)} <= inferred("hasProgrammePart")
    dk2020, monitoring = material_at(built, 959), material_at(built, 2748)  # 2750: "follow-up to the DK2020"
    assert "follow-up to the DK2020 initiative" in portfolio_lines[2749]
    assert inferred("followedUpBy") == {(dk2020, monitoring)}
    viable = material_at(built, 803)  # line 1195: "collaborates with national platforms like Viable Cities"
    assert (viable, material_at(built, 1190)) in inferred("collaboratesWith")


def test_every_relation_quotes_lines_that_print_it(built: Built, portfolio_lines: list[str]) -> None:
    rows = relation_rows(built)
    assert len({r["r"] for r in rows}) >= 20
    for row in rows:
        first, last = int(row["first"]), int(row["last"])
        assert fold(row["quote"]) in fold(" ".join(portfolio_lines[first - 1 : last])), row
        assert row["locator"].endswith(f"#line={first - 1},{last}")
    kinds = {r["kind"] for r in rows}
    assert {"part-of", "follow-up-of", "see-also", "output-of", "recorded-session-of"} <= kinds
    # a card pointing at another card of the same material: lines 550, 700 (to 1.1) and 2284 (to 1.2)
    same = built.select(
        """SELECT ?first ?to WHERE {
             ?r cap:relationSubject ?m ; cap:relationObject ?m ; cap:evidence/cap:firstLine ?first ;
                cap:objectAppearance/cap:inProblemStatement/skos:notation ?to }"""
    )
    assert {(r["first"], r["to"]) for r in same} == {("550", "1.1"), ("700", "1.1"), ("2284", "1.2")}
    assert "more information in subcategory 1.1" in portfolio_lines[549] and "(see also 1.2.)" in portfolio_lines[2283]


# -- recorded webinars ------------------------------------------------------------------------------


def recorded(built: Built, title: str) -> dict[str, str]:
    rows = built.select(
        f"""SELECT ?e ?m ?date ?printed ?caption ?label WHERE {{
              ?e schema:name "{title}"@en ; schema:eventAttendanceMode ?mode .
              OPTIONAL {{ ?e cap:recordedEventOf ?m }}
              OPTIONAL {{ ?e schema:startDate ?date }} OPTIONAL {{ ?e cap:dateAsPrinted ?printed }}
              OPTIONAL {{ ?e schema:recordedIn ?v . ?v schema:name ?caption ; cap:linkLabel ?label }} }}"""
    )
    assert rows, title
    return rows[0]


def test_recorded_webinars_are_linked_to_the_materials_they_record(built: Built, portfolio_lines: list[str]) -> None:
    line = {n: text.strip() for n, text in enumerate(portfolio_lines, 1)}
    # lines 3126-3136: the funding webinar, 24 May 2023, "click!", caption "Webinar Funding & Financing"
    funding = recorded(built, line[3126])
    assert funding["m"] == material_at(built, 1682)  # the 3.1 card, link label "Webinar: Funding and financing …"
    assert (funding["date"], funding["printed"]) == ("2023-05-24", line[3130]) and line[3130] == "24 May 2023"
    assert (
        (funding["label"], funding["caption"]) == (line[3134], line[3136]) == ("click!", "Webinar Funding & Financing")
    )
    # lines 3140-3144: the GHG webinar, 12 June 2023, presented by the cards at 2804 (6.2) and 2986 (6.5)
    ghg = recorded(built, line[3140])
    assert ghg["m"] == material_at(built, 2804) == material_at(built, 2986)
    assert ghg["date"] == "2023-06-12" and line[3144] == "12 June 2023"
    # line 3166: the first Climate City Contract workshop, no date printed; cards 1346 (2.4) and 1751 (3.2)
    ccc = recorded(built, line[3166])
    assert ccc["m"] == material_at(built, 1346) == material_at(built, 1751) and "date" not in ccc
    # lines 3182, 3190, 3198: the French Mirror Group's meeting (card 432) and two Viable Cities videos (card 803)
    assert recorded(built, line[3182])["m"] == material_at(built, 432)
    assert recorded(built, line[3190])["m"] == recorded(built, line[3198])["m"] == material_at(built, 803)
    # line 3154: the multi-level governance webinar of 20 June 2023 presents no card: linked to none, with the reason
    governance = recorded(built, line[3154])
    assert "m" not in governance and governance["date"] == "2023-06-20"
    assert built.ask(f"ASK {{ <{governance['e']}> cap:curationDecision ?why }}")


# -- hashtags of 2.6 and cities ---------------------------------------------------------------------------


def test_subcategory_2_6_has_the_three_hashtags_it_prints(built: Built, portfolio_lines: list[str]) -> None:
    heading = portfolio_lines.index("2.6 Governance models examples") + 1  # line 1523
    start = portfolio_lines.index("Hashtags:", heading)
    end = portfolio_lines.index("Key Challenges:", start)
    printed = {t.strip() for t in portfolio_lines[start + 1 : end] if t.strip()}
    assert printed == {"#GovernanceModels", "#ModelsOfGovernance", "#GovernanceKnowledgeExchange"}  # lines 1529-1533
    tags = built.column("SELECT ?l WHERE { id:challenge\\/2.6 cap:hasHashtag/skos:prefLabel ?l }", "l")
    assert tags == printed
    assert built.ask(
        """ASK { ?a skos:prefLabel "#ModelsOfGovernance" ; skos:related ?b . ?b skos:prefLabel "#GovernanceModels" }""",
    )
    assert not built.ask('ASK { ?c skos:altLabel "#ModelsOfGovernance" }')
    # neither is in the Hashtag Index (lines 214-274, up to "HOW TO DEFINE A PROBLEM STATEMENT" at 275)
    first = portfolio_lines.index("Index of #Hashtags")
    index = {
        t.strip() for t in portfolio_lines[first : portfolio_lines.index("HOW TO DEFINE A PROBLEM STATEMENT", first)]
    }
    assert "#Partnership" in index
    assert "#ModelsOfGovernance" not in index and "#GovernanceModels" not in index
    assert not built.ask(
        """ASK { id:collection\\/hashtag-index skos:member/skos:prefLabel ?l
                 FILTER(?l IN ("#ModelsOfGovernance", "#GovernanceModels")) }"""
    )


def test_city_iris_transliterate_and_the_old_ones_are_replaced(built: Built, portfolio_lines: list[str]) -> None:
    assert portfolio_lines[3321] == "Cities:\tKraków, Łódź, Warsaw, Wrocław, Rzeszów (Mission Cities)"  # line 3322
    expected = {"Kraków": "krakow", "Łódź": "lodz", "Warsaw": "warsaw", "Wrocław": "wroclaw", "Rzeszów": "rzeszow"}
    for name, slug in expected.items():
        assert built.ask(f'ASK {{ <{ID}city/{slug}> a cap:City ; skos:prefLabel "{name}" }}'), name
    for old, new in (
        ("city/odz", "city/lodz"),
        ("city/wrocaw", "city/wroclaw"),
        ("city-participation/pl/odz", "city-participation/pl/lodz"),
    ):
        assert built.ask(f"ASK {{ <{ID}{old}> <http://purl.org/dc/terms/isReplacedBy> <{ID}{new}> }}")
        assert not built.ask(f"ASK {{ <{ID}{old}> a ?type }}")
    cities = built.column("SELECT ?c WHERE { ?c a cap:City }", "c")
    assert all(re.fullmatch(r"[a-z0-9-]+", c.rsplit("/", 1)[1]) for c in cities)


def test_slugs_transliterate_letters_nfkd_would_drop() -> None:
    assert (
        slugify("Łódź") == "lodz" and slugify("Wrocław") == "wroclaw" and slugify("Øresund Straße") == "oresund-strasse"
    )
    assert slugify_untransliterated("Łódź") == "odz" and slugify_untransliterated("Wrocław") == "wrocaw"


# -- the curation file is checked against the text ----------------------------------------------------


@pytest.fixture(scope="module")
def sources():  # type: ignore[no-untyped-def]
    return read_sources(Settings().sources_dir)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "subject: m100-platform-project\n",
            "subject: m100-platfrom-project\n",
            "no material with id 'm100-platfrom-project'",
        ),
        ("{lines: 1417, quote:", "{lines: 9999, quote:", "not within lines 1-"),
        ("{lines: 1417, quote:", "{lines: 1416, quote:", "do not print"),
        ("    kind: follow-up-of\n", "    kind: sequel-of\n", "unknown kind 'sequel-of'"),
        (
            'recorded: "French Mirror Group - Sustainable Cities Action"',
            'recorded: "French Mirror Group"',
            "prints no item titled",
        ),
    ],
)
def test_bad_relation_entries_are_named_with_file_and_line(
    sources,
    tmp_path: Path,
    old: str,
    new: str,
    problem: str,  # type: ignore[no-untyped-def]
) -> None:
    curation_dir = tmp_path / "curation"
    shutil.copytree(ROOT / "data" / "curation", curation_dir)
    path = curation_dir / "relations.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    changed = text.replace(old, new, 1)
    path.write_text(changed, encoding="utf-8")
    with pytest.raises(CurationError) as raised:
        map_sources(sources, load_curation(curation_dir), ProjectNamespaces(Settings().base_iri))
    error = raised.value
    assert error.file == "relations.yaml" and problem in error.problem, error.problem
    assert error.line is not None and new.strip().split("\n")[0] in changed.split("\n")[error.line - 1] + "\n".join(
        changed.split("\n")[error.line - 1 : error.line + 3]
    )


# -- on a real server: redirects, material pages, the named query -------------------------------------------


@pytest.fixture(scope="module")
def server(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving("embedded", built.settings.build_dir, tmp_path_factory.mktemp("store")) as base:
        yield base


def test_old_city_iris_answer_with_a_permanent_redirect(server: str) -> None:
    # line 3322 prints Łódź and Wrocław; their IRIs were published as city/odz and city/wrocaw
    for old, new in (
        ("city/odz", "city/lodz"),
        ("city/wrocaw", "city/wroclaw"),
        ("city-participation/pl/wrocaw", "city-participation/pl/wroclaw"),
    ):
        response = httpx.get(f"{server}/id/{old}", headers={"Accept": "text/turtle"}, timeout=30)
        assert response.status_code == 301 and response.headers["location"] == f"/id/{new}", response.text
        assert (
            httpx.get(
                f"{server}{response.headers['location']}", headers={"Accept": "text/turtle"}, timeout=30
            ).status_code
            == 200
        )
    kept = httpx.get(f"{server}/id/city/odz", params={"format": "turtle"}, timeout=30)
    assert kept.status_code == 301 and kept.headers["location"] == "/id/city/lodz?format=turtle"
    page = httpx.get(f"{server}/id/city/lodz", headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200 and "Łódź" in page.text
    assert httpx.get(f"{server}/id/city/nowhere", timeout=30).status_code == 404


def test_material_pages_show_relations_and_recordings(server: str, portfolio_lines: list[str]) -> None:
    hub = httpx.get(f"{server}/id/material/m100-national-hub", headers={"Accept": "text/html"}, timeout=30)
    assert hub.status_code == 200
    html5lib.HTMLParser(strict=True).parse(hub.text)
    assert "Related in the text" in hub.text
    # line 1210 "M100 Platform", line 1212 "the second initiative developed under the M100 National Hub"
    assert "M100 Platform" in hub.text and "has part" in hub.text
    assert "the second initiative developed under the M100 National Hub" in hub.text
    # the quoted line, highlighted on the source text's page (line=1211,1212 in RFC 5147: line 1212)
    assert "/id/source/000_11870afa8f6afaf9.txt?lines=1212-1212#line-1212" in hub.text and "line 1212" in hub.text
    webinar = httpx.get(
        f"{server}/id/material/webinar-funding-and-financing", headers={"Accept": "text/html"}, timeout=30
    )
    html5lib.HTMLParser(strict=True).parse(webinar.text)
    # lines 3126-3136: the recorded webinar, "24 May 2023", recording "Webinar Funding & Financing", link "click!"
    assert "Recorded" in webinar.text and portfolio_lines[3125] in webinar.text
    assert (
        "24 May 2023" in webinar.text
        and "Webinar Funding &amp; Financing" in webinar.text
        and "“click!”" in webinar.text
    )
    visual = httpx.get(
        f"{server}/id/material/visual-insights-of-the-austrian-dialogforum-and-austrian-pioneer-cities",
        timeout=30,
        headers={"Accept": "text/html"},
    )
    assert "see also" in visual.text and "The Austrian Dialogue Forum (see more in section 1.4.)" in visual.text


def test_material_relations_named_query(server: str) -> None:
    rows = httpx.get(
        f"{server}/api/queries/material_relations", params={"material": ID + "material/dk2020"}, timeout=30
    ).json()
    # lines 2743, 2748, 2750: the monitoring system follows up DK2020
    follow = [r for r in rows if r["kind"] == "follow-up-of"]
    assert {r["direction"] for r in follow} == {"incoming"}
    assert {r["first_line"] for r in follow} == {2743, 2748, 2750}
    assert {r["other_title"] for r in follow} == {"Monitoring Municipal Climate Action (former DK2020)"}
    every = httpx.get(f"{server}/api/queries/material_relations", timeout=30).json()
    assert len(every) > len(rows) and {r["kind"] for r in every} >= {"part-of", "recorded-event-of"}
