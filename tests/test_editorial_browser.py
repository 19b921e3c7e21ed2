"""The whole editorial loop in headless Chromium: a contributor signs in, proposes a learning material
through the form, sees a violation beside its field, fixes it and sends it; an editor signs in, reviews
and approves; the material is then found by search, on its problem statement's page, with its provenance.
Screenshots of every step go to test-artifacts/screenshots/editorial/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser import axe_script, chromium
from tests.conftest import ROOT, Built
from tests.server import running_server
from tests.test_accessibility import FAILING_IMPACTS, RUN_AXE, WCAG_TAGS

SHOTS = ROOT / "test-artifacts" / "screenshots" / "editorial"
TITLE = "Heat pumps for city halls: a peer-learning tour"
PROBLEM_STATEMENT = "1.2 Towards lesser fragmentation: clarification of roles, budget and targets"  # line 501


@dataclass
class Site:
    base: str
    passwords: dict[str, str]


def add_user(state_dir: Path, name: str, role: str, password: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "kg.cli", "users", "add", name, "--role", role, "--password-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "KG_STATE_DIR": str(state_dir)},
        timeout=60,
        check=True,
    )


@pytest.fixture(scope="module")
def site(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    scratch = tmp_path_factory.mktemp("editorial-browser")
    build_dir = scratch / "build"  # the approval writes a release: never into the build other tests share
    shutil.copytree(built.settings.build_dir, build_dir, symlinks=True)
    passwords = {"paula": "a partner's long passphrase", "edith": "an editor's long passphrase"}
    add_user(scratch / "state", "paula", "contributor", passwords["paula"])
    add_user(scratch / "state", "edith", "editor", passwords["edith"])
    with running_server(build_dir, state_dir=str(scratch / "state"), reload_interval="0.5") as base:
        yield Site(base, passwords)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield from chromium(tmp_path_factory.mktemp("chromium-editorial"), height=1400)


def shot(browser: webdriver.Chrome, name: str) -> None:
    browser.save_screenshot(str(SHOTS / f"{name}.png"))


def accessible(browser: webdriver.Chrome, axe: str) -> None:
    """axe-core finds no serious or critical WCAG 2.1 A/AA violation on the page as it is now."""
    browser.execute_script(axe)
    violations = browser.execute_async_script(RUN_AXE, WCAG_TAGS)
    assert isinstance(violations, list), violations
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} — {v['targets']}" for v in violations if v["impact"] in FAILING_IMPACTS
    ]
    assert not serious, f"{browser.current_url}:\n  " + "\n  ".join(serious)


def sign_in(browser: webdriver.Chrome, site: Site, name: str) -> None:
    browser.get(site.base + "/contributions")  # sends a visitor to the sign-in page, and back afterwards
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in"
    browser.find_element(By.ID, "name").send_keys(name)
    browser.find_element(By.ID, "password").send_keys(site.passwords[name])
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    assert "/contributions" in browser.current_url and "sign-in" not in browser.current_url, (
        f"{name} was not signed in: {browser.current_url} says {browser.find_element(By.TAG_NAME, 'main').text!r}"
    )


def sign_out(browser: webdriver.Chrome) -> None:
    """Sign out, and wait for the page it leads to: a navigation begun while the sign-out is still on its way
    can race it, and the two sign-in forms that race leaves differ in their security token."""
    submit(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Sign out']"))
    assert not browser.find_elements(By.XPATH, "//button[normalize-space()='Sign out']"), browser.current_url
    browser.delete_all_cookies()


def submit(browser: webdriver.Chrome, element: WebElement) -> None:
    """Click what leads to another page, and wait until that page has replaced this one: a click does not wait for
    the answer to a form it sends, so a lookup right after it can read the old page."""
    old_page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 30).until(staleness_of(old_page))


def fill(browser: webdriver.Chrome, field_id: str, text: str) -> None:
    element = browser.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(text)


@pytest.fixture(scope="module")
def axe_source() -> str:
    return axe_script()


def test_propose_fix_review_approve_and_find(browser: webdriver.Chrome, site: Site, axe_source: str) -> None:
    sign_in(browser, site, "paula")
    shot(browser, "01-contributor-signed-in")
    submit(browser, browser.find_element(By.LINK_TEXT, "Propose a new learning material"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Propose a learning material"
    # the card table's own header as a title: the browser lets it through, the shapes do not
    fill(browser, "field-material-title", "Learning Material")
    fill(browser, "field-material-releaseYear", "2025")
    Select(browser.find_element(By.ID, "field-card-inProblemStatement")).select_by_visible_text(PROBLEM_STATEMENT)
    fill(browser, "field-card-typeLabel", "Peer-learning visit")
    fill(browser, "field-card-titleAsPrinted", TITLE)
    fill(browser, "field-card-description", "Two city halls show their heat-pump retrofits to three ministries.")
    fill(browser, "field-note", "From our 2025 programme")
    shot(browser, "02-form-filled")
    submit(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Send the proposal']"))
    summary = browser.find_element(By.CSS_SELECTOR, ".form-summary")
    assert "template text" in summary.text
    assert "key features" not in summary.text  # a warning is the editors' to weigh, not a reason to refuse
    title = browser.find_element(By.ID, "field-material-title")
    assert title.get_attribute("aria-invalid") == "true"
    error = browser.find_element(By.ID, "field-material-title-error")
    assert "template text" in error.text  # the shape's own message, beside its field
    assert browser.find_element(By.ID, "field-material-releaseYear").get_attribute("value") == "2025"  # kept
    shot(browser, "03-violation-beside-the-field")
    accessible(browser, axe_source)
    fill(browser, "field-material-title", TITLE)
    submit(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Send the proposal']"))
    WebDriverWait(browser, 20).until(lambda b: "/contributions/" in b.current_url)
    assert "Waiting for review" in browser.page_source
    proposal = browser.current_url
    shot(browser, "04-proposal-sent")
    accessible(browser, axe_source)
    sign_out(browser)

    sign_in(browser, site, "edith")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Proposals to review"
    submit(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Proposal "))
    assert browser.current_url == proposal
    page = browser.page_source
    assert TITLE in page and "paula" in page and "From our 2025 programme" in page
    assert (
        "Its card in problem statement 1.2" in page
        and "urn:x-new" not in browser.find_element(By.TAG_NAME, "main").text
    )
    shot(browser, "05-editor-reviews")
    accessible(browser, axe_source)
    browser.find_element(By.ID, "note").send_keys("Welcome addition")
    # the answer comes once the full build with the change is live: tens of seconds on a busy machine
    browser.set_page_load_timeout(600)
    # pressed twice in one go: the page says what is happening, and the second press sends nothing
    said, prevented = browser.execute_script(
        """const button = arguments[0], prevented = [];
        button.form.addEventListener("submit", (event) => prevented.push(event.defaultPrevented));
        button.click();
        button.click();
        return [document.getElementById("decide-status").textContent, prevented];""",
        browser.find_element(By.XPATH, "//button[normalize-space()='Approve and publish']"),
    )
    assert said.startswith("Publishing: the graph is being rebuilt") and prevented == [False, True], (said, prevented)
    WebDriverWait(browser, 600).until(lambda b: "Approved and published" in b.page_source)
    browser.set_page_load_timeout(30)
    shot(browser, "06-approved")

    browser.get(site.base + "/search?q=heat+pumps+city+halls")
    submit(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Heat pumps for city halls"))
    shot(browser, "07-material-page")
    page = browser.page_source
    assert "paula" in page and "edith" in page  # who proposed it and who approved it
    browser.get(site.base + "/id/challenge/1.2")
    assert TITLE in browser.page_source
    shot(browser, "08-on-its-problem-statement")


def test_each_resource_page_leads_to_its_forms_and_every_form_is_accessible(
    browser: webdriver.Chrome, site: Site, axe_source: str
) -> None:
    """From a platform profile's page to its update form, from a problem statement's page to its note form, from
    a material's page to its removal: each form is reached by its link, reads as a form for people, passes axe,
    and a note too short for the shapes is shown beside its field."""
    browser.delete_all_cookies()
    sign_in(browser, site, "paula")
    browser.get(site.base + "/id/profile/2026/at")
    submit(browser, browser.find_element(By.LINK_TEXT, "Update this profile"))
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Update “Snapshot Profile of the National Platform")
    assert browser.find_element(By.ID, "field-profile-formalisationText").tag_name == "textarea"  # long cells
    shot(browser, "09-profile-form")
    accessible(browser, axe_source)

    browser.get(site.base + "/id/challenge/1.2")
    submit(browser, browser.find_element(By.LINK_TEXT, "Add a note for readers"))
    fill(browser, "field-statement-note", "Soon.")
    submit(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Send the proposal']"))
    error = browser.find_element(By.ID, "field-statement-note-error").text
    assert "at least 10 characters" in error
    shot(browser, "10-note-refused")
    accessible(browser, axe_source)

    browser.get(site.base + "/id/material/greek-moc")
    submit(browser, browser.find_element(By.LINK_TEXT, "Propose removing it"))
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Propose removing")
    shot(browser, "11-removal")
    accessible(browser, axe_source)
    sign_out(browser)
