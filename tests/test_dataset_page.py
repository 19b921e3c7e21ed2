"""The dataset description's pages read as a data portal's page: names, downloads with sizes, parts;
the RDF statements only in the collapsed data section."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from bs4 import BeautifulSoup

from tests.conftest import Built
from tests.stores import serving


@pytest.fixture(scope="module")
def server(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving("embedded", built.settings.build_dir, tmp_path_factory.mktemp("store")) as base:
        yield base


def page(server: str, path: str) -> BeautifulSoup:
    response = httpx.get(server + path, headers={"Accept": "text/html"}, timeout=30)
    assert response.status_code == 200, path
    return BeautifulSoup(response.text, "html.parser")


def outside_data(soup: BeautifulSoup) -> BeautifulSoup:
    for section in soup.select("details.data"):
        section.decompose()
    return soup


def test_dataset_page_names_publisher_contact_and_themes(server: str) -> None:
    soup = page(server, "/id/dataset/lp-kg")
    summary = {dt.get_text(strip=True): dt.find_next_sibling("dd") for dt in soup.select("dl.summary dt")}
    assert summary["Publisher"].get_text(strip=True) == "CapaCITIES Consortium"
    # data/curation/dataset.yaml: the contact printed on the portfolio's last pages (000 l.3417-3419)
    assert "capacities@dutpartnership.eu" in summary["Contact"].get_text()
    assert "Regions and cities" in summary["Themes"].get_text()
    # the edition by its name, not its IRI's last segment
    assert "Learning Portfolio" in summary["Derived from"].get_text()


def test_downloads_are_listed_by_name_with_sizes_that_download(server: str) -> None:
    soup = page(server, "/id/dataset/lp-kg")
    rows = soup.select("table tbody tr")
    downloads = [row for row in rows if row.find("a", string="Download")]
    assert len(downloads) == 4  # Turtle, TriG, N-Quads, JSON-LD dumps
    for row in downloads:
        size = row.find_all("td")[0].get_text(strip=True)
        assert re.fullmatch(r"[\d.,]+ (KB|MB|bytes)", size), size
        href = row.find("a", string="Download")["href"]
        assert httpx.head(server + href, timeout=30).status_code == 200, href
    assert any(row.find("a", string="Query") for row in rows)  # the SPARQL endpoint


def test_no_statement_table_or_iri_outside_the_data_section(server: str) -> None:
    for path in ("/id/dataset/lp-kg", "/id/catalog", "/id/dataset/lp-kg/linkset/wikidata"):
        soup = outside_data(page(server, path))
        main = soup.find("main")
        assert main is not None
        assert not main.find("caption", string=re.compile("What the graph says")), path
        text = main.get_text(" ")
        assert "https://w3id.org/" not in text and "dcat:" not in text, path


def test_keywords_and_kinds_are_folded_away(server: str) -> None:
    soup = page(server, "/id/dataset/lp-kg")
    folded = [d.find("summary").get_text(" ", strip=True) for d in soup.select("main details")]
    assert any("keywords" in text for text in folded)
    assert any("kinds of things" in text for text in folded)
    assert soup.select_one("details.data") is not None and not soup.select_one("details.data").has_attr("open")


def test_a_browser_asking_for_the_void_description_gets_the_dataset_page(server: str) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    response = httpx.get(server + "/.well-known/void", headers=browser, timeout=30)
    assert response.status_code == 303 and response.headers["location"] == "/id/dataset/lp-kg"
    assert "Accept" in response.headers["vary"]
    # machines keep their RDF: no Accept, an RDF type, or format= even from a browser
    assert httpx.get(server + "/.well-known/void", timeout=30).headers["content-type"].startswith("text/turtle")
    named = httpx.get(server + "/.well-known/void", params={"format": "jsonld"}, headers=browser, timeout=30)
    assert named.status_code == 200 and named.headers["content-type"].startswith("application/ld+json")
