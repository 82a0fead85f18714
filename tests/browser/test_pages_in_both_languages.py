"""Every reader page passes axe-core's WCAG 2.2 A/AA rules in Ukrainian as in English, in
Chromium, with the page saying its language and offering the switch."""

from __future__ import annotations

import pytest

from extensions import db
from membership.services import load_demo_tiers
from payments.prices import new_price_id
from tests.newsletters.helpers import (
    confirm_path,
    links_in,
    load_lists,
    outbox,
    path_of,
    subscribe_and_confirm,
)


@pytest.fixture
def app(make_app):
    app = load_lists(make_app())
    with app.app_context():
        load_demo_tiers(new_price=new_price_id)
        db.session.commit()
    return app


def _reader_pages(app) -> dict[str, str]:
    client = app.test_client()
    subscribe_and_confirm(app, client, "reader@example.com", ["morning-briefing"])
    (welcome,) = outbox(app, "welcome")
    (preferences,) = links_in(welcome.text_body, "/preferences/")
    return {
        "article": "/",
        "embed": "/embed/signup?newsletter=morning-briefing",
        "membership": "/membership",
        "widget": "/membership/widget",
        "privacy": "/privacy",
        "confirm": confirm_path(app),
        "preferences": path_of(preferences),
        "unsubscribe": path_of(welcome.headers["List-Unsubscribe"].strip("<>")),
        "link-not-valid": "/confirm/not-a-token",
        "missing": "/no-such-page",
    }


@pytest.mark.parametrize("language", ["en", "uk"])
def test_every_reader_page_passes_axe_core_in_each_language(
    app, live_server, page, language, axe_violations, accessibility_gaps, screenshot
):
    for name, path in _reader_pages(app).items():
        joiner = "&" if "?" in path else "?"
        page.goto(f"{live_server}{path}{joiner}lang={language}")
        assert page.locator("html").get_attribute("lang") == language, name
        assert axe_violations(page) == [], name
        assert accessibility_gaps(page) == [], name
        screenshot(f"reader-{language}-{name}")


def test_a_ukrainian_form_refusal_passes_axe_core_with_the_message_by_the_field(
    app, live_server, page, axe_violations
):
    page.goto(live_server + "/?lang=uk")
    field = page.locator("#signup-choose-email")
    field.fill("not an address")
    field.press("Enter")
    message = page.locator("#signup-choose-email-error")
    message.get_by_text("Введіть, будь ласка, правильну електронну адресу").wait_for()
    assert message.is_visible()
    assert field.get_attribute("aria-describedby") == "signup-choose-email-error"
    assert axe_violations(page) == []
