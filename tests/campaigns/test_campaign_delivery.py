"""A campaign over real SMTP: who gets it, what each message carries, and what readers can do
with it. Mail goes out as an operator sends it: `flask outbox work --once`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from campaigns.models import Campaign
from database import utcnow
from extensions import db
from newsletters.links import unsubscribe_url
from tests.campaigns.helpers import (
    add_newsletter,
    add_reader,
    add_suppression,
    campaign,
    create,
    deliver,
    links_to,
    parts,
    recipients,
    run,
    send,
)
from tests.newsletters.helpers import path_of, statuses
from tests.staff.factories import make_member, make_tier


def test_a_campaign_reaches_exactly_the_confirmed_readers_who_are_not_suppressed(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_newsletter("other", "Other list")
        add_reader("ann@example.com")
        add_reader("bob@example.com")
        add_reader("pending@example.com", status="pending")
        add_reader("left@example.com", status="unsubscribed")
        add_reader("elsewhere@example.com", slug="other")
        add_reader("suppressed@example.com")
        add_suppression("suppressed@example.com")
    campaign_id = create(app)

    result = send(app, campaign_id)
    deliver(app)

    assert "reaches 2 readers" in result.output
    assert recipients(sink) == ["ann@example.com", "bob@example.com"]


def test_running_send_twice_sends_each_reader_one_message(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_reader("ann@example.com")
        add_reader("bob@example.com")
    campaign_id = create(app)

    send(app, campaign_id)
    again = send(app, campaign_id)
    deliver(app)
    deliver(app)

    assert "nothing changed" in again.output
    assert recipients(sink) == ["ann@example.com", "bob@example.com"]


def test_each_message_has_the_subject_both_versions_and_the_footer(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_reader("ann@example.com")
    campaign_id = create(app, subject="The budget, explained")

    send(app, campaign_id)
    deliver(app)

    (message,) = sink.messages()
    text, html = parts(message)
    assert message["Subject"] == "The budget, explained"
    assert message["List-Id"] == '"Morning Briefing" <briefing.newsroom.test>'
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<h1>This week</h1>" in html and "# This week" not in text
    assert "This week\n=========" in text
    for version in (text, html):
        assert "You get this because you subscribed to Morning Briefing on " in version
        assert "The Newsroom, 1 Example Street, Kyiv" in version
        assert len(links_to(version, "unsubscribe")) == 1
        assert len(links_to(version, "preferences")) == 1


def test_the_unsubscribe_link_in_the_mail_is_the_readers_own(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_reader("ann@example.com")
        add_reader("bob@example.com")
    send(app, create(app))
    deliver(app)
    by_reader = {message["To"]: message for message in sink.messages()}
    text, _ = parts(by_reader["ann@example.com"])
    (unsubscribe,) = links_to(text, "unsubscribe")
    (preferences,) = links_to(text, "preferences")
    client = app.test_client()

    assert "ann@example.com" in client.get(preferences).text
    assert b"Morning Briefing" in client.get(unsubscribe).data
    assert client.post(unsubscribe).status_code == 200

    assert statuses(app, "ann@example.com") == {"briefing": "unsubscribed"}
    assert statuses(app, "bob@example.com") == {"briefing": "confirmed"}


def test_one_click_unsubscribe_from_the_list_unsubscribe_header_takes_the_reader_off(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_reader("ann@example.com")
    send(app, create(app))
    deliver(app)
    (message,) = sink.messages()
    header = message["List-Unsubscribe"].strip("<>")
    text, _ = parts(message)

    response = app.test_client().post(
        "/" + header.split("/", 3)[3],
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert links_to(text, "unsubscribe") == ["/" + header.split("/", 3)[3]]
    assert statuses(app, "ann@example.com") == {"briefing": "unsubscribed"}


def test_a_reader_who_unsubscribes_after_it_was_queued_gets_nothing(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_reader("ann@example.com")
        bob = add_reader("bob@example.com")
        bobs_link = path_of(unsubscribe_url(bob, ["briefing"]))  # from an earlier issue
    campaign_id = create(app)
    send(app, campaign_id)

    assert app.test_client().post(bobs_link).status_code == 200
    deliver(app)

    assert recipients(sink) == ["ann@example.com"]
    assert "suppressed 1" in run(app, "campaigns", "status", str(campaign_id)).output


def test_an_address_suppressed_after_it_was_queued_gets_nothing(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_reader("ann@example.com")
        add_reader("bob@example.com")
    send(app, create(app))

    assert run(app, "suppressions", "add", "bob@example.com").exit_code == 0
    deliver(app)

    assert recipients(sink) == ["ann@example.com"]


def test_a_members_only_list_reaches_only_readers_who_are_members(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_newsletter("insiders", "Insiders", members_only=True)
        tier = make_tier("member", 1000)
        make_member(tier, email="member@example.com")
        make_member(tier, email="lapsed@example.com", status="canceled")
        for email in ("member@example.com", "lapsed@example.com", "reader@example.com"):
            add_reader(email, slug="insiders")
    deliver(app)  # the members' welcome mail
    sink.envelopes.clear()

    result = send(app, create(app, slug="insiders"))
    deliver(app)

    assert "reaches 1 readers" in result.output
    assert recipients(sink) == ["member@example.com"]


def test_a_test_send_is_marked_as_a_test_and_carries_no_readers_links(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_reader("ann@example.com")
    campaign_id = create(app, subject="The budget, explained")

    result = run(app, "campaigns", "test", str(campaign_id), "--to", "editor@newsroom.example")
    deliver(app)

    assert result.exit_code == 0, result.output
    (message,) = sink.messages()
    text, html = parts(message)
    assert message["To"] == "editor@newsroom.example"
    assert message["Subject"] == "[Test] The budget, explained"
    assert message["List-Unsubscribe"] is None and message["List-Id"] is None
    assert links_to(text, "unsubscribe") == [] and links_to(html, "preferences") == []
    assert "This is a test of Morning Briefing" in text
    assert campaign(app, campaign_id).status == "draft"
    status = run(app, "campaigns", "status", str(campaign_id)).output
    assert "recipients 0: queued 0, sent 0" in status


def test_a_campaign_is_sent_once_its_last_message_is_done_and_then_in_the_archive(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_reader("ann@example.com")
    campaign_id = create(app, subject="The budget, explained")
    send(app, campaign_id)
    archive_before = app.test_client().get("/newsletters/briefing").data

    deliver(app)  # sends the message
    deliver(app)  # the next pass sees nothing left to go

    finished = campaign(app, campaign_id)
    assert b"The budget, explained" not in archive_before
    assert finished.status == "sent" and finished.finished_at is not None
    assert b"The budget, explained" in app.test_client().get("/newsletters/briefing").data


def test_a_paused_campaign_holds_its_messages_until_it_is_resumed(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_reader("ann@example.com")
    campaign_id = create(app)
    send(app, campaign_id)

    assert run(app, "campaigns", "pause", str(campaign_id)).exit_code == 0
    deliver(app)
    held = recipients(sink)
    assert run(app, "campaigns", "resume", str(campaign_id)).exit_code == 0
    deliver(app)

    assert held == []
    assert recipients(sink) == ["ann@example.com"]


def test_a_cancelled_campaign_sends_nothing_more(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_reader("ann@example.com")
    campaign_id = create(app)
    send(app, campaign_id)

    result = run(app, "campaigns", "cancel", str(campaign_id))
    deliver(app)

    assert result.exit_code == 0, result.output
    assert recipients(sink) == []
    assert "cancelled 1" in run(app, "campaigns", "status", str(campaign_id)).output
    assert campaign(app, campaign_id).status == "cancelled"


def test_a_scheduled_campaign_goes_when_its_time_comes_to_who_is_subscribed_then(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_reader("early@example.com")
    campaign_id = create(app)
    at = (utcnow() + timedelta(hours=2)).isoformat()

    result = send(app, campaign_id, "--at", at)
    deliver(app)
    before = recipients(sink)
    with app.app_context():
        add_reader("later@example.com")
        db.session.execute(  # two hours pass
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(scheduled_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    deliver(app)

    assert "scheduled for" in result.output
    assert before == []
    assert recipients(sink) == ["early@example.com", "later@example.com"]
    assert campaign(app, campaign_id).recipients == 2


def test_script_in_the_markdown_never_reaches_a_reader(smtp_app):
    app, sink = smtp_app
    with app.app_context():
        add_reader("ann@example.com")
    body = 'Hi <script>alert(1)</script><img src="https://x.example/a.png" onerror="alert(2)">\n\n'
    body += '<a href="javascript:alert(3)">x</a> <a href="https://newsroom.example/">ok</a>'

    send(app, create(app, body=body))
    deliver(app)

    text, html = parts(sink.messages()[0])
    assert "<script" not in html and "alert(1)" not in html + text
    assert "onerror" not in html and "javascript:" not in html
    assert '<a href="https://newsroom.example/"' in html
