"""What a person sees, in headless Chromium (Debian's chromium + chromedriver, driven by Selenium).

scripts/test.sh installs both from Debian when they are missing. Screenshots of every step are
saved under test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser import chromium
from tests.conftest import ROOT, Built
from tests.server import running_server

SHOTS = ROOT / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def server(built: Built) -> Iterator[str]:
    with running_server(built.settings.build_dir) as base:
        yield base


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield from chromium(tmp_path_factory.mktemp("chromium"))


def shot(browser: webdriver.Chrome, name: str) -> None:
    browser.save_screenshot(str(SHOTS / f"{name}.png"))


def heading(browser: webdriver.Chrome) -> str:
    return browser.find_element(By.TAG_NAME, "h1").text


def test_navigate_category_subcategory_material(browser: webdriver.Chrome, server: str) -> None:
    browser.get(server + "/")
    shot(browser, "01-home")
    assert heading(browser) == "The CapaCITIES Learning Portfolio"
    browser.find_element(By.LINK_TEXT, "Multi-level Governance and Alignment").click()  # the first core challenge
    assert heading(browser) == "Multi-level Governance and Alignment"
    shot(browser, "02-category")
    browser.find_element(  # the problem statement, numbered as the portfolio numbers it
        By.LINK_TEXT, "1.2 Towards lesser fragmentation: clarification of roles, budget and targets"
    ).click()
    assert heading(browser).startswith("Towards lesser fragmentation")
    shot(browser, "03-subcategory")
    materials = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "main .cards a")]
    assert "Memorandum of Cooperation (MoC)" in materials  # line 564 prints it in 1.2
    browser.find_element(By.LINK_TEXT, "Memorandum of Cooperation (MoC)").click()
    assert heading(browser) == "Memorandum of Cooperation (MoC)"
    cards = browser.find_elements(By.CSS_SELECTOR, ".cards article")
    assert len(cards) == 5  # 1.1, 1.2, 1.5, 2.3, 4.1
    assert "Governance Initiative: A New Approach" in browser.find_element(By.CSS_SELECTOR, ".cards").text
    shot(browser, "04-material")


def test_faceted_search(browser: webdriver.Chrome, server: str) -> None:
    browser.get(server + "/search")
    box = browser.find_element(By.ID, "q")
    box.send_keys("energy")
    box.submit()
    WebDriverWait(browser, 10).until(ready.url_contains("q=energy"))
    before = len(browser.find_elements(By.CSS_SELECTOR, "ol.results li"))
    shot(browser, "05-search")
    facets = "//details[contains(@class, 'facets')]"
    browser.find_element(
        By.XPATH, f"{facets}//h2[text()='Country']/following-sibling::ul//a[text()='Portugal']"
    ).click()
    WebDriverWait(browser, 10).until(ready.url_contains("country=PT"))
    results = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "ol.results li a")]
    assert 0 < len(results) < before
    assert any("Porto Energy Hub" in title for title in results)  # lines 2925, 3037
    shot(browser, "06-search-facet")
    browser.set_window_size(390, 844)  # on a phone the facets fold away (api/views/static/search.js)
    try:
        browser.refresh()
        assert browser.find_element(By.CSS_SELECTOR, "details.facets").get_attribute("open") is None
        shot(browser, "06-search-phone")
    finally:
        browser.set_window_size(1280, 1000)


def test_sparql_editor_runs_an_example(browser: webdriver.Chrome, server: str) -> None:
    browser.get(server + "/editor")
    WebDriverWait(browser, 20).until(lambda b: b.execute_script("return !!window.capacitiesEditor"))
    Select(browser.find_element(By.ID, "example")).select_by_index(0)
    browser.find_element(By.ID, "load-example").click()
    WebDriverWait(browser, 30).until(
        lambda b: "Memorandum of Cooperation (MoC)" in b.find_element(By.ID, "yasgui").text
    )
    shot(browser, "07-editor")
    assert "CrAFt (Creating Actionable Futures) platform" in browser.find_element(By.ID, "yasgui").text


def test_sparql_editor_completes_the_project_s_terms_offline(browser: webdriver.Chrome, server: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    browser.get(server + "/editor")
    WebDriverWait(browser, 20).until(lambda b: b.execute_script("return !!window.capacitiesEditor"))
    # the predeclared prefixes are listed, and YASQE does not flag a query that uses them undeclared
    assert "cap: <https://w3id.org/capacities/lp/ontology#>" in browser.execute_script(
        "return document.getElementById('prefix-list').textContent"
    )
    browser.execute_script(
        "const y = window.capacitiesEditor.getTab().getYasqe();"
        "y.setValue('SELECT ?t WHERE { ?m a cap:LearningMaterial ; dcterms:title ?t }'); y.checkSyntax();"
    )
    assert browser.find_elements(By.CSS_SELECTOR, "#yasgui .parseErrorIcon") == []
    browser.execute_script(
        "const y = window.capacitiesEditor.getTab().getYasqe();"
        "y.setValue('SELECT * WHERE {\\n  ?m a '); y.focus(); y.setCursor({line: 1, ch: 7});"
    )
    ActionChains(browser).send_keys("cap:").perform()
    # read in one script: the list is drawn again as completions arrive, and an element found in one call
    # can be gone by the next (CI once failed on a stale element here)
    hints = WebDriverWait(browser, 10).until(
        lambda b: (
            b.execute_script(
                "return [...document.querySelectorAll('.CodeMirror-hints li')].map(e => e.innerText.trim())"
            )
            or None
        )
    )
    shot(browser, "09-editor-completion")
    assert any(hint.startswith("cap:LearningMaterial") for hint in hints), hints
    assert all(hint.startswith("cap:") for hint in hints), hints
    # nothing the page loaded came from anywhere but this server
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(server + "/") for url in loaded), loaded


def test_sparql_editor_shows_an_error_in_words_at_its_line(browser: webdriver.Chrome, server: str) -> None:
    browser.get(server + "/editor")
    WebDriverWait(browser, 20).until(lambda b: b.execute_script("return !!window.capacitiesEditor"))
    browser.execute_script(
        "const tab = window.capacitiesEditor.getTab();"
        "tab.getYasqe().setValue('SELECT *\\nWHERE {\\n  ?s foo:bar ?o }'); tab.query();"
    )
    box = WebDriverWait(browser, 30).until(
        lambda b: b.find_element(By.ID, "query-error") if b.find_element(By.ID, "query-error").is_displayed() else None
    )
    shot(browser, "10-editor-error")
    # foo: starts at line 3, column 6 of the query typed above
    assert "Unknown prefix 'foo:' at line 3, column 6" in box.text
    assert "Line 3, column 6" in box.text
    assert "{" not in box.text  # words, not a JSON document
    # read in one script: CodeMirror draws its lines again at will, and CI once read a line it had just replaced
    marked = browser.execute_script(
        "return [...document.querySelectorAll('#yasgui .query-error-line')].map(line => line.textContent)"
    )
    assert len(marked) == 1 and "foo:bar" in marked[0], marked


GREEK_MOC = "<https://w3id.org/capacities/lp/id/material/greek-moc>"


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        # a CONSTRUCT, its prefixes left to the endpoint: the triples, with the card's title (lines 560-572)
        (
            f"CONSTRUCT {{ ?m dcterms:title ?t }} WHERE {{ BIND({GREEK_MOC} AS ?m) ?m dcterms:title ?t }}",
            "Memorandum of Cooperation (MoC)",
        ),
        (f"DESCRIBE {GREEK_MOC}", "id:material/greek-moc"),  # its triples, the subject named short
        (f"ASK {{ {GREEK_MOC} a cap:LearningMaterial }}", "True"),
    ],
    ids=["construct", "describe", "ask"],
)
def test_yasgui_with_its_defaults_runs_every_query_form(
    browser: webdriver.Chrome, server: str, query: str, shown: str
) -> None:
    """YASGUI as bundled, with its own request settings (method and Accept per query form): no 406, no error."""
    browser.get(server + "/editor")
    WebDriverWait(browser, 20).until(lambda b: b.execute_script("return !!window.capacitiesEditor"))
    browser.execute_script(
        "const tab = window.capacitiesEditor.getTab(); tab.getYasqe().setValue(arguments[0]); tab.query();", query
    )
    WebDriverWait(browser, 30).until(lambda b: shown in b.find_element(By.ID, "yasgui").text)
    assert not browser.find_element(By.ID, "query-error").is_displayed()


@pytest.mark.parametrize(
    ("path", "rendered"),
    [("/docs", ".opblock-summary-path"), ("/redoc", "[data-section-id]")],
    ids=["swagger-ui", "redoc"],
)
def test_api_docs_render_with_nothing_from_outside(
    browser: webdriver.Chrome, server: str, path: str, rendered: str
) -> None:
    """Swagger UI and ReDoc come with the project: the operations appear, and every file came from this server."""
    browser.get(server + path)
    WebDriverWait(browser, 30).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, rendered)) > 5)
    assert "/api/materials" in browser.find_element(By.TAG_NAME, "body").text
    assert browser.execute_script("return document.documentElement.lang") == "en"  # axe: html-has-lang
    shot(browser, "11-api-docs-" + path.strip("/"))
    entries = browser.execute_script(
        "return performance.getEntriesByType('resource')"
        ".map(e => [e.name, e.responseStatus || 0, e.decodedBodySize || 0])"
    )
    local = [name for name, _, _ in entries if name.startswith(server + "/")]
    assert any(name.endswith(".js") for name in local) and any("openapi.json" in name for name in local)
    # ReDoc's bundle asks for its logo at cdn.redoc.ly: the page's Content-Security-Policy stops it (nothing
    # came back); no other outside address is even asked for
    elsewhere = [(name, status, size) for name, status, size in entries if not name.startswith(server + "/")]
    assert all(
        name == "https://cdn.redoc.ly/redoc/logo-mini.svg" and (status, size) == (0, 0)
        for name, status, size in elsewhere
    ), elsewhere
    policy = httpx.get(server + path).headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy


def test_readable_on_a_phone_and_by_keyboard(browser: webdriver.Chrome, server: str) -> None:
    from selenium.webdriver.common.keys import Keys

    browser.set_window_size(390, 844)
    try:
        for path in ("/", "/search?q=energy", "/id/material/greek-moc", "/reused"):
            browser.get(server + path)
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{path} scrolls sideways on a phone by {overflow}px"
        shot(browser, "08-phone")
        browser.get(server + "/")
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        focused = browser.switch_to.active_element
        assert focused.text == "Skip to content"
        focused.send_keys(Keys.ENTER)
        assert browser.current_url.endswith("#main")
        browser.switch_to.active_element.send_keys(Keys.TAB)
        assert browser.switch_to.active_element.tag_name in ("a", "input", "button")
    finally:
        browser.set_window_size(1280, 1000)


def test_what_a_visitor_sees_map_charts_summary_and_forgiving_search(browser: webdriver.Chrome, server: str) -> None:
    """The pictures are drawn (not just present in the markup), the material page leads with its summary, and a
    typo in the search box still finds the materials, as a person sees them in the browser."""
    browser.set_window_size(1280, 1000)
    browser.get(server + "/countries")
    drawn = browser.execute_script(
        "return [...document.querySelectorAll('svg.map a.map-country')].map(a => {"
        " const box = a.getBBox(); return [a.dataset.code, box.width * box.height,"
        " getComputedStyle(a.querySelector('path')).fill]; })"
    )
    # 15 core countries (000 l.892) and the others the cards name: every one drawn with a size and a colour
    assert len(drawn) >= 15 and all(area > 0 and fill.startswith("rgb") for _, area, fill in drawn), drawn
    romania = browser.find_element(By.CSS_SELECTOR, "svg.map a.map-country[data-code='RO'] title")
    assert romania.get_attribute("textContent") == "Romania: 9 materials"  # 8 printed for RO + 1 for core (l.830)
    shot(browser, "20-countries-map")
    browser.get(server + "/")
    bars = browser.execute_script(
        "return [...document.querySelectorAll('svg.bars rect')].map(r => r.getBoundingClientRect().width)"
    )
    assert len(bars) >= 6 and sum(1 for width in bars if width > 5) >= 5  # challenge 5 has no material yet
    browser.get(server + "/id/material/greek-moc")
    summary = browser.find_element(By.CSS_SELECTOR, "main dl.summary")
    assert summary.location["y"] < browser.find_element(By.CSS_SELECTOR, "main .cards").location["y"]
    # l.466 prints Greece; l.468 the partner "Ministry of Transport & Infrastructure", curated under its one name
    assert "Greece" in summary.text and "Ministry of Infrastructure and Transport" in summary.text
    shot(browser, "21-material-summary")
    browser.get(server + "/search?q=fundng")
    notice = browser.find_element(By.TAG_NAME, "main").text
    assert "Showing results for funding" in notice
    marked = [m.text.casefold() for m in browser.find_elements(By.CSS_SELECTOR, "main mark")]
    assert marked and all(word.startswith("fund") for word in marked), marked
    shot(browser, "22-search-typo")
