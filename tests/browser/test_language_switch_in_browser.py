"""A reader switches the page to Ukrainian with the keyboard alone, in Debian's Chromium."""

from __future__ import annotations

import pytest

from tests.newsletters.helpers import load_lists


@pytest.fixture
def app(make_app):
    return load_lists(make_app())


def test_the_keyboard_reaches_the_switch_and_the_choice_is_remembered(live_server, page):
    page.goto(live_server + "/")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Українська":
            break
    focused = page.locator(":focus")
    assert focused.inner_text() == "Українська"
    assert focused.evaluate("el => getComputedStyle(el).outlineStyle") != "none"

    page.keyboard.press("Enter")
    page.wait_for_url("**/?lang=uk")
    assert page.locator("html").get_attribute("lang") == "uk"
    assert page.get_by_label("Введіть свою електронну адресу, щоб підписатися").first.is_visible()

    page.goto(live_server + "/membership")
    assert page.locator("html").get_attribute("lang") == "uk"
    assert page.get_by_role("navigation", name="Мова").is_visible()
