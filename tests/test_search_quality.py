"""The search finds what people mean: stemmed, typo-tolerant, ranked, with snippets, named things and facets
with names, on the page and behind /api/materials?q= alike. Expected materials are read from the portfolio's
source text (data/sources/000_11870afa8f6afaf9.txt, cited by line), not from the code's output."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import httpx
import pytest

from tests.conftest import Built
from tests.server import running_server

MATERIAL = "https://w3id.org/capacities/lp/id/material/"

# the materials whose text says "webinar(s)"
WEBINARS = {
    "webinar-transnational-cities-mission-alliance",  # lines 574-579: "Webinar: Transnational Cities Mission Alliance"
    "webinar-climate-city-contract",  # lines 1343-1346: "Webinar: Mission Cities Climate City Contract's process"
    "webinar-funding-and-financing",  # lines 1679-1687: "Webinar: Funding and financing"
    "webinar-ghg-emissions-data",  # lines 2801-2806: "Webinar: GHG Emissions Data Monitoring and Reporting"
    "porto-energy-hub",  # line 2922: its type label "Online Resources (webinars, articles, etc.)"
    "training-courses-by-lisbon-energy-agency",  # lines 3057-3059: "the webinars and presentations Lisboa E-Nova have"
}
# the materials whose text says "funding"
FUNDING = {
    "webinar-funding-and-financing",  # line 1685: "What are the traditional sources of funding"
}
# Greece's materials: printed for Greece, for the CapaCITIES Core Countries (a group Greece belongs to: counted for
# each member country), or for a list of codes holding GR
GREECE = {
    "greek-moc",  # line 466: "Memorandum of Cooperation (MoC)	Greece	2022"
    "climate-neutral-cities-challenge-2025-innovation-programme",  # line 2302: "…Innovation Programme	Greece	2025"
    # line 830: "Mapping of Governance Actors and Core Elements in Core Countries …	CapaCITIES Core Countries	2023"
    "mapping-of-governance-actors-and-core-elements-in-core-countries-capacities-deli",
    # line 892: "Mapping of national and regional city collaboration (NetZeroCities Deliverable 5.9)	AT, …, GR, …"
    "mapping-of-national-and-regional-city-collaboration-netzerocities-deliverable-5",
}


@pytest.fixture(scope="module")
def server(built: Built) -> Iterator[str]:
    with running_server(built.settings.build_dir) as base:
        yield base


def api(server: str, **params: object) -> dict:
    answer = httpx.get(server + "/api/materials", params={"per_page": 100, **params}, timeout=60)
    assert answer.status_code == 200, answer.text[:300]
    body: dict = answer.json()
    return body


def ids(body: dict) -> list[str]:
    return [item["id"] for item in body["items"]]


def page(server: str, **params: object) -> str:
    answer = httpx.get(server + "/search", params=params, timeout=60)
    assert answer.status_code == 200, answer.text[:300]
    return answer.text


def result_paths(html: str) -> list[str]:
    results = html.split('class="results cards"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'<li class="card"><a href="/id/material/([^"]+)"', results)


def test_webinar_and_webinars_find_the_same_materials(server: str) -> None:
    singular, plural = api(server, q="webinar"), api(server, q="webinars")
    assert set(ids(singular)) == set(ids(plural))
    assert set(ids(singular)) >= WEBINARS
    assert "did_you_mean" not in singular


def test_a_typo_is_corrected_and_said(server: str) -> None:
    typo, right = api(server, q="fundng"), api(server, q="funding")
    assert typo["did_you_mean"] == "funding"
    assert ids(typo) == ids(right) and set(ids(typo)) >= FUNDING
    html = page(server, q="fundng")
    assert "Showing results for <strong>funding</strong>" in html
    assert set(result_paths(html)) >= FUNDING
    assert "did_you_mean" not in right


def test_greece_offers_the_country_and_finds_its_materials(server: str) -> None:
    assert set(ids(api(server, q="Greece"))) >= GREECE
    assert set(ids(api(server, country="GR"))) == GREECE  # the counting rule, on the filter too
    html = page(server, q="Greece")
    suggestions = html.split('class="suggestions"', 1)[1].split("</section>", 1)[0]
    assert '<a href="/country/GR">Greece</a>' in suggestions
    assert f"{len(GREECE)} materials" in suggestions
    assert set(result_paths(html)) >= GREECE


def test_helsinki_offers_the_city_and_its_national_platform(server: str) -> None:
    html = page(server, q="Helsinki")
    suggestions = html.split('class="suggestions"', 1)[1].split("</section>", 1)[0]
    assert '<a href="/id/city/helsinki">Helsinki</a>' in suggestions  # line 3244: Finland's Mission Cities
    assert '<a href="/country/FI">Finland</a>' in suggestions
    assert "National platform of Finland" in suggestions  # line 3239: "Core Country: Finland", its profile
    # line 2384: the Finnish Cities Mission Network's card lists Helsinki among its national partners
    assert "climate-mission-finland-2030-finnish-cities-mission-network" in ids(api(server, q="Helsinki"))
    assert '<a href="/id/city/helsinki">' in page(server, q="hels")  # a prefix is enough


def test_snippets_mark_the_matched_words_and_escape_the_text(server: str) -> None:
    items = api(server, q="webinar")["items"]
    assert all("<mark>" in item["snippet"] for item in items)
    # line 1350: "…to participate in a session of Q&A with two representatives…": the ampersand is escaped
    found = api(server, q="representatives")["items"]
    contract = next(item for item in found if item["id"] == "webinar-climate-city-contract")
    assert "Q&amp;A" in contract["snippet"] and "<mark>representatives</mark>" in contract["snippet"]
    # line 468: "…signed a **Memorandum of Cooperation (MoC)** between…": the emphasis marks are not shown
    bold = next(item for item in api(server, q="Memorandum Cooperation")["items"] if item["id"] == "greek-moc")
    assert "<mark>Memorandum</mark> of <mark>Cooperation</mark> (MoC)" in bold["snippet"] and "*" not in bold["snippet"]
    hostile = api(server, q="<script>alert(1)</script> webinar")
    assert "<script" not in str(hostile)
    assert "<mark>" in page(server, q="webinar")


def test_sorting(server: str) -> None:
    by_title = api(server, q="climate", sort="title")["items"]
    assert [i["title"].casefold() for i in by_title] == sorted(i["title"].casefold() for i in by_title)
    newest = api(server, q="climate", sort="-year")["items"]
    latest = [max(i["years"]) if i["years"] else -1 for i in newest]
    assert latest == sorted(latest, reverse=True) and len(set(latest)) > 2
    ranked = api(server, q="bauhaus")["items"]
    assert ranked[0]["title"] == "The New European Bauhaus (NEB)"  # line 1234: the word is in its title
    assert [i["score"] for i in ranked] == sorted((i["score"] for i in ranked), reverse=True)
    html = page(server, q="climate", sort="-year")
    assert '<option value="-year" selected>' in html
    years = [
        max(map(int, y.split(", ")))
        for y in re.findall(r'<span class="meta">[^<]*· (\d{4}(?:, \d{4})*)</span>', html.split('class="results', 1)[1])
    ]
    assert years and years == sorted(years, reverse=True)


def test_facets_and_chips_show_names(server: str) -> None:
    html = page(server, category="03", country="AT")
    facets = html.split('<details class="facets"', 1)[1].split("</details>", 1)[0]
    assert "03 Financing and Funding" in facets  # lines 75-77: core challenge 03
    assert ">Austria</a>" in facets and ">AT</a>" not in facets
    subcategories = re.findall(r">(\d\.\d [^<]+)</a>", facets)
    assert subcategories and all(len(s) > 5 for s in subcategories)
    chips = unescape(html.split('class="chips"', 1)[1].split("</div>", 1)[0])
    assert "Core challenge: 03 Financing and Funding" in chips and "Country: Austria" in chips
    removal = re.search(r'<a class="chip" href="([^"]+)">Country: Austria', html)
    assert removal and "country" not in unescape(removal.group(1)) and "category=03" in unescape(removal.group(1))
    whole = page(server)
    assert "3.4 Approaches to funding" in whole  # line 1841


def test_the_api_and_the_page_agree(server: str) -> None:
    for q in ("climate", "webinars", "fundng", "Greece"):
        listed = ids(api(server, q=q, per_page=20))
        assert result_paths(page(server, q=q)) == listed, q


def test_the_phone_gets_folded_facets(server: str) -> None:
    html = page(server, q="climate")
    assert '<details class="facets"' in html and "<summary>" in html
    assert '<script src="/static/search.js" defer></script>' in html
    script = httpx.get(server + "/static/search.js", timeout=30)
    assert script.status_code == 200 and "details.facets" in script.text


def test_a_correction_is_offered_only_when_it_finds_something(server: str) -> None:
    # "fundng" alone is corrected to "funding" (above); with a word found nowhere beside it, nothing is found
    # either way, so the page says so and offers no "did you mean" that would find nothing
    nothing = api(server, q="fundng xyzzyq")
    assert nothing["total"] == 0 and "did_you_mean" not in nothing
    # two edits are too many for a short word: "covid" (in no material of the text) is not read as "civil"
    assert "did_you_mean" not in api(server, q="covid")


def test_characters_the_index_drops_do_not_empty_a_search(server: str) -> None:
    plain = {item["iri"] for item in api(server, q="webinar")["items"]}
    assert plain and {item["iri"] for item in api(server, q="webinar _ __")["items"]} == plain
    # many words are searched as the first twelve distinct ones, not refused and not slower without bound
    many = " ".join(["webinar"] * 30 + [f"w{i}" for i in range(40)])
    assert httpx.get(server + "/api/materials", params={"q": many[:200]}, timeout=60).status_code == 200
