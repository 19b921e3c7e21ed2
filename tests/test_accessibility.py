"""Every kind of page, checked for people: axe-core (WCAG 2.0/2.1 A and AA), a 390 px phone, and the keyboard.

Each page is loaded in headless Chromium (the Debian chromium + chromedriver tests/test_browser.py uses) at two
sizes, desktop 1280x900 and a phone 390x844 (an exact mobile viewport through the DevTools protocol, so the page's
viewport meta tag counts as it does on a phone). On every page and size:

- axe-core (npm, pinned in tests/axe/package-lock.json, installed by `npm ci` into the git-ignored
  tests/axe/node_modules) runs with the WCAG 2.0/2.1 A and AA rules; a violation of impact serious or critical
  fails the test, with its rule, its help text and the first elements it names;
- on the phone, the page is laid out 390 px wide and does not scroll sideways (the widest element is named);
- Tab from the top of the page reaches the skip link first, and the focused link shows it (an outline or a box
  shadow).

The pages: the fixed pages of the site, and one page per class of the data. The classes come from the ontology
(ontology/capacities.ttl: its own classes and the schema.org and W3C Organization classes it builds on) and from
EXTRA_CLASSES; the instance shown for each is found at run time with a SPARQL SELECT to /sparql, and
test_every_class_in_the_data_has_its_page_checked fails when the data uses a class no test covers. The site's own
links (home page and footer) are checked the same way against the fixed pages.

Screenshots go to test-artifacts/screenshots/a11y/ (desktop: the whole page, at most 6000 px high), and every
finding, of any impact, to test-artifacts/a11y-report.json.

Swagger UI (/docs) and ReDoc (/redoc) are third-party bundles served as shipped, with our contrast overrides
(api/views/static/apidocs-*.css) and Swagger UI's deep links off (a link inside each operation's button): they
have a test of their own, with an operation expanded, at desktop size (they are developer tools).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import axe_script, chromium
from tests.conftest import ROOT, Built
from tests.server import running_server

AXE = ROOT / "tests" / "axe"
SHOTS = ROOT / "test-artifacts" / "screenshots" / "a11y"
REPORT = ROOT / "test-artifacts" / "a11y-report.json"

CAP = "https://w3id.org/capacities/lp/ontology#"
SCHEMA = "http://schema.org/"
ORG = "http://www.w3.org/ns/org#"
ID = "https://w3id.org/capacities/lp/id/"
NAMESPACES = {"cap": CAP, "schema": SCHEMA, "org": ORG}

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
FAILING_IMPACTS = ("serious", "critical")
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # what Chromium asks for
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# The site's own pages: (test id, path). None: the path is found on the running site (see _fixed_path).
FIXED_PAGES: list[tuple[str, str | None]] = [
    ("home", "/"),
    ("search-empty", "/search"),
    ("search-webinar", "/search?q=webinar"),
    ("search-facets", None),  # two facets chosen from the webinar search's own links
    ("hashtags", "/hashtags"),
    ("countries", "/countries"),
    ("country-GR", "/country/GR"),
    ("reused", "/reused"),
    ("editor", "/editor"),
    ("ontology", "/ontology"),
    ("api", "/api"),
    ("shapes", "/shapes"),
    ("void", "/.well-known/void"),
    ("source-text-lines", None),  # a source text with a range of lines highlighted, as a card links to it
    ("personas", "/personas"),
    ("glossary", "/glossary"),
    ("not-found", "/id/material/no-such-material"),
    ("contribute", "/contributions"),  # a visitor is sent to sign in; the signed-in pages: test_editorial_browser
    (  # why a material is listed under a problem statement: a proof three levels deep, with quoted source lines
        "explain",
        "/explain?subject=https%3A%2F%2Fw3id.org%2Fcapacities%2Flp%2Fid%2Fmaterial%2Fgreek-moc"
        "&predicate=https%3A%2F%2Fw3id.org%2Fcapacities%2Flp%2Fontology%23listedUnder"
        "&object=https%3A%2F%2Fw3id.org%2Fcapacities%2Flp%2Fid%2Fchallenge%2F4.1",
    ),
]
# pages the fixed list stands for, by the first segment of their path (test_site_links_are_all_checked)
COVERED_SEGMENTS = {urlsplit(p).path.strip("/").split("/")[0] for _, p in FIXED_PAGES if p} | {"id", "search"}
# not pages for people: machine answers, or third-party bundles (see the module's docstring)
NOT_PAGES = {"sparql", "dumps", "docs", "redoc", "openapi.json", "health", "ready", "static"}

# classes the build asserts of things under /id/ that the ontology file does not name (kg/ builds them from
# schema.org and the W3C Organization ontology); test_every_class_in_the_data_has_its_page_checked keeps this
# list honest
EXTRA_CLASSES = [
    "schema:Article",
    "schema:NewsArticle",
    "schema:VideoObject",
    "schema:CreativeWorkSeries",
    "schema:HowToStep",
    "schema:AdministrativeArea",
    "schema:Place",
    "schema:CollegeOrUniversity",
    "schema:Corporation",
    "schema:GovernmentOrganization",
    "schema:NGO",
    "schema:ResearchOrganization",
    "org:FormalOrganization",
    "org:OrganizationalUnit",
    "org:Membership",
    "org:Role",
    "org:ChangeEvent",
]


def _short(iri: str) -> str | None:
    for prefix, namespace in NAMESPACES.items():
        if iri.startswith(namespace) and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", iri[len(namespace) :]):
            return f"{prefix}:{iri[len(namespace) :]}"
    return None


def _ontology_classes() -> list[str]:
    """The ontology's own classes, then the schema.org and org: classes it names (read at collection time)."""
    graph = rdflib.Graph().parse(ROOT / "ontology" / "capacities.ttl", format="turtle")
    own = sorted({c for c in (_short(str(s)) for s in graph.subjects(RDF.type, OWL.Class)) if c and c[:4] == "cap:"})
    named = set()
    for s, p, o in graph:
        for term in (s, o):
            short = _short(str(term)) if isinstance(term, rdflib.URIRef) else None
            if short and not short.startswith("cap:") and (p in (RDFS.subClassOf, OWL.equivalentClass, RDFS.range)):
                named.add(short)
    return own + sorted(named - set(own))


CLASSES = _ontology_classes()
CLASSES += [c for c in EXTRA_CLASSES if c not in CLASSES]
PAGE_IDS = [name for name, _ in FIXED_PAGES] + [c.replace(":", "-") for c in CLASSES]


# --- fixtures ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def axe_source() -> str:
    return axe_script()


@pytest.fixture(scope="module")
def server(built: Built) -> Iterator[str]:
    with running_server(built.settings.build_dir) as base:
        yield base


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield from chromium(tmp_path_factory.mktemp("chromium-a11y"), height=900, extra=("--hide-scrollbars",))


def _path(iri: str) -> str:
    """The path of an IRI under /id/ on the server under test."""
    assert iri.startswith(ID), iri
    return "/id/" + iri[len(ID) :]


def _select(base: str, query: str) -> list[dict[str, str]]:
    answer = httpx.post(
        base + "/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"}, timeout=60
    )
    assert answer.status_code == 200, answer.text[:500]
    return [{k: v["value"] for k, v in row.items()} for row in answer.json()["results"]["bindings"]]


TYPED = f"""
SELECT DISTINCT ?s ?class WHERE {{
  ?s a ?class .
  FILTER(STRSTARTS(STR(?s), "{ID}") && !CONTAINS(STR(?s), "#"))
  FILTER(STRSTARTS(STR(?class), "{CAP}") || STRSTARTS(STR(?class), "{SCHEMA}") || STRSTARTS(STR(?class), "{ORG}"))
}}
"""


@dataclass
class Site:
    base: str
    types: dict[str, set[str]] = field(repr=False)  # instance IRI -> its classes (short names), from /sparql
    class_pages: dict[str, str] = field(default_factory=dict, repr=False)  # short class name -> the instance IRI shown
    source_path: str = ""  # the shortest source text, a range of its lines highlighted
    results: dict[tuple[str, str], list[str]] = field(default_factory=dict, repr=False)  # (path, size) -> failures
    report: dict[str, Any] = field(default_factory=dict, repr=False)


@pytest.fixture(scope="module")
def site(server: str) -> Iterator[Site]:
    """The instances of every class, and for each class the one page shown: an instance already picked for an
    earlier class when there is one (a city is a cap:City, a schema:City and a schema:Place), else the instance
    with the most classes not yet covered."""
    types: dict[str, set[str]] = {}
    for row in _select(server, TYPED):
        short = _short(row["class"])
        if short:
            types.setdefault(row["s"], set()).add(short)
    # the shortest source text (a page numbers every line: the portfolio's 5000 lines take axe half a minute)
    sources = sorted(s for s, classes in types.items() if "cap:SourceText" in classes and s.startswith(ID + "source/"))
    assert sources, "the data has no cap:SourceText under /id/source/"
    lengths = {s: len(httpx.get(server + _path(s), headers={"Accept": "text/plain"}).content) for s in sources}
    shortest = min(sources, key=lambda s: (lengths[s], s))
    found = Site(server, types, source_path=_path(shortest) + "?lines=3-8#line-3")
    found.class_pages["cap:SourceText"] = shortest  # shown first, so that other classes of it reuse its page
    covered: set[str] = set(types[shortest])
    for cls in CLASSES:
        if cls in found.class_pages:
            continue
        instances = sorted(s for s, classes in types.items() if cls in classes)
        if not instances:
            continue
        chosen = [s for s in instances if s in found.class_pages.values()]
        pick = chosen[0] if chosen else max(instances, key=lambda s: (len(types[s] - covered), -len(s)))
        found.class_pages[cls] = pick
        covered |= types[pick]
    yield found
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(found.report, indent=1, sort_keys=True), encoding="utf-8")


# --- what runs in the page ---------------------------------------------------------------------------------------

RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
  .then(r => done(r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))))
  .catch(e => done({error: String(e)}));
"""

WIDEST = """
const limit = window.innerWidth;
let worst = null;
for (const el of document.querySelectorAll('body *')) {
  const box = el.getBoundingClientRect();
  if (box.width && box.right > limit + 1 && (!worst || box.right > worst.right)) {
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.classList.length ? '.' + [...el.classList].join('.') : '');
    worst = {name, right: Math.round(box.right), width: Math.round(box.width),
             text: (el.textContent || '').trim().slice(0, 60)};
  }
}
return worst;
"""

FOCUSED = """
const el = document.activeElement;
if (!el || el === document.body) return null;
const style = getComputedStyle(el);
return {tag: el.tagName.toLowerCase(), text: (el.innerText || el.value || '').trim().slice(0, 60),
        href: el.getAttribute('href'), outline: style.outlineStyle + ' ' + style.outlineWidth,
        shadow: style.boxShadow};
"""


# focus an element put first in the body, then take it away: the next Tab starts from the top of the page,
# whatever the page's scripts focused (the editor focuses its query box)
FROM_THE_TOP = """
window.scrollTo(0, 0);
const start = document.createElement('span');
start.tabIndex = -1;
document.body.prepend(start);
start.focus();
start.remove();
"""


def _size(browser: webdriver.Chrome, size: str, height: int | None = None) -> None:
    width, tall = SIZES[size]
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": width,
            "height": height or tall,
            "deviceScaleFactor": 3 if size == "phone" else 1,
            "mobile": size == "phone",
        },
    )


def _fixed_path(browser: webdriver.Chrome, site: Site, name: str) -> str:
    if name == "search-facets":
        # a facet link of the webinar search, then one of another facet group on the page it leads to
        browser.get(site.base + "/search?q=webinar")
        first = browser.execute_script("const a = document.querySelector('.facets ul a[href]'); return a && a.href")
        assert first, "the search for 'webinar' offers no facet link (.facets ul a)"
        browser.get(first)
        chosen = set(urlsplit(first).query.split("&"))
        second = browser.execute_script(
            "return [...document.querySelectorAll('.facets ul a[href]')].map(a => a.href)"
            ".filter(h => h.split('?')[1] && h.split('?')[1].split('&').length > arguments[0])[0] || null",
            len(chosen),
        )
        target = second or first
        return target[len(site.base) :] if target.startswith(site.base) else target
    assert name == "source-text-lines"
    return site.source_path


def _check(browser: webdriver.Chrome, site: Site, axe_source: str, path: str, size: str, shot: str) -> list[str]:
    """Load `path` at `size` and return what is wrong, in words (empty: nothing)."""
    failures: list[str] = []
    found: dict[str, Any] = {"path": path, "size": size}
    # a browser follows a redirect (/.well-known/void sends it to the dataset's page): so does this check
    status = httpx.get(site.base + path, headers={"Accept": BROWSER_ACCEPT}, follow_redirects=True).status_code
    if status != (404 if shot == "not-found" else 200):
        return [f"answers {status} to a browser, not a page"]
    _size(browser, size)
    browser.get(site.base + path)
    if path == "/editor":  # the editor builds itself with a script: check it once it is there
        browser.execute_async_script(
            "const done = arguments[0]; let n = 0;"
            "(function wait() { if (window.capacitiesEditor || ++n > 100) done(); else setTimeout(wait, 100); })();"
        )
    kind = browser.execute_script("return document.contentType")
    if kind != "text/html":  # what a browser asks for (text/html first, then */*) should be answered with HTML
        return [f"a browser is sent {kind}, not a page"]
    # axe-core
    browser.execute_script(axe_source)
    violations = browser.execute_async_script(RUN_AXE, WCAG_TAGS)
    assert isinstance(violations, list), f"axe-core failed on {path}: {violations}"
    found["violations"] = violations
    for v in violations:
        if v["impact"] in FAILING_IMPACTS:
            failures.append(f"axe {v['id']} ({v['impact']}, {v['count']}x): {v['help']} — e.g. {v['targets']}")
    # the phone: laid out 390 px wide, nothing wider
    if size == "phone":
        inner, scroll = browser.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
        found["phone"] = {"innerWidth": inner, "scrollWidth": scroll}
        if inner != SIZES["phone"][0]:
            failures.append(f"laid out {inner} px wide on a 390 px phone (no viewport meta tag?)")
        if scroll > inner:
            widest = browser.execute_script(WIDEST)
            found["phone"]["widest"] = widest
            failures.append(f"scrolls sideways on a phone: {scroll} px wide for {inner}; widest: {widest}")
    # screenshot: desktop as a whole page (at most 6000 px high), the phone as its screen
    if size == "desktop":
        height = browser.execute_script("return document.documentElement.scrollHeight")
        _size(browser, size, min(max(int(height), SIZES["desktop"][1]), 6000))
    browser.save_screenshot(str(SHOTS / f"{shot}-{size}.png"))
    _size(browser, size)
    # the keyboard: from the top, Tab reaches the skip link, and it shows it has the focus
    browser.execute_script(FROM_THE_TOP)
    ActionChains(browser).send_keys(Keys.TAB).perform()
    focused = browser.execute_script(FOCUSED)
    found["first_tab"] = focused
    if not focused or not (focused["tag"] == "a" and (focused["href"] or "").startswith("#")):
        failures.append(f"the first Tab does not reach a skip link (a href='#…'): focus is on {focused}")
    elif focused["outline"].startswith("none") or focused["outline"].endswith(" 0px"):
        if focused["shadow"] == "none":
            failures.append(f"the focused skip link shows no outline or box shadow: {focused}")
    site.report[f"{shot}-{size}"] = found
    return failures


def _run(browser: webdriver.Chrome, site: Site, axe_source: str, path: str, size: str, shot: str) -> None:
    key = (path, size)
    if key not in site.results:
        site.results[key] = _check(browser, site, axe_source, path, size, shot)
        site.report.setdefault(f"{shot}-{size}", {"path": path, "size": size})["failures"] = site.results[key]
    failures = site.results[key]
    assert not failures, f"{path} at {size} size:\n  " + "\n  ".join(failures)


# --- the tests ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("name", [name for name, _ in FIXED_PAGES])
def test_site_page(browser: webdriver.Chrome, site: Site, axe_source: str, name: str, size: str) -> None:
    path = dict(FIXED_PAGES)[name] or _fixed_path(browser, site, name)
    _run(browser, site, axe_source, path, size, name)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("cls", CLASSES, ids=[c.replace(":", "-") for c in CLASSES])
def test_instance_page(browser: webdriver.Chrome, site: Site, axe_source: str, cls: str, size: str) -> None:
    if cls not in site.class_pages:
        pytest.skip(f"the data has no instance of {cls} under /id/ (the ontology names the class, nothing uses it)")
    iri = site.class_pages[cls]
    path = site.source_path if site.source_path.startswith(_path(iri) + "?") else _path(iri)
    _run(browser, site, axe_source, path, size, "class-" + path.strip("/").replace("/", "_")[:80])


def test_every_class_in_the_data_has_its_page_checked(site: Site) -> None:
    """A class the build starts to use is checked too: it is in CLASSES, or a page checked is one of its kind."""
    used = set().union(*site.types.values())
    shown = set().union(*(site.types[iri] for iri in site.class_pages.values()))
    assert used - set(CLASSES) - shown == set(), "add these classes to EXTRA_CLASSES (or the ontology)"
    assert len(set(site.class_pages.values())) >= 20  # the data has more than 20 kinds of thing (sanity)


def test_site_links_are_all_checked(browser: webdriver.Chrome, site: Site) -> None:
    """Every kind of page the site links to from its home page, header and footer is among the pages checked."""
    browser.get(site.base + "/")
    links = browser.execute_script(  # SVG links' href is an SVGAnimatedString: resolve the attribute instead
        "return [...document.querySelectorAll('a[href]')].map(a => new URL(a.getAttribute('href'), location.href).href)"
    )
    segments = {
        urlsplit(link).path.strip("/").split("/")[0]
        for link in links
        if link.startswith(site.base) and "#" not in link[len(site.base) :][:1]
    }
    segments.discard("")
    missing = segments - COVERED_SEGMENTS - NOT_PAGES - {".well-known"}
    assert missing == set(), f"pages linked from the site that no test here loads: {sorted(missing)}"


@pytest.mark.parametrize(
    ("path", "rendered", "expand"),
    [
        ("/docs", ".opblock", ".opblock-summary-control"),
        ("/redoc", "[data-section-id]", None),
    ],
)
def test_api_docs_pages_pass_axe(
    browser: webdriver.Chrome, site: Site, axe_source: str, path: str, rendered: str, expand: str | None
) -> None:
    _size(browser, "desktop")
    browser.get(site.base + path)
    WebDriverWait(browser, 30).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, rendered)) > 3)
    if expand:  # an operation opened: its parameters, responses and schemas are checked too
        for button in browser.find_elements(By.CSS_SELECTOR, expand)[:2]:
            button.click()
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".opblock-body"))
    browser.execute_script(axe_source)
    violations = browser.execute_async_script(RUN_AXE, WCAG_TAGS)
    assert isinstance(violations, list), violations
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
