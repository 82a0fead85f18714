"""A reader with JavaScript on signs up from the demo article, in Debian's Chromium."""

from __future__ import annotations

import pytest

from tests.newsletters.helpers import load_lists, outbox, statuses


@pytest.fixture
def app(make_app):
    return load_lists(make_app())


def test_reader_sees_the_error_by_the_field_then_the_success_message(
    app, live_server, page, screenshot
):
    page.goto(live_server + "/")
    form = page.locator("form.signup-form").first
    field = form.get_by_label("Enter your email to subscribe")

    field.fill("not an address")
    form.get_by_role("button", name="Subscribe").click()
    error = page.locator("#signup-explaining-email-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "Please enter a correct email address"
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby") == "signup-explaining-email-error"
    assert page.evaluate("document.activeElement.id") == "signup-explaining-email"
    assert page.url == live_server + "/"  # submitted in place, no reload

    field.fill("reader@example.com")
    form.get_by_role("button", name="Subscribe").click()
    status = page.locator("#signup-explaining-status")
    status.wait_for(state="visible")
    assert status.inner_text() == "Thank you for signing up. We've sent you a confirmation email."
    assert form.is_hidden()
    assert page.evaluate("document.activeElement.id") == "signup-explaining-status"
    screenshot("signup-in-place")
    assert statuses(app, "reader@example.com") == {"explaining-ukraine": "pending"}
    assert [m.to_addr for m in outbox(app, "confirm")] == ["reader@example.com"]


def test_without_javascript_the_form_reloads_with_the_error_by_the_field(app, live_server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server + "/")
        form = page.locator("form.signup-form").first
        form.get_by_label("Enter your email to subscribe").fill("still wrong")
        form.get_by_role("button", name="Subscribe").click()
        page.wait_for_load_state()
        error = page.locator("#signup-explaining-email-error")
        assert error.inner_text() == "Please enter a correct email address"
        assert page.locator("#signup-explaining-email").input_value() == "still wrong"
    finally:
        context.close()
