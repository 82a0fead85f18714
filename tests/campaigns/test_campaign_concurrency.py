"""Races a campaign meets on PostgreSQL: `campaigns send` twice at once, two workers starting
one scheduled campaign, two workers sending one campaign. Each reader still gets one message."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from campaigns import services
from campaigns.models import Campaign
from database import utcnow
from extensions import db
from mailer.worker import deliver_due
from tests.campaigns.helpers import add_reader, campaign, create, recipients, run

READERS = [f"reader{n}@example.com" for n in range(60)]


@pytest.fixture
def on_postgresql(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("parallel writers need PostgreSQL (SQLite serialises every writer)")


def _at_once(app, work, count: int = 2) -> list:
    """Run work() in `count` threads that start together; their results (or errors)."""
    start = threading.Barrier(count)
    results: list = []

    def one():
        try:
            with app.app_context():
                start.wait()
                results.append(work())
                db.session.commit()
        except Exception as error:  # a thread's exception would otherwise be lost
            results.append(error)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _with_readers(smtp_app) -> tuple:
    app, sink = smtp_app
    with app.app_context():
        for address in READERS:
            add_reader(address)
    return app, sink, create(app)


def test_two_sends_at_once_queue_each_reader_once(on_postgresql, smtp_app):
    app, sink, campaign_id = _with_readers(smtp_app)

    outcomes = _at_once(app, lambda: services.send(campaign_id), count=4)
    run(app, "outbox", "work", "--once")

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert sum(outcome.changed for outcome in outcomes) == 1
    assert {outcome.readers for outcome in outcomes} == {len(READERS)}
    assert recipients(sink) == sorted(READERS)


def test_two_workers_start_a_due_scheduled_campaign_once(on_postgresql, smtp_app):
    app, sink, campaign_id = _with_readers(smtp_app)
    with app.app_context():
        services.send(campaign_id, at=utcnow() + timedelta(hours=1))
        db.session.execute(  # the hour passes
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(scheduled_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()

    started = _at_once(app, services.start_due_campaigns, count=3)

    assert sorted(map(len, started)) == [0, 0, 1]
    assert campaign(app, campaign_id).recipients == len(READERS)


def test_two_workers_sending_one_campaign_send_each_reader_one_message(on_postgresql, smtp_app):
    app, sink, campaign_id = _with_readers(smtp_app)
    with app.app_context():
        services.send(campaign_id)
        db.session.commit()

    results = _at_once(app, lambda: deliver_due(batch_size=10))

    assert not [result for result in results if isinstance(result, Exception)]
    assert sum(result.sent for result in results) == len(READERS)
    assert recipients(sink) == sorted(READERS)
