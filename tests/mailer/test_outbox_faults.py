"""The outbox broken on purpose, with real worker processes, PostgreSQL and an SMTP sink.

Each test runs `flask outbox work` as an operator does, in processes of its own, and judges by
what the sink received: every reader exactly once, or, after a kill -9, at most one message
again per connection the killed worker had open (the contract's one exception).
"""

from __future__ import annotations

import time
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import func, insert, select

from database import utcnow
from extensions import db
from mailer.models import SENT, OutboxMessage
from tests.conftest import free_port
from tests.faults.tcp_proxy import TcpProxy
from tests.mailer.note_renderer import NOTE
from tests.mailer.processes import start_worker

pytestmark = pytest.mark.postgresql

WORKER_APP = "tests.mailer.worker_app"


@pytest.fixture
def pg_app(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("worker processes side by side need PostgreSQL (TEST_DATABASE_URL)")
    return app


@pytest.fixture
def workers():
    started = []

    def start(*args, **settings):
        worker = start_worker(*args, app=WORKER_APP, **settings)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def queue_readers(app, count: int) -> list[str]:
    addresses = [f"reader{n}@example.com" for n in range(count)]
    now = utcnow()
    rows = [
        {
            "kind": NOTE,
            "to_addr": address,
            "context": {"subject": "Issue 1", "text": "Hello\n", "html": "<p>Hello</p>"},
            "status": "queued",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for address in addresses
    ]
    with app.app_context():
        db.session.execute(insert(OutboxMessage.__table__), rows)
        db.session.commit()
    return addresses


def count_sent(app) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == SENT)
        )
        db.session.remove()
        return count


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def received(sink) -> Counter:
    with sink.lock:
        return Counter(address for envelope in sink.envelopes for address in envelope.rcpt_tos)


def message_ids_by_reader(sink) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for message in sink.messages():
        found.setdefault(message["To"], set()).add(message["Message-ID"])
    return found


def test_two_worker_processes_deliver_each_message_once(pg_app, database_url, start_smtp, workers):
    sink, smtp_url = start_smtp(pipelining=True)
    sink.delay = 0.01  # slow enough that neither worker is done before the other looks
    first = workers(database_url, smtp_url, OUTBOX_SMTP_CONNECTIONS=4)
    second = workers(database_url, smtp_url, OUTBOX_SMTP_CONNECTIONS=4)
    first.output.wait_for("delivering through")
    second.output.wait_for("delivering through")

    addresses = queue_readers(pg_app, 1600)
    wait_until(lambda: count_sent(pg_app) == 1600, 90, "all 1600 marked sent")

    assert received(sink) == Counter(addresses)
    # Both took a share. A worker prints its pass's tally after the pass's last commit, so the
    # line may still be on its way when the rows already read as sent.
    first.output.wait_for("sent ", timeout=15)
    second.output.wait_for("sent ", timeout=15)


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_at_most_one_per_connection(
    pg_app, database_url, start_smtp, workers
):
    sink, smtp_url = start_smtp(pipelining=True)
    sink.delay = 0.01  # the kill comes mid-way, with every connection busy
    addresses = queue_readers(pg_app, 1500)
    settings = {"OUTBOX_SMTP_CONNECTIONS": 4, "OUTBOX_LEASE_SECONDS": 3}

    doomed = workers(database_url, smtp_url, **settings)
    wait_until(lambda: sum(received(sink).values()) >= 300, 60, "300 messages through")
    doomed.kill()
    workers(database_url, smtp_url, **settings)
    wait_until(lambda: count_sent(pg_app) == 1500, 90, "all 1500 marked sent")

    counts = received(sink)
    assert set(counts) == set(addresses)  # nobody lost
    repeated = [address for address, count in counts.items() if count > 1]
    assert len(repeated) <= 4, repeated
    assert max(counts.values()) <= 2
    ids = message_ids_by_reader(sink)
    assert all(len(ids[address]) == 1 for address in repeated)  # the same message again


def test_a_database_blip_mid_batch_hands_rows_back_at_once_and_sends_each_once(
    pg_app, database_url, start_smtp, workers
):
    sink, smtp_url = start_smtp(pipelining=True)
    sink.delay = 0.01  # about 400 messages a second over 4 connections: the cut comes mid-way
    addresses = queue_readers(pg_app, 1500)
    database = urlsplit(database_url)
    proxy = TcpProxy((database.hostname, database.port or 5432)).start()
    through_proxy = urlunsplit(database._replace(netloc=f"postgres@127.0.0.1:{proxy.port}"))
    # A lease far longer than the test: a claimed row comes back only if it is handed back.
    worker = workers(through_proxy, smtp_url, OUTBOX_SMTP_CONNECTIONS=4, OUTBOX_LEASE_SECONDS=600)
    try:
        wait_until(lambda: sum(received(sink).values()) >= 200, 60, "200 messages through")
        proxy.cut()
        time.sleep(4)
        proxy.restore()
        wait_until(lambda: count_sent(pg_app) == 1500, 60, "all 1500 marked sent")
        worker.output.wait_for("database reachable again")
    finally:
        proxy.stop()

    assert received(sink) == Counter(addresses)
    output = worker.output.text()
    failures = [line for line in output.splitlines() if "database unavailable" in line]
    assert failures, output
    assert "Traceback" not in output
    assert "database reachable again" in output
    assert worker.process.poll() is None  # still running, no restart needed


def test_an_smtp_server_down_for_20_seconds_gets_every_message_once_when_back(
    pg_app, database_url, start_smtp, workers
):
    port = free_port()
    addresses = queue_readers(pg_app, 200)
    worker = workers(database_url, f"smtp://127.0.0.1:{port}", OUTBOX_RETRY_SECONDS=2)
    worker.output.wait_for("SMTP server unavailable")

    time.sleep(20)
    sink, _ = start_smtp(port=port, pipelining=True)
    wait_until(lambda: count_sent(pg_app) == 200, 60, "all 200 marked sent")

    assert received(sink) == Counter(addresses)
    assert "Traceback" not in worker.output.text()


def test_a_daily_job_runs_once_a_day_across_two_workers(
    pg_app, database_url, start_smtp, workers, tmp_path
):
    _, smtp_url = start_smtp()
    record = tmp_path / "daily.txt"
    first = workers(database_url, smtp_url, DAILY_JOB_FILE=record)
    second = workers(database_url, smtp_url, DAILY_JOB_FILE=record)
    first.output.wait_for("delivering through")
    second.output.wait_for("delivering through")
    wait_until(record.exists, 30, "the daily job ran")
    time.sleep(2)  # both have looked by now (each looks at start)

    assert len(record.read_text().splitlines()) == 1
    both = first.output.text() + second.output.text()
    assert both.count("daily job test-append-a-line done") == 1
