"""Debian's headless Chromium driven by Playwright, and what a person would notice in a page.

The app is served by the `live_server` fixture of tests/conftest.py. Every test here is marked
`browser`. Screenshots are artefacts for people to look at (git-ignored screenshots/); what a
test asserts is what the page shows: text, roles, focus and the checks below.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
HERE = Path(__file__).resolve().parent

# WCAG 2.2 AA basics the page itself can show, in the manner of axe's rules: a language and a
# title, a name for every field, button and link, unique ids that references point at, headers
# with a scope, a text alternative for every image and chart.
_ACCESSIBILITY_GAPS = """() => {
  const gaps = [];
  if (!document.documentElement.lang) gaps.push("no lang");
  if (!document.title.trim()) gaps.push("no title");
  const named = (element) => element.getAttribute("aria-label")
    || element.getAttribute("aria-labelledby") || element.textContent.trim()
    || element.getAttribute("title");
  for (const field of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const labelled = field.labels.length || field.getAttribute("aria-label")
      || field.getAttribute("aria-labelledby");
    if (!labelled) gaps.push("unlabelled field " + (field.name || field.id));
  }
  for (const control of document.querySelectorAll("button, a[href]")) {
    if (!named(control)) gaps.push("nameless " + control.outerHTML.slice(0, 80));
  }
  const seen = new Set();
  for (const element of document.querySelectorAll("[id]")) {
    if (seen.has(element.id)) gaps.push("duplicate id " + element.id);
    seen.add(element.id);
  }
  for (const element of document.querySelectorAll("[aria-describedby], [aria-labelledby]")) {
    const ids = ((element.getAttribute("aria-describedby") || "") + " "
      + (element.getAttribute("aria-labelledby") || "")).split(/\\s+/).filter(Boolean);
    for (const id of ids) if (!document.getElementById(id)) gaps.push("no element #" + id);
  }
  for (const header of document.querySelectorAll("th:not([scope])")) {
    gaps.push("th without scope: " + header.textContent.trim());
  }
  for (const image of document.querySelectorAll("img:not([alt])")) {
    gaps.push("img without alt: " + image.src);
  }
  for (const chart of document.querySelectorAll("svg")) {
    const described = chart.getAttribute("role") === "img" && chart.querySelector("title")
      && chart.querySelector("desc");
    if (!described) gaps.push("svg without role=img, title and desc");
  }
  return gaps;
}"""


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot into the git-ignored screenshots/ folder, for people."""

    def take(name: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def accessibility_gaps():
    """accessibility_gaps(page) -> what the checks above find wrong in the page shown now."""

    def find(page) -> list[str]:
        return page.evaluate(_ACCESSIBILITY_GAPS)

    return find


@pytest.fixture
def blocked_content(page) -> list[str]:
    """Console errors and uncaught exceptions of `page`: CSP refusals (inline script or style)
    show here, as do scripts that fail. The list fills as the test browses."""
    problems: list[str] = []

    def on_console(message) -> None:
        if message.location.get("url") == page.url and "Failed to load" in message.text:
            return  # the page's own status (a 404 page is one), which tests assert themselves
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    return problems


@pytest.fixture
def focus_outline():
    """focus_outline(page) -> the outline style of the element that has focus ('none' if none)."""

    def style(page) -> str:
        return page.evaluate("getComputedStyle(document.activeElement).outlineStyle")

    return style


# axe-core's own rules for WCAG 2.0–2.2 A and AA (axe.min.js ships in axe-playwright-python).
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"],
    },
    "resultTypes": ["violations"],
}


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def axe_violations(axe):
    """axe_violations(page) -> "rule: element" for each WCAG A/AA violation axe-core finds."""

    def run(page) -> list[str]:
        results = axe.run(page, options=AXE_OPTIONS)
        return [
            f"{violation['id']}: {' '.join(node['target'][0] for node in violation['nodes'][:1])}"
            for violation in results.response["violations"]
        ]

    return run
