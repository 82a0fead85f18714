"""The privacy notice: what is kept, why, how long (the settings), and how to get it out; linked
from every signup form and every mail."""

from __future__ import annotations

import re

from tests.campaigns.helpers import create, send
from tests.newsletters.helpers import outbox, subscribe_api
from tests.privacy.helpers import confirmed_reader
from tests.staff.factories import make_member
from tests.stripe_helpers import add_tiers

NOTICE_LINK = 'href="/privacy"'


def test_the_notice_says_how_long_each_thing_is_kept_from_the_settings(make_app):
    app = make_app(PENDING_RETENTION_DAYS=14, OUTBOX_RETENTION_DAYS=45)

    page = app.test_client().get("/privacy").get_data(as_text=True)

    assert "we delete the address and its consent record after 14 days" in page
    assert "After 45 days we delete both" in page
    assert "The link works for 24 hours." in page


def test_the_notice_says_what_is_kept_and_how_to_get_it_out_or_erased(client):
    page = client.get("/privacy").get_data(as_text=True)

    for kept in (
        "Your email address and your newsletters",
        "The record of your consent",
        "your IP address",
        "Membership and payments",
    ):
        assert kept in page
    assert "“Download my data”" in page and "“Delete my data”" in page
    assert 'href="/membership/manage"' in page


def test_the_notice_speaks_ukrainian(client):
    page = client.get("/privacy?lang=uk").get_data(as_text=True)

    assert '<html lang="uk">' in page
    assert "Як ми поводимося з вашими даними" in page
    assert "через 30 днів" in page


def test_every_signup_form_of_the_article_links_to_the_notice(lists, client):
    page = client.get("/").get_data(as_text=True)

    forms = page.count('class="signup-form"')
    assert forms >= 2
    assert page.count(NOTICE_LINK) >= forms


def test_the_embedded_form_opens_the_notice_outside_the_frame(lists, client):
    page = client.get("/embed/signup?newsletter=explaining-ukraine").get_data(as_text=True)

    assert '<a href="/privacy" target="_blank" rel="noopener">' in page


def test_the_membership_join_form_links_to_the_notice(client, tiers):
    page = client.get("/membership").get_data(as_text=True)

    join_form = re.search(r'<form class="join".*?</form>', page, re.S).group(0)
    assert NOTICE_LINK in join_form


def test_every_mail_links_to_the_notice(lists, client):
    """Each kind of mail a reader can get, made as readers make them."""
    preferences = confirmed_reader(lists, client, "olena@example.com")  # confirm, welcome
    subscribe_api(client, "olena@example.com")  # already_subscribed
    client.post(f"{preferences}/data")
    client.post(f"{preferences}/erase")
    with lists.app_context():
        make_member(add_tiers()["member"], email="member@example.com")  # member_welcome
    client.post("/membership/manage", data={"email": "member@example.com"})  # its link
    send(lists, create(lists, "explaining-ukraine"))  # campaign

    mails = outbox(lists)

    kinds = {mail.kind for mail in mails}
    assert kinds == {
        "confirm",
        "welcome",
        "already_subscribed",
        "data_export_link",
        "erasure_link",
        "member_welcome",
        "membership_portal",
        "campaign",
    }
    for mail in mails:
        assert "How we handle your data: http://newsroom.test/privacy" in mail.text_body, mail.kind
        assert 'href="http://newsroom.test/privacy"' in mail.html_body, mail.kind
