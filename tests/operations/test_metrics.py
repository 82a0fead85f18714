"""GET /metrics as Prometheus scrapes it: behind a token, and counting what operators alert on."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from database import utcnow
from extensions import db
from mailer.models import OutboxMessage
from mailer.worker import deliver_due
from tests.newsletters.helpers import confirm_path, load_lists, subscribe_api, subscribe_form
from tests.operations.conftest import BEARER, METRICS_TOKEN, sample, scrape
from tests.stripe_helpers import checkout_session, make_event, post_event

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_metrics_is_404_when_no_token_is_set(client):
    assert client.get("/metrics", headers=BEARER).status_code == 404


def test_metrics_is_404_without_the_right_bearer_token(ops_client):
    assert ops_client.get("/metrics").status_code == 404
    assert ops_client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    basic = {"Authorization": f"Basic {METRICS_TOKEN}"}
    assert ops_client.get("/metrics", headers=basic).status_code == 404


def test_metrics_answers_prometheus_text_with_the_contracts_figures(ops_client):
    response = ops_client.get("/metrics", headers=BEARER)

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    for name in (
        "newsletter_signups_total",
        "outbox_queued_messages",
        "outbox_oldest_queued_seconds",
        "membership_members",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text


def test_signups_are_counted_by_source(ops_app, ops_client):
    load_lists(ops_app)
    before = scrape(ops_client)

    assert subscribe_api(ops_client, "api-reader@example.com").status_code == 202
    assert subscribe_form(ops_client, "form-reader@example.com").status_code == 200

    after = scrape(ops_client)
    for source in ("api", "page"):
        counted = sample(after, "newsletter_signups_total", source=source)
        assert counted == sample(before, "newsletter_signups_total", source=source) + 1


def test_a_refused_signup_is_not_counted(ops_app, ops_client):
    load_lists(ops_app)
    before = sample(scrape(ops_client), "newsletter_signups_total", source="api")

    assert subscribe_api(ops_client, "not an address").status_code == 422

    assert sample(scrape(ops_client), "newsletter_signups_total", source="api") == before


def test_confirmations_are_counted(ops_app, ops_client):
    load_lists(ops_app)
    assert subscribe_api(ops_client, "reader@example.com").status_code == 202
    before = sample(scrape(ops_client), "newsletter_confirmations_total")

    assert ops_client.post(confirm_path(ops_app, "reader@example.com")).status_code == 200

    assert sample(scrape(ops_client), "newsletter_confirmations_total") == before + 1


def test_webhook_events_are_counted_by_type_and_outcome(ops_client, tiers):
    event = make_event("checkout.session.completed", checkout_session())
    kind = "checkout.session.completed"
    before = scrape(ops_client)

    assert post_event(ops_client, event).status_code == 200
    assert post_event(ops_client, event).status_code == 200
    assert post_event(ops_client, event, secret="whsec_not_ours").status_code == 400

    after = scrape(ops_client)
    for labels in (
        {"type": kind, "outcome": "handled"},
        {"type": kind, "outcome": "duplicate"},
        {"type": "unverified", "outcome": "invalid_signature"},
    ):
        assert sample(after, "stripe_webhook_events_total", **labels) == (
            sample(before, "stripe_webhook_events_total", **labels) + 1
        )


def test_members_are_the_goal_count(ops_client, tiers):
    assert post_event(ops_client, make_event("checkout.session.completed", checkout_session()))

    assert sample(scrape(ops_client), "membership_members") == 1
    assert ops_client.get("/api/goal").get_json()["members"] == 1


def test_request_latency_is_labelled_by_endpoint_never_by_path(ops_app, ops_client):
    load_lists(ops_app)
    assert subscribe_api(ops_client, "reader@example.com").status_code == 202
    path = confirm_path(ops_app, "reader@example.com")
    labels = {"endpoint": "newsletters.confirm", "method": "GET", "status": "200"}
    before = sample(scrape(ops_client), "http_request_duration_seconds_count", **labels)

    assert ops_client.get(path).status_code == 200

    response = ops_client.get("/metrics", headers=BEARER)
    assert path.rsplit("/", 1)[1] not in response.get_data(as_text=True)
    assert sample(scrape(ops_client), "http_request_duration_seconds_count", **labels) == before + 1


def test_queue_depth_and_the_wait_of_the_oldest_due_message(ops_app, ops_client, smtp_server):
    _, smtp_url = smtp_server
    ops_app.config["SMTP_URL"] = smtp_url
    load_lists(ops_app)
    assert subscribe_api(ops_client, "reader@example.com").status_code == 202
    with ops_app.app_context():
        two_minutes_ago = utcnow() - timedelta(minutes=2)
        db.session.execute(update(OutboxMessage).values(next_attempt_at=two_minutes_ago))
        db.session.commit()

    waiting = scrape(ops_client)
    assert sample(waiting, "outbox_queued_messages") == 1
    assert 120 <= sample(waiting, "outbox_oldest_queued_seconds") < 180

    with ops_app.app_context():
        assert deliver_due().sent == 1
    delivered = scrape(ops_client)
    assert sample(delivered, "outbox_queued_messages") == 0
    assert sample(delivered, "outbox_oldest_queued_seconds") == 0
    assert (
        sample(delivered, "outbox_deliveries_total")
        == sample(waiting, "outbox_deliveries_total") + 1
    )


def test_a_message_waiting_for_its_retry_is_not_counted_as_waiting(ops_app, ops_client):
    load_lists(ops_app)
    assert subscribe_api(ops_client, "reader@example.com").status_code == 202
    with ops_app.app_context():
        later = utcnow() + timedelta(minutes=5)
        db.session.execute(update(OutboxMessage).values(next_attempt_at=later))
        db.session.commit()

    figures = scrape(ops_client)
    assert sample(figures, "outbox_queued_messages") == 1
    assert sample(figures, "outbox_oldest_queued_seconds") == 0


def test_refusals_are_counted_as_retries_or_failures(ops_app, ops_client, smtp_server):
    sink, smtp_url = smtp_server
    ops_app.config["SMTP_URL"] = smtp_url
    load_lists(ops_app)
    before = scrape(ops_client)

    assert subscribe_api(ops_client, "later@example.com").status_code == 202
    sink.refuse_with = "451 4.3.0 try again later"
    with ops_app.app_context():
        assert deliver_due().retry == 1
    assert subscribe_api(ops_client, "never@example.com").status_code == 202
    sink.refuse_with = "550 5.1.1 no such mailbox"
    with ops_app.app_context():
        assert deliver_due().failed == 1

    after = scrape(ops_client)
    for outcome in ("retry", "failed"):
        assert sample(after, "outbox_failures_total", outcome=outcome) == (
            sample(before, "outbox_failures_total", outcome=outcome) + 1
        )


def test_an_outbox_worker_process_counts_into_the_directory_metrics_reads(
    ops_app, ops_client, database_url, smtp_server, tmp_path, monkeypatch
):
    _, smtp_url = smtp_server
    load_lists(ops_app)
    assert subscribe_api(ops_client, "reader@example.com").status_code == 202
    shared = tmp_path / "prometheus"

    worker = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "outbox", "work", "--once"],
        cwd=PROJECT_ROOT,
        env=os.environ
        | {
            "DATABASE_URL": database_url,
            "SMTP_URL": smtp_url,
            "SECRET_KEY": "test-secret-key",
            "BASE_URL": "http://newsroom.test",
            "PROMETHEUS_MULTIPROC_DIR": str(shared),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == 0, worker.stderr
    assert "sent 1" in worker.stdout

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))  # as gunicorn.conf.py sets it
    assert sample(scrape(ops_client), "outbox_deliveries_total") == 1
