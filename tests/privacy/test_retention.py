"""Retention: never-confirmed signups and old mail's contents go after their settings' days.

Rows are made as readers make them, then dated back by writing their timestamps, as the days
would have."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from database import utcnow
from extensions import db
from mailer.daily_jobs import last_runs
from mailer.models import FAILED, QUEUED, SENT, OutboxMessage
from newsletters.models import Consent, Subscriber, Subscription
from privacy.retention import DAILY_JOB
from tests.newsletters.helpers import (
    confirm_path,
    load_lists,
    outbox,
    statuses,
    subscribe_and_confirm,
    subscribe_api,
    unsubscribe_path,
)
from tests.operations.conftest import METRICS_TOKEN, sample, scrape


def days_ago(days: int):
    return utcnow() - timedelta(days=days)


def age_reader(app, email: str, days: int) -> None:
    """As if `email` had signed up (and been mailed its confirmation) `days` ago."""
    with app.app_context():
        subscriber = db.session.scalar(select(Subscriber).where(Subscriber.email == email))
        moment = days_ago(days)
        subscriber.created_at = moment
        subscriber.confirmations_day = moment.date()
        db.session.execute(
            update(Consent)
            .where(Consent.subscriber_id == subscriber.id)
            .values(signed_up_at=moment)
        )
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.to_addr == email).values(created_at=moment)
        )
        db.session.commit()


def purge(runner) -> list[str]:
    result = runner.invoke(args=["maintenance", "purge"])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Subscriber, Subscription, Consent)
        )


def test_never_confirmed_signups_older_than_the_setting_go_with_their_consents(
    lists, client, runner
):
    subscribe_api(client, "old.pending@example.com")
    age_reader(lists, "old.pending@example.com", 31)

    lines = purge(runner)

    assert "never-confirmed subscribers deleted: 1" in lines
    assert "their consent records deleted: 1" in lines
    assert counts(lists) == (0, 0, 0)


def test_recent_confirmed_and_once_confirmed_readers_stay(lists, client, runner):
    subscribe_api(client, "new.pending@example.com")
    age_reader(lists, "new.pending@example.com", 29)
    subscribe_and_confirm(lists, client, "old.confirmed@example.com")
    age_reader(lists, "old.confirmed@example.com", 400)
    subscribe_and_confirm(lists, client, "left@example.com")
    (welcome,) = [mail for mail in outbox(lists, "welcome") if mail.to_addr == "left@example.com"]
    client.post(unsubscribe_path(welcome))
    age_reader(lists, "left@example.com", 400)

    lines = purge(runner)

    assert "never-confirmed subscribers deleted: 0" in lines
    assert counts(lists)[0] == 3
    assert statuses(lists, "left@example.com") == {"explaining-ukraine": "unsubscribed"}


def test_a_reader_who_asked_again_recently_keeps_a_working_link(lists, client, runner):
    subscribe_api(client, "again@example.com")
    age_reader(lists, "again@example.com", 40)
    subscribe_api(client, "again@example.com")  # a fresh confirmation mail today

    purge(runner)

    assert client.get(confirm_path(lists, "again@example.com")).status_code == 200
    assert statuses(lists, "again@example.com") == {"explaining-ukraine": "pending"}


def test_a_purged_readers_confirmation_link_answers_404(lists, client, runner):
    subscribe_api(client, "late@example.com")
    link = confirm_path(lists, "late@example.com")
    age_reader(lists, "late@example.com", 31)

    purge(runner)

    assert client.post(link).status_code == 404


def test_the_pending_retention_follows_its_setting(make_app):
    app = load_lists(make_app(PENDING_RETENTION_DAYS=10))
    client, runner = app.test_client(), app.test_cli_runner()
    subscribe_api(client, "eleven.days@example.com")
    age_reader(app, "eleven.days@example.com", 11)

    lines = purge(runner)

    assert lines[0] == "Retention: never-confirmed signups 10 days, finished mail 30 days."
    assert "never-confirmed subscribers deleted: 1" in lines


def _mail(app, status: str, days: int, to: str = "reader@example.com") -> int:
    with app.app_context():
        row = OutboxMessage(
            kind="welcome",
            to_addr=to,
            context={"email": to, "preferences_url": "http://newsroom.test/preferences/x"},
            status=status,
            created_at=days_ago(days),
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def _row(app, row_id: int) -> OutboxMessage:
    with app.app_context():
        row = db.session.get(OutboxMessage, row_id)
        db.session.expunge(row)
        return row


def test_old_delivered_and_failed_mail_loses_its_contents_and_recipient(lists, runner):
    sent, failed = _mail(lists, SENT, 31), _mail(lists, FAILED, 45)

    lines = purge(runner)

    assert "old messages cleared (contents and recipient): 2" in lines
    for row_id, status in ((sent, SENT), (failed, FAILED)):
        row = _row(lists, row_id)
        assert (row.context, row.to_addr, row.text_body) == (None, "", None)
        assert (row.kind, row.status) == ("welcome", status)


def test_recent_mail_and_mail_still_to_go_are_kept_whole(lists, runner):
    recent, waiting = _mail(lists, SENT, 29), _mail(lists, QUEUED, 45)

    purge(runner)

    for row_id in (recent, waiting):
        row = _row(lists, row_id)
        assert row.to_addr == "reader@example.com" and row.context["email"] == row.to_addr


def test_the_mail_retention_follows_its_setting(make_app):
    app = make_app(OUTBOX_RETENTION_DAYS=7)
    row_id = _mail(app, SENT, 8)

    purge(app.test_cli_runner())

    assert _row(app, row_id).context is None


def test_purging_again_changes_nothing(lists, client, runner):
    subscribe_api(client, "old.pending@example.com")
    age_reader(lists, "old.pending@example.com", 31)
    _mail(lists, SENT, 31)
    purge(runner)

    lines = purge(runner)

    assert lines[1:] == [
        "never-confirmed subscribers deleted: 0",
        "their consent records deleted: 0",
        "old messages cleared (contents and recipient): 0",
    ]


def test_outbox_work_purges_once_a_day(lists, client, runner):
    subscribe_api(client, "first@example.com")
    age_reader(lists, "first@example.com", 31)

    runner.invoke(args=["outbox", "work", "--once"])
    subscribe_api(client, "second@example.com")
    age_reader(lists, "second@example.com", 31)
    runner.invoke(args=["outbox", "work", "--once"])

    with lists.app_context():
        assert last_runs()[DAILY_JOB] == utcnow().date().isoformat()
    assert statuses(lists, "first@example.com") == {}
    assert statuses(lists, "second@example.com") == {"explaining-ukraine": "pending"}


def test_what_the_purge_removed_is_counted_for_metrics(make_app):
    app = load_lists(make_app(METRICS_TOKEN=METRICS_TOKEN))
    client = app.test_client()
    subscribe_api(client, "old.pending@example.com")
    age_reader(app, "old.pending@example.com", 31)
    _mail(app, SENT, 31)
    before = scrape(client)

    purge(app.test_cli_runner())

    after = scrape(client)
    for kind in ("unconfirmed_subscribers", "consent_records", "mail"):
        counted = sample(after, "retention_purged_rows_total", kind=kind)
        assert counted == sample(before, "retention_purged_rows_total", kind=kind) + 1, kind
