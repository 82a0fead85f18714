"""The signup-spike alarm: admins mailed once an hour at most, a banner on the dashboard."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from database import utcnow
from extensions import db
from newsletters.models import Consent, Subscriber
from operations.models import AlarmNotice
from operations.spike import EveryMinute, check_signup_spike, signup_rate
from tests.newsletters.helpers import load_lists, outbox, subscribe_api
from tests.staff.conftest import sign_in
from tests.staff.factories import make_staff

FLOOR = 10
MULTIPLE = 3
_serial = iter(range(1, 1_000_000))


@pytest.fixture
def spike_app(make_app):
    return make_app(SPIKE_FLOOR=FLOOR, SPIKE_MULTIPLE=MULTIPLE)


@pytest.fixture
def admins(spike_app):
    with spike_app.app_context():
        make_staff("admin@newsroom.test", role="admin")
        make_staff("second-admin@newsroom.test", role="admin")
        make_staff("editor@newsroom.test", role="editor")
        make_staff("former-admin@newsroom.test", role="admin", active=False)
    return ["admin@newsroom.test", "second-admin@newsroom.test"]


def signups(app, count: int, at, source: str = "page") -> None:
    """`count` opt-ins made at `at`, as the signup service records them."""
    with app.app_context():
        for _ in range(count):
            number = next(_serial)
            subscriber = Subscriber(
                email=f"r{number}@example.com", email_key=f"r{number}@example.com"
            )
            db.session.add(subscriber)
            db.session.flush()
            db.session.add(
                Consent(
                    subscriber_id=subscriber.id,
                    newsletter_slugs="daily",
                    source=source,
                    signed_up_at=at,
                )
            )
        db.session.commit()


def alarm_mails(app) -> list[str]:
    return sorted(message.to_addr for message in outbox(app, "signup_spike"))


def check(app, now) -> bool:
    with app.app_context():
        return check_signup_spike(now)


def test_the_usual_rate_is_the_same_ten_minutes_over_the_last_seven_days(spike_app):
    now = utcnow()
    signups(spike_app, 4, now - timedelta(minutes=3))
    for day in range(1, 8):
        signups(spike_app, 2, now - timedelta(days=day, minutes=5))
    signups(spike_app, 9, now - timedelta(days=1, hours=2))  # another time of day
    signups(spike_app, 9, now - timedelta(days=8, minutes=5))  # older than the week
    signups(spike_app, 9, now - timedelta(minutes=20))  # before the last ten minutes

    with spike_app.app_context():
        rate = signup_rate(now)

    assert (rate.recent, rate.usual) == (4, 2.0)


def test_imported_rows_are_not_signups(spike_app):
    now = utcnow()
    signups(spike_app, 5, now - timedelta(minutes=1), source="import")
    signups(spike_app, 2, now - timedelta(minutes=1), source="embed")

    with spike_app.app_context():
        assert signup_rate(now).recent == 2


def test_below_the_floor_nobody_is_mailed(spike_app, admins):
    now = utcnow()
    signups(spike_app, FLOOR - 1, now - timedelta(minutes=2))

    assert check(spike_app, now) is False
    assert alarm_mails(spike_app) == []


def test_a_spike_mails_every_active_admin(spike_app, admins):
    now = utcnow()
    signups(spike_app, FLOOR, now - timedelta(minutes=2))

    assert check(spike_app, now) is True

    assert alarm_mails(spike_app) == admins
    (first, _) = outbox(spike_app, "signup_spike")
    assert f"{FLOOR} in the last 10 minutes" in first.subject


def test_a_busy_hour_that_is_usual_for_the_time_of_day_is_no_spike(spike_app, admins):
    now = utcnow()
    for day in range(1, 8):
        signups(spike_app, 5, now - timedelta(days=day, minutes=4))
    signups(spike_app, 15, now - timedelta(minutes=4))  # 3 × the usual 5: not past it

    assert check(spike_app, now) is False
    signups(spike_app, 1, now - timedelta(minutes=1))
    assert check(spike_app, now) is True


def test_admins_get_one_mail_an_hour_at_most(spike_app, admins):
    now = utcnow()
    signups(spike_app, FLOOR, now - timedelta(minutes=2))
    assert check(spike_app, now) is True

    later = now + timedelta(minutes=30)
    signups(spike_app, FLOOR, later - timedelta(minutes=2))
    assert check(spike_app, later) is False
    assert len(alarm_mails(spike_app)) == len(admins)

    next_hour = now + timedelta(minutes=61)
    signups(spike_app, FLOOR, next_hour - timedelta(minutes=2))
    assert check(spike_app, next_hour) is True
    assert len(alarm_mails(spike_app)) == 2 * len(admins)


@pytest.mark.postgresql
def test_several_workers_checking_at_once_send_one_alarm(spike_app, admins, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("real parallel writers need PostgreSQL (SQLite serialises every writer)")
    now = utcnow()
    signups(spike_app, FLOOR, now - timedelta(minutes=2))
    start = threading.Barrier(4)
    outcomes = []

    def worker():
        start.wait()
        outcomes.append(check(spike_app, now))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == [False, False, False, True]
    assert alarm_mails(spike_app) == admins


def test_outbox_work_raises_the_alarm_and_delivers_it(spike_app, admins, smtp_server):
    sink, smtp_url = smtp_server
    spike_app.config["SMTP_URL"] = smtp_url
    signups(spike_app, FLOOR, utcnow() - timedelta(minutes=1))

    result = spike_app.test_cli_runner().invoke(args=["outbox", "work", "--once"])

    assert result.exit_code == 0, result.output
    delivered = sorted(message["To"] for message in sink.messages())
    assert delivered == admins
    assert "Signups are spiking" in sink.messages()[0]["Subject"]


def test_the_dashboard_shows_a_banner_while_signups_spike(spike_app, admins):
    client = spike_app.test_client()
    assert sign_in(client, "admin@newsroom.test").status_code == 302
    assert 'id="signup-spike"' not in client.get("/staff/").get_data(as_text=True)

    signups(spike_app, FLOOR, utcnow() - timedelta(minutes=1))

    page = client.get("/staff/").get_data(as_text=True)
    assert 'id="signup-spike"' in page
    assert f"{FLOOR} in the last 10 minutes" in page


def test_the_worker_checks_once_a_minute_however_often_it_passes():
    checks = []
    hook = EveryMinute(check=lambda: checks.append(1))

    for _ in range(5):
        hook()

    assert checks == [1]


def test_a_spike_check_that_fails_never_stops_the_mail(spike_app, admins, smtp_server):
    sink, smtp_url = smtp_server
    spike_app.config["SMTP_URL"] = smtp_url
    signups(spike_app, FLOOR, utcnow() - timedelta(minutes=1))
    load_lists(spike_app)
    assert subscribe_api(spike_app.test_client(), "reader@example.com").status_code == 202
    with spike_app.app_context():
        AlarmNotice.__table__.drop(db.engine)  # as if `flask db upgrade` had not run
    try:
        result = spike_app.test_cli_runner().invoke(args=["outbox", "work", "--once"])
    finally:
        with spike_app.app_context():
            AlarmNotice.__table__.create(db.engine)

    assert result.exit_code == 0, result.output
    assert [message["To"] for message in sink.messages()] == ["reader@example.com"]
