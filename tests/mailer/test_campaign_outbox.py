"""A campaign's rows: queued once per reader, checked again when sent, paused, cancelled."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import literal, select

from extensions import db
from mailer.campaign_outbox import (
    campaign_counts,
    campaign_delivery,
    cancel_campaign,
    hold_campaign,
    queue_for_recipients,
    release_campaign,
)
from mailer.models import FAILED, SENT, SUPPRESSED, OutboxMessage
from mailer.recipients import register_recipient_filter
from mailer.rendering import RenderedMail, list_headers, register_renderer
from mailer.suppression_models import REFUSED
from mailer.suppressions import suppress, suppression_for
from mailer.worker import deliver_due
from newsletters.models import Subscriber

KIND = "test_issue"
CAMPAIGN = 7


def render_issue(rows):
    """What the campaigns package does: the body once, each reader's own link per message."""
    body = "The council met late."
    return [
        RenderedMail(
            subject="The Morning Briefing",
            text_body=f"{body}\nLeave: http://newsroom.test/unsubscribe/{row.subscriber_id}\n",
            html_body=f"<p>{body}</p>",
            headers=list_headers(
                '"Morning" <morning.newsroom.test>',
                f"http://newsroom.test/unsubscribe/{row.subscriber_id}",
            ),
        )
        for row in rows
    ]


@pytest.fixture
def campaign_app(make_app, start_smtp):
    sink, smtp_url = start_smtp()
    app = make_app(SMTP_URL=smtp_url)
    register_renderer(KIND, render_issue)
    register_recipient_filter(KIND, lambda rows: {row.id for row in rows})
    return app, sink


def add_readers(*addresses: str) -> list[int]:
    readers = [Subscriber(email=address, email_key=address.lower()) for address in addresses]
    db.session.add_all(readers)
    db.session.commit()
    return [reader.id for reader in readers]


def every_reader():
    return select(
        Subscriber.id.label("subscriber_id"),
        Subscriber.email.label("to_addr"),
        literal(None).label("language"),
        Subscriber.email_key.label("address_key"),
    )


def queue_campaign() -> int:
    queued = queue_for_recipients(KIND, CAMPAIGN, every_reader())
    db.session.commit()
    return queued


def received_by(sink) -> list[str]:
    return sorted(address for envelope in sink.envelopes for address in envelope.rcpt_tos)


def test_each_reader_is_queued_once_however_often_sending_starts(campaign_app):
    app, _ = campaign_app
    with app.app_context():
        add_readers("a@example.com", "b@example.com")

        assert queue_campaign() == 2
        assert queue_campaign() == 0

        assert campaign_counts(CAMPAIGN)["queued"] == 2


def test_a_suppressed_address_is_not_queued(campaign_app):
    app, _ = campaign_app
    with app.app_context():
        add_readers("a@example.com", "Gone@Example.com")
        suppress("gone@example.com", "manual")
        db.session.commit()

        assert queue_campaign() == 1

        rows = db.session.scalars(select(OutboxMessage.to_addr)).all()
        assert rows == ["a@example.com"]


def test_each_reader_gets_their_own_message_rendered_when_sent(campaign_app):
    app, sink = campaign_app
    with app.app_context():
        first, second = add_readers("a@example.com", "b@example.com")
        queue_campaign()

        assert deliver_due().sent == 2

    messages = {message["To"]: message for message in sink.messages()}
    assert messages["a@example.com"]["List-Unsubscribe"] == (
        f"<http://newsroom.test/unsubscribe/{first}>"
    )
    assert f"/unsubscribe/{second}" in messages["b@example.com"].get_body(("plain",)).get_content()


def test_an_address_suppressed_after_queueing_gets_nothing(campaign_app):
    app, sink = campaign_app
    with app.app_context():
        add_readers("a@example.com", "b@example.com")
        queue_campaign()
        suppress("b@example.com", "bounce")
        db.session.commit()

        result = deliver_due()

        assert (result.sent, result.suppressed) == (1, 1)
        assert campaign_counts(CAMPAIGN)[SUPPRESSED] == 1
    assert received_by(sink) == ["a@example.com"]


def test_a_reader_the_campaign_no_longer_wants_gets_nothing(campaign_app):
    app, sink = campaign_app
    with app.app_context():
        _, leaving = add_readers("a@example.com", "b@example.com")
        queue_campaign()
        register_recipient_filter(
            KIND, lambda rows: {row.id for row in rows if row.subscriber_id != leaving}
        )

        deliver_due()

        assert campaign_counts(CAMPAIGN)[SUPPRESSED] == 1
    assert received_by(sink) == ["a@example.com"]


def test_a_held_campaign_waits_and_goes_when_released(campaign_app):
    app, sink = campaign_app
    with app.app_context():
        add_readers("a@example.com", "b@example.com")
        queue_campaign()
        assert hold_campaign(CAMPAIGN) == 2
        db.session.commit()

        assert deliver_due().sent == 0
        assert campaign_counts(CAMPAIGN)["held"] == 2

        assert release_campaign(CAMPAIGN) == 2
        db.session.commit()
        assert deliver_due().sent == 2
    assert received_by(sink) == ["a@example.com", "b@example.com"]


def test_a_cancelled_campaign_sends_nothing_more(campaign_app):
    app, sink = campaign_app
    with app.app_context():
        add_readers("a@example.com", "b@example.com")
        queue_campaign()
        assert cancel_campaign(CAMPAIGN) == 2
        db.session.commit()

        assert deliver_due().sent == 0
        assert campaign_counts(CAMPAIGN) == {
            "queued": 0,
            "sent": 0,
            "failed": 0,
            "suppressed": 0,
            "held": 0,
            "cancelled": 2,
        }
    assert sink.envelopes == []


def test_a_5xx_refusal_of_a_recipient_fails_it_suppresses_it_and_counts_as_bounced(
    campaign_app,
):
    app, sink = campaign_app
    sink.refuse_recipients["b@example.com"] = "550 5.1.1 no such mailbox"
    with app.app_context():
        add_readers("a@example.com", "b@example.com")
        queue_campaign()

        deliver_due()

        statuses = dict(
            db.session.execute(select(OutboxMessage.to_addr, OutboxMessage.status)).all()
        )
        assert statuses == {"a@example.com": SENT, "b@example.com": FAILED}
        suppression = suppression_for("b@example.com")
        assert suppression is not None and suppression.reason == REFUSED
        assert "550 5.1.1" in suppression.detail
        figures = campaign_delivery(CAMPAIGN)
        assert (figures.recipients, figures.delivered, figures.failed, figures.bounced) == (
            2,
            1,
            1,
            1,
        )


def test_a_row_its_renderer_cannot_render_fails_alone(campaign_app):
    app, sink = campaign_app

    def fussy(rows):
        if any(row.to_addr.startswith("bad") for row in rows):
            raise ValueError("no body for this reader")
        return render_issue(rows)

    register_renderer(KIND, fussy)
    with app.app_context():
        add_readers("a@example.com", "bad@example.com", "c@example.com")
        queue_campaign()

        result = deliver_due()

        assert (result.sent, result.failed) == (2, 1)
        failed = db.session.scalar(select(OutboxMessage).where(OutboxMessage.status == FAILED))
        assert failed.to_addr == "bad@example.com"
        assert "no body for this reader" in failed.last_error
    assert received_by(sink) == ["a@example.com", "c@example.com"]


def test_a_delivery_report_after_sending_counts_the_message_as_bounced(campaign_app):
    app, _ = campaign_app
    report = (Path(__file__).parent / "samples" / "postfix_user_unknown.eml").read_bytes()
    with app.app_context():
        add_readers("a@example.com", "Gone.Reader@example.org")
        queue_campaign()
        deliver_due()

    result = app.test_cli_runner().invoke(args=["mail", "bounce"], input=report)

    assert result.exit_code == 0, result.output
    with app.app_context():
        figures = campaign_delivery(CAMPAIGN)
        assert (figures.delivered, figures.failed, figures.bounced) == (1, 0, 1)
