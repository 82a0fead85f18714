"""A reader's mail speaks the language they signed up in, kept with the subscriber, whatever page
or request comes later; each message says which in Content-Language (CONTRACT.md "Languages")."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from extensions import db
from newsletters.models import Consent, Subscriber
from tests.campaigns.helpers import create, send
from tests.newsletters.helpers import (
    confirm_path,
    links_in,
    load_lists,
    outbox,
    path_of,
    preferences_path,
    statuses,
    subscribe_api,
)
from tests.privacy.helpers import data_link
from tests.spam import needs_spamassassin, spam_verdict
from tests.stripe_helpers import add_tiers, checkout_session, make_event, post_event

# What each language's reader reads: the words they must find in their mail.
WORDS = {
    "en": {
        "confirm_subject": "Please confirm your subscription",
        "confirm_text": "Someone, hopefully you, asked to subscribe",
        "welcome_subject": "Welcome to Morning Briefing",
        "welcome_text": "Thank you for confirming.",
    },
    "uk": {
        "confirm_subject": "Підтвердьте, будь ласка, підписку",
        "confirm_text": "Хтось (сподіваємося, що ви) хоче підписати адресу",
        "welcome_subject": "Вітаємо в розсилці «Morning Briefing»",
        "welcome_text": "Дякуємо за підтвердження!",
    },
}
OTHER = {"en": "uk", "uk": "en"}


def deliver(app) -> None:
    result = app.test_cli_runner().invoke(args=["outbox", "work", "--once"])
    assert result.exit_code == 0, result.output


def bodies(message) -> tuple[str, str]:
    text, html = message.iter_parts()
    return text.get_content(), html.get_content()


def confirmed_in_ukrainian(app):
    """reader@example.com signed up from a Ukrainian page and confirmed: the client and the
    welcome mail's outbox row."""
    load_lists(app)
    client = app.test_client()
    client.post("/subscribe?lang=uk", data={"email": "reader@example.com"})
    client.post(confirm_path(app, "reader@example.com"))
    (welcome,) = outbox(app, "welcome")
    return client, welcome


def kept_language(app, email: str) -> str | None:
    with app.app_context():
        return db.session.scalar(select(Subscriber.language).where(Subscriber.email == email))


@pytest.mark.parametrize("language", ["en", "uk"])
def test_the_whole_journey_over_smtp_speaks_the_signup_language(make_app, smtp_server, language):
    sink, smtp_url = smtp_server
    app = load_lists(make_app(SMTP_URL=smtp_url))
    words = WORDS[language]
    signup_page = app.test_client()
    response = signup_page.post(
        f"/subscribe?lang={language}",
        data={"email": "reader@example.com", "newsletters": ["morning-briefing"]},
    )
    assert response.status_code == 200
    deliver(app)
    (confirmation,) = sink.messages()
    assert confirmation["Subject"] == words["confirm_subject"]
    assert confirmation["Content-Language"] == language
    text, html = bodies(confirmation)
    assert words["confirm_text"] in text
    assert f'<html lang="{language}">' in html
    (link,) = links_in(text, "/confirm/")

    # The link opened later in a browser that asks for the other language: the page follows the
    # browser, the welcome mail follows the reader.
    browser = app.test_client()
    headers = {"Accept-Language": OTHER[language]}
    page = browser.post(path_of(link), headers=headers)
    assert page.status_code == 200
    assert f'<html lang="{OTHER[language]}">' in page.get_data(as_text=True)
    deliver(app)
    welcome = sink.messages()[1]
    assert welcome["Subject"] == words["welcome_subject"]
    assert welcome["Content-Language"] == language
    assert words["welcome_text"] in bodies(welcome)[0]

    one_click = welcome["List-Unsubscribe"].strip().strip("<>")
    response = app.test_client().post(
        path_of(one_click),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert statuses(app, "reader@example.com") == {"morning-briefing": "unsubscribed"}
    deliver(app)
    assert len(sink.messages()) == 2


def test_the_api_keeps_the_language_accept_language_asks_for(app):
    load_lists(app)
    client = app.test_client()
    subscribe_api(client, "reader@example.com", **{"Accept-Language": "uk-UA,uk;q=0.9"})
    assert kept_language(app, "reader@example.com") == "uk"
    (mail,) = outbox(app, "confirm")
    assert mail.language == "uk"
    assert mail.subject == WORDS["uk"]["confirm_subject"]


def test_a_later_signup_that_shows_no_language_keeps_the_readers_own(app):
    load_lists(app)
    client = app.test_client()
    client.post(
        "/subscribe?lang=uk",
        data={"email": "reader@example.com", "newsletters": ["explaining-ukraine"]},
    )
    # An outlet's server calls the API for the same reader with no Accept-Language at all.
    subscribe_api(app.test_client(), "reader@example.com", ["morning-briefing"])
    assert kept_language(app, "reader@example.com") == "uk"
    mails = outbox(app, "confirm")
    assert [mail.language for mail in mails] == ["uk", "uk"]


def test_a_later_signup_in_another_language_makes_that_the_readers_language(app):
    load_lists(app)
    app.test_client().post("/subscribe?lang=uk", data={"email": "reader@example.com"})
    subscribe_api(
        app.test_client(), "reader@example.com", ["morning-briefing"], **{"Accept-Language": "en"}
    )
    assert kept_language(app, "reader@example.com") == "en"


def test_a_reader_who_showed_no_language_gets_english(app):
    load_lists(app)
    subscribe_api(app.test_client(), "reader@example.com")
    assert kept_language(app, "reader@example.com") is None
    (mail,) = outbox(app, "confirm")
    assert mail.subject == WORDS["en"]["confirm_subject"]


def test_privacy_links_go_in_the_readers_language_not_the_pages(app):
    _, welcome = confirmed_in_ukrainian(app)
    english_page = app.test_client()
    response = english_page.post(
        preferences_path(welcome) + "/data", headers={"Accept-Language": "en"}
    )
    assert response.status_code == 200
    (link_mail,) = outbox(app, "data_export_link")
    assert link_mail.language == "uk"
    assert link_mail.subject.startswith("Ваші дані")


@needs_spamassassin
@pytest.mark.parametrize("language", ["en", "uk"])
def test_confirmation_and_welcome_as_received_score_under_2(make_app, smtp_server, language):
    sink, smtp_url = smtp_server
    app = load_lists(make_app(SMTP_URL=smtp_url))
    client = app.test_client()
    client.post(f"/subscribe?lang={language}", data={"email": "reader@example.com"})
    client.post(confirm_path(app, "reader@example.com"))
    deliver(app)
    confirmation, welcome = sink.envelopes
    for envelope in (confirmation, welcome):
        verdict = spam_verdict(envelope.original_content)
        assert verdict.score < 2.0, verdict.report


@pytest.mark.parametrize(
    ("language", "footer"),
    [
        ("en", "You get this because you subscribed to Morning Briefing on"),
        ("uk", "Ви отримуєте цей лист, бо"),
    ],
)
def test_a_campaign_reaches_each_reader_in_their_own_language(
    make_app, smtp_server, language, footer
):
    sink, smtp_url = smtp_server
    app = load_lists(make_app(SMTP_URL=smtp_url))
    client = app.test_client()
    client.post(
        f"/subscribe?lang={language}",
        data={"email": "reader@example.com", "newsletters": ["morning-briefing"]},
    )
    client.post(confirm_path(app, "reader@example.com"))
    deliver(app)
    with app.app_context():
        campaign_id = create(app, slug="morning-briefing", subject="30.11")
    send(app, campaign_id)
    deliver(app)
    campaign = sink.messages()[-1]
    assert campaign["Subject"] == "30.11"
    assert campaign["Content-Language"] == language
    assert footer in bodies(campaign)[0]


def test_the_readers_data_download_holds_their_language(app):
    client, welcome = confirmed_in_ukrainian(app)
    export = client.get(data_link(app, client, preferences_path(welcome), "reader@example.com"))
    assert export.json["subscriber"]["language"] == "uk"


def test_the_consent_keeps_the_form_wording_the_reader_read(app):
    load_lists(app)
    app.test_client().post("/subscribe?lang=uk", data={"email": "reader@example.com"})
    with app.app_context():
        wording = db.session.scalar(select(Consent.wording))
    assert wording.startswith("Введіть свою електронну адресу, щоб підписатися (")


def test_a_members_welcome_speaks_the_language_they_signed_up_in(app):
    """Stripe's event shows no language: the one kept with the reader's subscription is used."""
    confirmed_in_ukrainian(app)
    with app.app_context():
        add_tiers()
    response = post_event(
        app.test_client(), make_event("checkout.session.completed", checkout_session())
    )
    assert response.status_code == 200
    (welcome,) = outbox(app, "member_welcome")
    assert welcome.language == "uk"


def test_a_members_welcome_without_a_kept_language_is_in_the_default_one(app):
    with app.app_context():
        add_tiers()
    event = make_event("checkout.session.completed", checkout_session(email="new@example.com"))
    assert post_event(app.test_client(), event).status_code == 200
    (welcome,) = outbox(app, "member_welcome")
    assert welcome.language == "en"
