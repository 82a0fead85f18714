"""`flask outbox …` as an operator and a newcomer running `make run` meet it."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from extensions import db
from mailer.models import FAILED, QUEUED
from mailer.services import queue_mail
from mailer.smtp_url import SmtpUrlError, parse_smtp_url
from tests.mailer.conftest import CONFIRM_LINK
from tests.mailer.processes import LineReader

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_console_backend_prints_the_message_with_its_link_easy_to_spot(
    make_app, queue_message, work_once
):
    app = make_app(SMTP_URL="console")
    queue_message(subject="Підтвердіть підписку")

    result = work_once(app)

    assert result.exit_code == 0
    assert "To: reader@example.com" in result.output
    assert "Subject: Підтвердіть підписку" in result.output
    assert "--- text/plain ---" in result.output
    assert "--- text/html ---" in result.output
    assert f"  -> {CONFIRM_LINK}\n" in result.output
    assert "sent 1, retry 0, failed 0" in result.output


def test_memory_backend_keeps_the_message_for_tests(
    make_app, queue_message, work_once, memory_outbox
):
    app = make_app(SMTP_URL="memory")
    queue_message(to_addr="someone@example.com")

    work_once(app)

    [delivery] = memory_outbox
    assert delivery.envelope_to == "someone@example.com"
    assert delivery.message["Subject"] == "Confirm your subscription"


@pytest.mark.parametrize(
    "smtp_url", ["smtp://127.0.0.1:port", "smtp:///no-host", "mailgun://key@x", "smtp://h?tls=1"]
)
def test_work_exits_nonzero_when_smtp_url_is_not_understood(
    make_app, queue_message, work_once, outbox_row, smtp_url
):
    app = make_app(SMTP_URL=smtp_url)
    message_id = queue_message()

    result = work_once(app)

    assert result.exit_code != 0
    assert "SMTP_URL" in result.output
    assert outbox_row(message_id).status == QUEUED


def test_an_smtp_url_not_understood_is_reported_without_its_password(
    make_app, queue_message, work_once
):
    app = make_app(SMTP_URL="smtp://desk:hunter2-secret@mail.example:twenty-five")
    queue_message()

    result = work_once(app)

    assert result.exit_code != 0
    assert "smtp://desk:***@mail.example:twenty-five" in result.output
    assert "hunter2-secret" not in result.output


def test_work_exits_nonzero_without_an_outbox_table(app, make_app, tmp_path, work_once):
    empty = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.db'}", SQLALCHEMY_ENGINE_OPTIONS={}
    )

    result = work_once(empty)

    assert result.exit_code != 0
    assert "cannot read the outbox" in result.output
    assert "flask db upgrade" in result.output


def test_status_counts_messages_by_status(make_app, smtp_server, queue_message, work_once, runner):
    sink, smtp_url = smtp_server
    queue_message()
    sink.refuse_with = "550 5.1.1 no such user"
    work_once(make_app(SMTP_URL=smtp_url))
    queue_message()

    result = runner.invoke(args=["outbox", "status"])

    assert result.exit_code == 0
    assert result.output.strip() == "queued 1 (1 due now), sent 0, failed 1"


def test_requeue_gives_a_failed_message_fresh_attempts(
    make_app, smtp_server, queue_message, work_once, runner, outbox_row
):
    sink, smtp_url = smtp_server
    app = make_app(SMTP_URL=smtp_url, OUTBOX_MAX_ATTEMPTS=1)
    message_id = queue_message()
    sink.refuse_with = "451 4.3.0 try later"
    work_once(app)
    assert outbox_row(message_id).status == FAILED

    sink.refuse_with = None
    assert runner.invoke(args=["outbox", "requeue", str(message_id)]).output == "requeued 1\n"
    work_once(app)

    assert len(sink.messages()) == 1


def test_smtp_url_forms():
    plain = parse_smtp_url("smtp://mailer%40newsroom:p%40ss@mail.example:587?starttls=require")
    assert (plain.host, plain.port, plain.implicit_tls, plain.starttls) == (
        "mail.example",
        587,
        False,
        "require",
    )
    assert (plain.username, plain.password) == ("mailer@newsroom", "p@ss")
    assert parse_smtp_url("smtp://relay").port == 25
    assert parse_smtp_url("smtp://relay").starttls == "auto"
    secure = parse_smtp_url("smtps://relay?timeout=5")
    assert (secure.port, secure.implicit_tls, secure.timeout) == (465, True, 5.0)
    with pytest.raises(SmtpUrlError, match="starttls"):
        parse_smtp_url("smtp://relay?starttls=sometimes")
    with pytest.raises(SmtpUrlError, match="cafile"):
        parse_smtp_url("smtp://relay?cafile=/no/such/bundle.pem")


def test_work_loop_notices_new_mail_and_stops_cleanly_on_sigterm(app, database_url):
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "outbox", "work"],
        cwd=PROJECT_ROOT,
        env=os.environ
        | {
            "DATABASE_URL": database_url,
            "SMTP_URL": "console",
            "SECRET_KEY": "test-secret-key",
            "APP_ENV": "development",
            "PYTHONUNBUFFERED": "1",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = LineReader(worker.stdout)
    try:
        output.wait_for("delivering through console")
        # After the worker started, it must find the row on its own; a template of the app's
        # own, as the worker process registers no test renderer.
        with app.app_context():
            queue_mail(
                to="reader@example.com",
                template="confirm",
                context={
                    "email": "reader@example.com",
                    "newsletters": [{"name": "Daily"}],
                    "confirm_url": CONFIRM_LINK,
                    "ttl_hours": 72,
                },
            )
            db.session.commit()
        output.wait_for(f"  -> {CONFIRM_LINK}")
        output.wait_for("sent 1, retry 0, failed 0")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        output.wait_for("outbox: stopped")
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert "Traceback" not in output.text()
