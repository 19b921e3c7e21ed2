"""Pages for people about organisations, national platforms and their profiles, cities, countries, events and
recordings, and the generic page of every other kind: what a person reads there, checked against the source
text (data/sources/000_11870afa8f6afaf9.txt, "the portfolio"; line numbers in the comments)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import html5lib
import httpx
import pytest

from tests.conftest import Built
from tests.stores import serving

CURIE = re.compile(r"\b(cap|schema|skos|org|prov|dcterms|rdf|rdfs|owl|foaf):[A-Za-z]")


@pytest.fixture(scope="module")
def server(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving("embedded", built.settings.build_dir, tmp_path_factory.mktemp("store")) as base:
        yield base


def page(server: str, path: str) -> str:
    response = httpx.get(f"{server}/{path}", headers={"Accept": "text/html"}, timeout=30)
    assert response.status_code == 200, path
    html5lib.HTMLParser(strict=True).parse(response.text)
    return response.text


def visible(text: str) -> str:
    """What a person reads outside the collapsed data section: the text of <main> without tags."""
    main = re.split(r'<main id="main"[^>]*>', text, maxsplit=1)[1].split("</main>", 1)[0]
    main = re.sub(r'<details class="data">.*?</details>', "", main, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def outside_data(text: str) -> str:
    return re.sub(r'<details class="data">.*?</details>', "", text, flags=re.S)


def assert_for_people(text: str) -> None:
    words = visible(text)
    assert "https://w3id.org/" not in words and "http://publications.europa.eu" not in words
    assert not CURIE.search(words), CURIE.search(words)
    assert "<table" not in outside_data(text)  # the statements only in the collapsed data section


def test_organisation_roles_printed_names_and_renaming(server: str) -> None:
    text = page(server, "id/org/bmimi")
    words = visible(text)
    # line 3213: the Austrian profile's facilitator; line 3214: the core team (national level actors)
    assert "Facilitator in the National platform of Austria" in words
    assert "National level actor in the National platform of Austria" in words
    assert "“Federal Ministry of Innovation, Mobility and Infrastructure (BMIMI)”" in words  # as printed, line 3213
    # line 421: "*former Federal Ministry for Climate Policy, Environment, Energy, Mobility, Innovation, and
    # Technology (BMK)"
    assert "Renamed from" in words and 'href="/id/org/bmk"' in text
    assert "date not printed" in words
    assert 'href="/country/AUT"' in text and "Austria" in words
    assert_for_people(text)
    predecessor = visible(page(server, "id/org/bmk"))
    assert "Renamed to" in predecessor and "Federal Ministry of Innovation, Mobility and Infrastructure" in predecessor


def test_national_platform_members_and_cities(server: str) -> None:
    text = page(server, "id/platform/fi")
    words = visible(text)
    assert "Ministry of Economic Affairs and Employment" in words  # facilitator, line 3241
    # line 3244: "6 Mission Cities (Espoo, Helsinki, Lahti, Lappeenranta, Tampere, Turku) and Mission-minded cities
    # (Vaasa, Joensuu, Jyväskylä, Oulu, Vantaa)"
    for city in ("Espoo", "Helsinki", "Lahti", "Lappeenranta", "Tampere", "Turku", "Vaasa", "Joensuu", "Oulu"):
        assert city in words
    assert "6 of them Mission Cities" in words
    assert "Snapshot Profile of the National Platform: Finland" in words
    assert_for_people(text)


def test_platform_profile_cells_in_words(server: str) -> None:
    text = page(server, "id/profile/2026/at")
    words = visible(text)
    assert "Regional level actors N/A" in words  # line 3216
    assert "Level of formalisation (MoU)" in words and "created the Mission" in words  # line 3219
    assert "Salzburg Institute for Regional Planning and Housing" in words  # line 3214
    assert "Wiener Neustadt" in words  # line 3217
    assert "lines 3213–3222" in words  # the profile's own rows
    assert_for_people(text)


def test_city_pages_say_mission_city_or_not(server: str) -> None:
    izmir = visible(page(server, "id/city/izmir"))
    assert "names it a Mission City" in izmir and "Türkiye" in izmir  # line 3400: "Istanbul and Izmir (Mission Cities)"
    assert "National platform of Türkiye" in izmir
    graz_text = page(server, "id/city/graz")
    graz = visible(graz_text)
    # line 3217: Graz is one of the "10 large pioneer cities"; the profile does not call it a Mission City
    assert "does not name it a Mission City" in graz and "pioneer city" in graz
    assert_for_people(graz_text)


def test_country_page_headings_by_name_and_core_countries_rule(server: str) -> None:
    text = page(server, "country/AT")
    words = visible(text)
    assert "Multi-level Governance and Alignment" in words  # challenge 01's name, line 101
    assert ">01<" not in outside_data(text)
    # line 830: "Mapping of Governance Actors and Core Elements in Core Countries (CapaCITIES Deliverable 3.1)" is
    # printed for "CapaCITIES Core Countries": it counts for Austria, and the page says so
    assert "Mapping of Governance Actors and Core Elements in Core Countries" in words
    assert "includes 1 material for all core countries" in words
    assert "National platform of Austria" in words
    assert "Federal Ministry of Innovation, Mobility and Infrastructure" in words  # facilitator, line 3213
    assert_for_people(text)
    finland = visible(page(server, "country/FI"))
    assert "Espoo" in finland and "Mission City" in finland  # line 3244


def test_recorded_webinar_date_recording_and_materials(server: str) -> None:
    path = "id/event/recorded/capacities-webinar-funding-and-financing-for-climate-neutral-cities"
    text = page(server, path)
    words = visible(text)
    assert "24 May 2023" in words  # line 3130
    assert "How can the national level support cities?" in words  # line 3128
    assert "Webinar Funding &amp; Financing" in text  # the recording's caption, line 3136
    assert "Webinar: Funding and financing" in words  # the material the webinar records, line 1682
    assert_for_people(text)
    recording = visible(
        page(server, "id/recording/capacities-webinar-funding-and-financing-for-climate-neutral-cities")
    )
    assert "“click!”" in recording  # the link's label, line 3134
    assert "CapaCITIES Webinar: Funding and financing for climate neutral cities" in recording


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "id/role/facilitator",
            "Ministry of Economic Affairs and Employment: Facilitator in the National platform of Finland",
        ),
        ("id/scheme/roles", "Facilitator"),
        ("id/series/capacities-capacity-building-session-series", "Webinar: Funding and financing"),  # line 1682
        ("id/country-participation/ee", "Estonia"),
        ("id/city-participation/at/graz", "Graz"),
        ("id/membership/at/bmimi/facilitator", "National platform of Austria"),
        ("id/change/bmk-bmimi", "Federal Ministry of Innovation, Mobility and Infrastructure"),
        ("id/edition/2026", "CapaCITIES"),
        ("id/period/2020-2023", "2020"),
    ],
)
def test_generic_pages_read_in_words(server: str, path: str, expected: str) -> None:
    text = page(server, path)
    assert expected in visible(text)
    assert_for_people(text)


def test_bodies_with_names_in_two_languages_are_named_in_english(server: str) -> None:
    # ANCT is printed in English ("the National Agency for Territorial Cohesion (ANCT)", 000 l.436) and in French
    # ("Agence Nationale de Cohésion Territoriale", 000 l.2811); the pages speak English, and name it once (its own
    # page lists the French form among the names it is printed under)
    assert "<h1>National Agency for Territorial Cohesion</h1>" in page(server, "id/org/anct")
    text = visible(outside_data(page(server, "id/platform/fr")))
    assert "National Agency for Territorial Cohesion" in text and "Agence Nationale" not in text
    # once as a member (its name), once as the profile printed it ("… (ANCT)"): not once more in French
    assert text.count("National Agency for Territorial Cohesion") == 2 and text.count("(ANCT)") == 1
