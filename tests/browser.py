"""Headless Chromium for the tests (Debian's chromium + chromedriver, driven by Selenium; scripts/test.sh
installs both), one place for its flags."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
AXE = Path(__file__).resolve().parent / "axe"


def axe_script() -> str:
    """axe.min.js from npm at the version tests/axe/package-lock.json pins (installed once, offline when cached)."""
    script = AXE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed for the accessibility tests (Node.js 20 with npm is on every machine of this kind)"
        subprocess.run(
            [npm, "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=AXE,
            check=True,
            timeout=600,
        )
    return script.read_text(encoding="utf-8")


def chromium(
    profile: Path, *, width: int = 1280, height: int = 1000, extra: tuple[str, ...] = ()
) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with its own profile directory, quit at the end; nothing leaves 127.0.0.1."""
    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), (
        "Chromium and chromedriver are needed: scripts/test.sh installs Debian's chromium and chromium-driver"
    )
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile}",
        *extra,
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
