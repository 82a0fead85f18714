"""What a reader sees and can reach by keyboard on the newsletters' pages, in Chromium."""

from __future__ import annotations

import pytest

from tests.newsletters.helpers import (
    confirm_path,
    links_in,
    load_lists,
    outbox,
    path_of,
    subscribe_and_confirm,
    subscribe_api,
)


@pytest.fixture
def app(make_app):
    return load_lists(make_app())


def _pages_a_reader_reaches_from_mail(app) -> dict[str, str]:
    client = app.test_client()
    subscribe_and_confirm(app, client, "reader@example.com", ["morning-briefing"])
    subscribe_api(client, "reader@example.com", ["investigations"])
    (welcome,) = outbox(app, "welcome")
    (preferences,) = links_in(welcome.text_body, "/preferences/")
    return {
        "confirm": confirm_path(app),
        "preferences": path_of(preferences),
        "unsubscribe": path_of(welcome.headers["List-Unsubscribe"].strip("<>")),
        "link-not-valid": "/confirm/not-a-token",
    }


def test_a_missing_page_says_so_with_a_way_back(live_server, page, accessibility_gaps):
    response = page.goto(live_server + "/no-such-page")
    assert response.status == 404
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "There is nothing at this address."
    assert page.get_by_role("link", name="Back to the front page").is_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    assert accessibility_gaps(page) == []


def test_every_reader_page_passes_the_accessibility_checks_and_loads_everything_it_needs(
    app, live_server, page, screenshot, accessibility_gaps, blocked_content
):
    pages = {
        "article": "/",
        "embed": "/embed/signup?newsletter=morning-briefing",
        **_pages_a_reader_reaches_from_mail(app),
    }
    for name, path in pages.items():
        page.goto(live_server + path)
        assert page.get_by_role("heading", level=1).count() == 1, name
        assert page.get_by_role("heading", level=1).is_visible(), name
        assert accessibility_gaps(page) == [], name
        screenshot(f"reader-{name}")
    assert blocked_content == []


def test_keyboard_focus_is_visible_at_every_stop_of_the_article(live_server, page, focus_outline):
    page.goto(live_server + "/")
    stops = []
    for _ in range(8):  # skip link, site name, menu, then the first signup form's controls
        page.keyboard.press("Tab")
        stops.append(page.evaluate("document.activeElement.outerHTML.slice(0, 60)"))
        assert focus_outline(page) == "solid", stops[-1]
    assert stops[0].startswith('<a class="skip-link"')
    assert any('type="email"' in stop for stop in stops)


def test_the_skip_link_takes_keyboard_users_to_the_article(live_server, page):
    page.goto(live_server + "/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
