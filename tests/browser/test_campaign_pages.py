"""Staff compose a campaign in Chromium: the preview follows their typing; once sent, the
progress bar follows the outbox; the archive shows it to readers."""

from __future__ import annotations

import pytest

from tests.campaigns.helpers import add_newsletter, add_reader, deliver
from tests.staff.factories import PASSWORD, make_staff


@pytest.fixture
def app(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)  # the real forms and the preview's token header
    with app.app_context():
        make_staff("editor@newsroom.test")
        add_newsletter()
        add_reader("ann@example.com")
        add_reader("bob@example.com")
    return app


def _sign_in(page, live_server) -> None:
    page.goto(live_server + "/staff/login")
    page.get_by_label("Email").fill("editor@newsroom.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server + "/staff/")


def test_the_preview_follows_what_staff_type_and_the_campaign_goes_out(
    app, live_server, page, screenshot, blocked_content, accessibility_gaps, focus_outline
):
    _sign_in(page, live_server)
    for path in ("/staff/suppressions", "/staff/campaigns", "/staff/campaigns/new"):
        assert page.goto(live_server + path).status == 200, path
        assert accessibility_gaps(page) == [], path

    page.get_by_label("List").select_option("briefing")
    page.get_by_label("Subject").fill("The budget, explained")
    page.get_by_label("Body (Markdown)").fill("# This week\n\nThe council **approved** it.")
    preview = page.locator("#preview-html")
    preview.locator("h1", has_text="This week").wait_for()

    assert preview.locator("strong").inner_text() == "approved"
    assert "You get this because you subscribed to Morning Briefing." in preview.inner_text()
    assert "This week\n=========" in page.locator("#preview-text").inner_text()
    page.get_by_label("Body (Markdown)").focus()
    assert focus_outline(page) == "solid"
    screenshot("staff-campaign-compose")

    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("The draft was saved.").wait_for()
    assert accessibility_gaps(page) == []
    page.get_by_role("button", name="Send…").click()
    summary = " ".join(page.locator("#confirm-summary").inner_text().split())
    assert summary == "To Morning Briefing: it will reach 2 readers now."
    assert accessibility_gaps(page) == []
    page.get_by_role("button", name="Send it now").click()
    page.locator("progress#progress-bar").wait_for()
    assert page.locator("#count-left").inner_text() == "2"

    deliver(app)  # the worker sends while the page is open: the page follows
    page.locator("#count-sent", has_text="2").wait_for(timeout=15000)
    assert accessibility_gaps(page) == []
    screenshot("staff-campaign-progress")

    deliver(app)  # the next pass finds nothing left: sent, and in the archive
    page.locator("#campaign-status", has_text="sent").wait_for(timeout=15000)
    page.get_by_role("link", name="In the public archive").click()
    assert page.get_by_role("heading", name="The budget, explained").is_visible()
    assert accessibility_gaps(page) == []
    page.get_by_role("link", name="More issues of Morning Briefing").click()
    assert page.locator(".archive-list").get_by_role("link").all_inner_texts() == [
        "The budget, explained"
    ]
    assert accessibility_gaps(page) == []
    assert blocked_content == []
