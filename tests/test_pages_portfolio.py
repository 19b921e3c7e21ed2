"""Pages for people of the portfolio's own things: core challenges, problem statements, materials, deep dives,
lessons learned, hashtags, personas and glossary terms, and the /personas and /glossary guides.

Each page is fetched from a real server over a fresh build; what a person reads is checked against the source
text (data/sources/000_11870afa8f6afaf9.txt, the `portfolio_lines` fixture; each test cites the lines), and
every page shows its RDF statements only inside the collapsed data section, with no IRI or CURIE outside it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import html5lib
import httpx
import pytest

from tests.conftest import Built
from tests.stores import serving

SOURCE = "/id/source/000_11870afa8f6afaf9.txt"
DATA_SECTION = re.compile(r'<details class="data">.*?</details>', re.DOTALL)
TAG = re.compile(r"<[^>]+>")
CURIE = re.compile(r"\b(cap|capsh|id|skos|schema|dcterms|org|prov|rdf|rdfs|owl|foaf|dcat):[A-Za-z]")


@pytest.fixture(scope="module")
def server(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving("embedded", built.settings.build_dir, tmp_path_factory.mktemp("store")) as base:
        yield base


def page(server: str, path: str) -> str:
    """A page as HTML, checked to be well-formed HTML5 and to keep its statements in the data section."""
    response = httpx.get(server + path, headers={"Accept": "text/html"}, timeout=60)
    assert response.status_code == 200, (path, response.status_code)
    html5lib.HTMLParser(strict=True).parse(response.text)
    outside = DATA_SECTION.sub("", response.text)
    assert "<table" not in outside, f"{path}: a table outside the data section"
    visible = html.unescape(TAG.sub(" ", outside))
    assert "https://w3id.org/" not in visible, f"{path}: an IRI in the page's text"
    assert not CURIE.search(visible), f"{path}: a CURIE in the page's text: {CURIE.search(visible)}"
    return response.text


def main_text(text: str) -> str:
    """The words a person reads in the page's body (outside the data section), tags dropped, spaces collapsed."""
    body = DATA_SECTION.sub("", re.split(r'<main id="main"[^>]*>', text, maxsplit=1)[1].split("</main>", 1)[0])
    return " ".join(html.unescape(TAG.sub(" ", body)).split())


def test_core_challenge_page(server: str, portfolio_lines: list[str]) -> None:
    text = page(server, "/id/challenge/03")
    read = main_text(text)
    # line 1636 "Financing and Funding"; lines 1638-1640 its first three problem statements, "1. EU Funding
    # mechanisms", "2. Pre-Accession Assistance: roadmap and guidelines", "3. Flexible funding instruments ..."
    assert "<h1>Financing and Funding</h1>" in text and portfolio_lines[1635] == "Financing and Funding"
    for number, line in ((1, 1637), (2, 1638), (3, 1639)):
        name = portfolio_lines[line].split(". ", 1)[1].strip()
        assert f'<a href="/id/challenge/3.{number}">3.{number} {name}</a>' in text
    # line 1948: the deep dive of category 03 is the public-public partnership
    assert portfolio_lines[1947] == "PUBLIC PUBLIC PARTNERSHIP (PPP)" and "PUBLIC PUBLIC PARTNERSHIP (PPP)" in read
    assert 'href="/id/deep-dive/03"' in text
    governance = page(server, "/id/challenge/01")
    steps = re.findall(r"<li><strong>([^<]+)</strong>", governance.split("How to", 1)[1])
    # lines 1013-1017: the HOW TO steps of the Polish Cities Working Group, in print order
    printed = [re.match(r"- ✓ \*\*(.+?):\*\*", portfolio_lines[n])[1] for n in range(1012, 1017)]  # type: ignore[index]
    assert steps[:5] == printed
    # line 1021: the quote on the deep dive; line 980: the first lesson learned of category 01
    assert portfolio_lines[1020].strip("“”") in main_text(governance)
    assert "Effective Cross-Collaboration" in governance and portfolio_lines[979].startswith(
        "Effective Cross-Collaboration"
    )


def test_material_page_sums_up_and_prints_each_text_once(server: str, portfolio_lines: list[str]) -> None:
    text = page(server, "/id/material/greek-moc")
    read = main_text(text)
    summary = text.split('<dl class="summary">', 1)[1].split("</dl>", 1)[0]
    # line 466: "Memorandum of Cooperation (MoC)  Greece  2022"
    title, country, year = portfolio_lines[465].split("\t")[:3]
    assert f"<h1>{title}</h1>" in text
    assert f'<a href="/country/GRC">{country}</a>' in summary and year in summary
    # the five cards are printed under 1.1, 1.2, 1.5, 2.3 and 4.1 (lines 463, 560, 813, 1278, 2022)
    for notation in ("1.1", "1.2", "1.5", "2.3", "4.1"):
        assert f'href="/id/challenge/{notation}"' in summary
    assert 'href="/id/org/' in summary  # the partners link to their organisations' pages
    # the card of 1.1 runs from line 463 to 474: its source link
    assert f"{SOURCE}?lines=463-474#line-463" in text
    # line 566 and line 819 print the same long description (1.2 and 1.5 cards): the page shows it once
    assert portfolio_lines[565] == portfolio_lines[818]
    sentence = "One important strength of the MoC is that it is designed to scale from the beginning"
    assert sentence in portfolio_lines[565] and read.count(sentence) == 1
    # every card prints Greece and 2022: said once, above the cards
    shared = text.split("What every card says", 1)[1].split("</dl>", 1)[0]
    assert country in shared and year in shared


def test_problem_statement_page(server: str, portfolio_lines: list[str]) -> None:
    text = page(server, "/id/challenge/4.4")
    summary = text.split('<dl class="summary">', 1)[1].split("</dl>", 1)[0]
    # 4.4 belongs to core challenge 04, "Engagement of Stakeholders and Co-Creation" (line 101 lists it)
    assert '<a href="/id/challenge/04">Engagement of Stakeholders and Co-Creation</a>' in summary
    # line 2257 prints "#SMEs #PPP" under 4.4
    assert portfolio_lines[2256].split() == ["#SMEs", "#PPP"]
    assert '<a href="/id/hashtag/ppp">#PPP</a>' in text and '<a href="/id/hashtag/smes">#SMEs</a>' in text
    assert '<article class="card">' in text and 'href="/id/material/territorial-transition-clusters"' in text


def test_deep_dive_and_lesson_pages_link_back_to_their_challenge(server: str, portfolio_lines: list[str]) -> None:
    dive = page(server, "/id/deep-dive/01")
    # line 1011: "Form an Ad Hoc **Working Group of experts:**", the deep dive's headline
    assert "Form an Ad Hoc" in portfolio_lines[1010] and "Form an Ad Hoc Working Group of experts" in dive
    assert '<a href="/id/challenge/01">Multi-level Governance and Alignment</a>' in dive
    assert '<a href="/country/POL">Poland</a>' in dive
    empty = page(server, "/id/deep-dive/04")
    assert "in preparation" in empty and "<h1>Deep dive: Engagement of Stakeholders and Co-Creation</h1>" in empty
    lesson = page(server, "/id/lesson/01/1")
    # line 980: "Effective Cross-Collaboration: to enhance collective ability ...", a take-away about 1.1
    assert "<h1>Effective Cross-Collaboration</h1>" in lesson
    assert portfolio_lines[979].split(": ", 1)[1][:60] in lesson
    assert 'href="/id/challenge/1.1"' in lesson and f"{SOURCE}?lines=980-980#line-980" in lesson


def test_hashtag_pages_say_where_used_and_whether_indexed(server: str, portfolio_lines: list[str]) -> None:
    ppp = page(server, "/id/hashtag/ppp")
    # line 258: the Hashtag Index prints "#PPP (*Public Private/Public Partnership*)"; line 2257 prints it in 4.4
    assert portfolio_lines[257].strip() == "#PPP (*Public Private/Public Partnership*)"
    assert "Yes: the portfolio" in ppp and "Public Private/Public Partnership" in ppp
    assert '<a href="/id/challenge/4.4">4.4 ' in ppp
    # line 1063 prints #AccessibleInformation under 1.x; the Index (lines 214-258) does not list it
    assert "#AccessibleInformation" in portfolio_lines[1062]
    assert not any("#AccessibleInformation" in line for line in portfolio_lines[213:258])
    unlisted = page(server, "/id/hashtag/accessibleinformation")
    assert "No: it is printed under problem statements" in unlisted


def test_personas_index_and_persona_page(server: str, portfolio_lines: list[str]) -> None:
    index = page(server, "/personas")
    # lines 310, 314, 318: Rosalia, Kemal and Maria, each introduced by one sentence first
    for line, name in ((309, "Rosalia"), (313, "Kemal"), (317, "Maria")):
        first = portfolio_lines[line].split(". ", 1)[0]
        assert f'<a href="/id/persona/{name.lower()}">{name}</a>' in index and first in index
    maria = page(server, "/id/persona/maria")
    # line 318 describes Maria; her needs are answered by named problem statements, e.g. 3.1 EU Funding mechanisms
    assert portfolio_lines[317] in html.unescape(maria)
    assert '<a href="/id/challenge/3.1">EU Funding mechanisms</a>' in maria


def test_glossary_index_and_term_page(server: str, portfolio_lines: list[str]) -> None:
    glossary = page(server, "/glossary")
    assert '<h2 id="letter-C">C</h2>' in glossary and 'href="#letter-C"' in glossary
    # line 645 prints "Climate-neutral and Smart Cities mission (CNC mission)"
    assert "Climate-neutral and Smart Cities mission (CNC mission)" in portfolio_lines[644]
    assert '<a href="/id/glossary/cnc-mission">CNC mission</a>' in glossary
    assert "Climate-neutral and Smart Cities mission" in glossary
    term = page(server, "/id/glossary/cnc-mission")
    assert "<h1>CNC mission</h1>" in term and "stands for <strong>Climate-neutral and Smart Cities mission" in term
    # lines 2347 and 2447 print it again: linked to those lines of the source text
    assert "CNC mission" in portfolio_lines[2346] and "CNC mission" in portfolio_lines[2446]
    assert f"{SOURCE}?lines=2347-2347#line-2347" in term and f"{SOURCE}?lines=2447-2447#line-2447" in term
