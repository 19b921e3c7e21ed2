"""The site for people: a home page that explains and links the ways in, pictures with their tables behind them,
counts that agree between the map, the pages and the API, and a design system served from here (nothing from
another host)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, Built
from tests.stores import serving

SOURCE = ROOT / "data" / "sources" / "000_11870afa8f6afaf9.txt"


@pytest.fixture(scope="module")
def site(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving("embedded", built.settings.build_dir, tmp_path_factory.mktemp("design")) as base:
        yield base


def page(site: str, path: str) -> str:
    response = httpx.get(site + path, timeout=30)
    assert response.status_code == 200, path
    return response.text


class Links(HTMLParser):
    """Every href and src of a page, and the text of each link."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.anchors: dict[str, str] = {}
        self._open: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("href", "src"):
            if found.get(name):
                self.refs.append(str(found[name]))
        if tag == "a" and found.get("href"):
            self._open, self._text = str(found["href"]), []

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open:
            self.anchors.setdefault(self._open, " ".join("".join(self._text).split()))
            self._open = None


def links(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


def test_home_explains_and_links_the_ways_in(site: str) -> None:
    html = page(site, "/")
    text = re.sub(r"<[^>]+>", "", html)
    # the portfolio's own "HOW TO USE THE LEARNING PORTFOLIO", 000_11870afa8f6afaf9.txt lines 182-208:
    # its four step titles (lines 186, 192, 198, 204) and a sentence of each, quoted as printed
    source = SOURCE.read_text(encoding="utf-8").splitlines()
    assert source[181] == "HOW TO USE THE LEARNING PORTFOLIO"
    for title_line, body_line in ((186, 188), (192, 194), (198, 200), (204, 206)):
        assert source[title_line - 1] in text
        assert re.sub(r"\*\*", "", source[body_line - 1]) in text.replace("&#34;", '"').replace("&quot;", '"')
    anchors = links(html).anchors
    # the six core challenges by name (lines 101-139), each linking its page
    for notation, title in [
        ("01", "Multi-level Governance and Alignment"),
        ("02", "Capacity Building and Skills"),
        ("03", "Financing and Funding"),
        ("04", "Engagement of Stakeholders and Co-Creation"),
        ("05", "Regulation and Legislation"),
        ("06", "Monitoring and Reporting"),
    ]:
        assert anchors.get(f"/id/challenge/{notation}") == title
    for path in ("/countries", "/hashtags", "/personas", "/reused", "/search"):
        assert path in anchors, path
    # the three personas (Kemal, Maria, Rosalia in the portfolio's persona pages)
    persona_names = {v for k, v in anchors.items() if k.startswith("/id/persona/")}
    assert persona_names == {"Kemal", "Maria", "Rosalia"}
    persona_links = re.findall(r'<a href="(/id/persona/[^"]+)"', html.split("/personas", 1)[1])
    assert sorted(set(persona_links)) == sorted(persona_links) and len(persona_links) == 3  # one card each
    assert "/id/hashtag/" in html  # the most used hashtags link their pages
    assert "<svg" in html and 'class="chart chart-map"' in html  # the map is on the home page
    assert "triples" not in text and "14753" not in text and " cards" not in text  # no jargon for people
    assert "<title>Home ·" in html


def test_navigation(site: str) -> None:
    html = page(site, "/hashtags")
    anchors = links(html.split('id="site-menu"')[1].split("</nav>")[0]).anchors
    for path, name in {
        "/": "Home",
        "/#challenges": "Challenges",
        "/search": "Search",
        "/countries": "Countries",
        "/hashtags": "Hashtags",
        "/personas": "Personas",
        "/glossary": "Glossary",
        "/reused": "Reused materials",
        "/contributions": "Contribute",
        "/editor": "SPARQL editor",
        "/api": "API",
        "/ontology": "Ontology",
        "/.well-known/void": "Dataset",
    }.items():
        assert anchors.get(path) == name, path


def _map_counts(html: str) -> dict[str, tuple[str, int]]:
    """code → (name, count) read from the map's country links and their <title>s."""
    found = {}
    for code, name, count in re.findall(
        r'<a href="/country/([A-Z]{2})" class="map-country"[^>]*><path [^>]*><title>([^<:]+): (\d+) materials?</title>',
        html,
    ):
        found[code] = (name, int(count))
    return found


def test_map_and_counts_agree_everywhere(site: str) -> None:
    listed = {r["code"]: r for r in httpx.get(site + "/api/countries", timeout=30).json()}
    html = page(site, "/countries")
    drawn = _map_counts(html)
    with_materials = {code for code, r in listed.items() if r["materials"] and code != "EU"}
    assert set(drawn) == with_materials  # one linked path per country with materials, no other
    for code, (name, count) in drawn.items():
        assert (name, count) == (listed[code]["name"], listed[code]["materials"])
    # the table on /countries says the same, and so does the country's own list of materials
    rows = dict(
        re.findall(r'<a href="/country/([A-Z]{2})">[^<]+</a></td><td class="ecl-table__cell number">(\d+)', html)
    )
    for code, record in listed.items():
        assert int(rows[code]) == record["materials"], code
        total = httpx.get(site + "/api/materials", params={"country": code, "per_page": 1}, timeout=30).json()["total"]
        assert total == record["materials"], code
    # Romania: 7 material rows name it in their country cell (000_11870afa8f6afaf9.txt lines 845, 940, 1090, 1110,
    # 1210, 1415, 1437), one lists RO among its codes (line 892), and one is for "CapaCITIES Core Countries"
    # (line 830), the 15 of line 174 and line 645, Romania among them: 9, one of them through the group
    assert listed["RO"]["materials"] == 9 and listed["RO"]["via_group"] == 1
    assert drawn["RO"] == ("Romania", 9)
    assert "includes 1 for all 15 core countries" in html
    # a country that is not a core country has no group material: Denmark (lines 959, 1900, 2105, 2748 name it)
    assert listed["DK"]["via_group"] == 0
    # countries with no materials are drawn grey and not linked (Ukraine: a supporting country, line 645, no row)
    assert 'data-code="UA"' in html and '<a href="/country/UA"' not in html.split("</svg>")[0]


def test_charts_have_tables_behind_them(site: str) -> None:
    html = page(site, "/")
    figures = re.findall(r'<figure class="chart[^"]*" id="([^"]+)">(.*?)</figure>', html, re.S)
    assert {ident for ident, _ in figures} == {"chart-challenges", "home-map", "chart-years"}
    for ident, body in figures:
        assert re.search(rf'<svg [^>]*role="(img|group)" aria-labelledby="{ident}-title {ident}-desc"', body)
        assert f'<title id="{ident}-title">' in body and f'<desc id="{ident}-desc">' in body
        assert "<figcaption>" in body and "<details" in body and "<table" in body
    challenges = dict(figures)["chart-challenges"]
    table = dict(
        re.findall(
            r'<tr><th scope="row"><a href="/id/challenge/\d\d">([^<]+)</a></th><td class="number">(\d+)', challenges
        )
    )
    for notation in ("01", "02", "03", "04", "05", "06"):
        total = httpx.get(site + "/api/materials", params={"category": notation, "per_page": 1}, timeout=30).json()
        name = next(
            c["title"] for c in httpx.get(site + "/api/categories", timeout=30).json() if c["notation"] == notation
        )
        assert int(table[name]) == total["total"]
    # Regulation and Legislation (05, lines 134-137) prints no material yet: "In Progress" (line 170)
    assert table["Regulation and Legislation"] == "0"
    years = dict(figures)["chart-years"]
    year_rows = dict(
        re.findall(r'<tr><th scope="row"><a href="/search\?year=(\d{4})">\d{4}</a></th><td class="number">(\d+)', years)
    )
    assert year_rows
    for year, count in year_rows.items():
        total = httpx.get(
            site + "/api/materials", params={"year_from": year, "year_to": year, "per_page": 1}, timeout=30
        ).json()["total"]
        assert int(count) == total, year


def test_reused_heat_map_has_names_legend_and_caption(site: str) -> None:
    html = page(site, "/reused")
    heat = html.split('<table class="heatmap">')[1].split("</table>")[0]
    assert '<a href="/id/challenge/05">Regulation and Legislation</a>' in heat
    assert '<a href="/country/RO">Romania</a>' in heat and "<caption>" in heat
    assert 'class="legend"' in html
    # Romania's row: the counts per challenge add up to at least its 9 materials (a material under several
    # challenges counts in each), and the core-countries material (line 830, under 1.2) is among them
    row = heat.split('<a href="/country/RO">Romania</a></th>')[1].split("</tr>")[0]
    numbers = [int(n) for n in re.findall(r">(\d+)</td>", row)]
    assert sum(numbers) >= 9


def test_design_system_is_served_from_here(site: str) -> None:
    css = httpx.get(site + "/static/ecl/ecl-eu.css", timeout=30)
    assert css.status_code == 200 and "ecl-site-header" in css.text and "@ecl/preset-eu - 5.3.1" in css.text
    assert "sourceMappingURL" not in css.text
    licence = Path(ROOT / "api/views/static/ecl/LICENSE").read_text(encoding="utf-8")
    assert "European Union Public Licence" in licence
    for path in (
        "/",
        "/countries",
        "/reused",
        "/hashtags",
        "/search?q=funding",
        "/country/RO",
        "/editor",
        "/id/challenge/01",
    ):
        html = page(site, path)
        loaded = re.findall(r'<link rel="stylesheet" href="([^"]+)"|<(?:script|img)[^>]+src="([^"]+)"', html)
        assert loaded
        for asset in ("".join(pair) for pair in loaded):
            assert asset.startswith("/static/"), (path, asset)
            assert httpx.get(site + asset, timeout=30).status_code == 200, asset
    for asset in re.findall(r"url\(([^)]+)\)", css.text):
        assert asset.strip("\"'").startswith("data:"), asset  # the ECL stylesheet fetches nothing either


def test_menu_folds_on_a_phone(site: str) -> None:
    css = httpx.get(site + "/static/site.css", timeout=30).text
    narrow = css.split("@media (max-width: 61.99rem)")[1]
    assert (
        ".site-menu { display: none; }" in narrow
        and ".site-menu:target, .site-menu.is-open { display: block; }" in narrow
    )
    html = page(site, "/")
    assert '<a class="menu-toggle ecl-button ecl-button--tertiary" href="#site-menu"' in html
    assert httpx.get(site + "/static/menu.js", timeout=30).status_code == 200


def test_reuse_across_challenges_is_a_picture_with_its_numbers(site: str) -> None:
    """The pairs of core challenges that share materials: the Memorandum of Cooperation is printed under 1.1, 1.2,
    1.5 (lines 463, 560, 813), 2.3 and 4.1, so challenges 1, 2 and 4 share it; DK2020 under 1.6 (line 954) and
    3.4 (line 1897), so 1 and 3 share it. Each cell counts the materials listed in the table above it."""
    html = page(site, "/reused")
    table = html.split('<table class="heatmap shared">')[1].split("</table>")[0]
    assert "<caption>" in table and '<a href="/id/challenge/04">' in table

    def cell(row: str, column: int) -> int:
        cells = re.findall(
            r"<td[^>]*>([^<]*)</td>", table.split(f'<a href="/id/challenge/{row}">')[2].split("</tr>")[0]
        )
        return int(cells[column - 1]) if cells[column - 1].strip().isdigit() else 0

    for first, second in (("01", 2), ("01", 4), ("02", 4), ("01", 3)):
        assert cell(first, second) >= 1, (first, second)
        assert cell(f"0{second}", int(first)) == cell(first, second)  # the matrix is symmetric
    listed = httpx.get(site + "/api/queries/materials_reused_across_categories", timeout=30).json()
    both = sum(1 for row in listed if {"01", "02"} <= set(row["categories"]))
    assert cell("01", 2) == both
