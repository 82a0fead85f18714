"""`flask campaigns …` as an operator types it: what it prints, how it refuses, its exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import func, select

from campaigns.models import Campaign
from database import utcnow
from extensions import db
from mailer.models import OutboxMessage
from tests.campaigns.helpers import BODY, add_reader, campaign, create, run, send
from tests.mailer.processes import PROJECT_ROOT


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_create_prints_the_new_campaigns_id_alone_on_its_first_line(newsroom, tmp_path):
    body = tmp_path / "issue.md"
    body.write_text(BODY, encoding="utf-8")

    result = run(newsroom, "campaigns", "create", "--newsletter", "briefing",
                 "--subject", "The budget", "--body", str(body))  # fmt: skip

    assert result.exit_code == 0, result.output
    first_line = result.stdout.splitlines()[0]
    assert first_line.isdigit()
    stored = campaign(newsroom, int(first_line))
    assert (stored.status, stored.subject, stored.body_markdown) == ("draft", "The budget", BODY)


def test_create_reads_the_body_from_standard_input(newsroom):
    campaign_id = create(newsroom, body="Hello from a pipe.\n")

    assert campaign(newsroom, campaign_id).body_markdown == "Hello from a pipe.\n"


def test_create_refuses_an_unknown_list_and_stores_nothing(newsroom):
    result = run(newsroom, "campaigns", "create", "--newsletter", "nope",
                 "--subject", "Hi", "--body", "-", input=BODY)  # fmt: skip

    assert result.exit_code == 1
    assert "There is no newsletter 'nope'" in result.output
    assert _count(newsroom, Campaign) == 0


def test_create_refuses_an_empty_subject(newsroom):
    result = run(newsroom, "campaigns", "create", "--newsletter", "briefing",
                 "--subject", "   ", "--body", "-", input=BODY)  # fmt: skip

    assert result.exit_code == 1
    assert "Write a subject" in result.output
    assert _count(newsroom, Campaign) == 0


def test_create_refuses_an_empty_body(newsroom):
    result = run(newsroom, "campaigns", "create", "--newsletter", "briefing",
                 "--subject", "Hi", "--body", "-", input="\n  \n")  # fmt: skip

    assert result.exit_code == 1
    assert "Write the body" in result.output
    assert _count(newsroom, Campaign) == 0


def test_create_refuses_a_body_file_that_is_not_there(newsroom, tmp_path):
    result = run(newsroom, "campaigns", "create", "--newsletter", "briefing",
                 "--subject", "Hi", "--body", str(tmp_path / "missing.md"))  # fmt: skip

    assert result.exit_code == 2
    assert "missing.md" in result.output


def test_send_prints_how_many_readers_it_will_reach(newsroom):
    with newsroom.app_context():
        add_reader("ann@example.com")
        add_reader("bob@example.com")

    result = send(newsroom, create(newsroom))

    assert result.output == "sending: it reaches 2 readers\n"


def test_send_run_again_says_so_and_queues_nothing_more(newsroom):
    with newsroom.app_context():
        add_reader("ann@example.com")
    campaign_id = create(newsroom)
    send(newsroom, campaign_id)

    again = send(newsroom, campaign_id)

    assert "it reaches 1 readers" in again.output
    assert "already under way: nothing changed" in again.output
    assert _count(newsroom, OutboxMessage) == 1


def test_send_refuses_a_time_that_has_passed(newsroom):
    campaign_id = create(newsroom)
    an_hour_ago = (utcnow() - timedelta(hours=1)).isoformat()

    result = run(newsroom, "campaigns", "send", str(campaign_id), "--at", an_hour_ago)

    assert result.exit_code == 1
    assert "That time has passed" in result.output
    assert campaign(newsroom, campaign_id).status == "draft"


def test_send_refuses_a_time_it_cannot_read(newsroom):
    campaign_id = create(newsroom)

    result = run(newsroom, "campaigns", "send", str(campaign_id), "--at", "next tuesday")

    assert result.exit_code == 2
    assert "is not an ISO-8601 time" in result.output


def test_send_at_a_time_without_an_offset_takes_it_as_utc(newsroom):
    campaign_id = create(newsroom)
    tomorrow = (utcnow() + timedelta(days=1)).replace(microsecond=0, tzinfo=None)

    result = send(newsroom, campaign_id, "--at", tomorrow.isoformat())

    assert f"scheduled for {tomorrow:%Y-%m-%d %H:%M} UTC" in result.output
    assert campaign(newsroom, campaign_id).status == "scheduled"


def test_send_refuses_a_cancelled_campaign(newsroom):
    campaign_id = create(newsroom)
    run(newsroom, "campaigns", "cancel", str(campaign_id))

    result = run(newsroom, "campaigns", "send", str(campaign_id))

    assert result.exit_code == 1
    assert "was cancelled; it cannot be sent" in result.output


def test_send_refuses_a_campaign_already_sent(newsroom):
    campaign_id = create(newsroom)
    send(newsroom, campaign_id)  # nobody to send to: sent at once

    result = run(newsroom, "campaigns", "send", str(campaign_id))

    assert result.exit_code == 1
    assert "already sent; it cannot be sent again" in result.output


def test_an_unknown_campaign_is_refused_with_its_id(newsroom):
    for command in ("send", "status", "cancel", "pause", "resume"):
        result = run(newsroom, "campaigns", command, "404")

        assert result.exit_code == 1, command
        assert "There is no campaign 404." in result.output, command


def test_pausing_a_draft_is_refused(newsroom):
    campaign_id = create(newsroom)

    result = run(newsroom, "campaigns", "pause", str(campaign_id))

    assert result.exit_code == 1
    assert "This campaign is draft: it cannot be paused." in result.output


def test_a_test_to_something_that_is_no_address_is_refused(newsroom):
    campaign_id = create(newsroom)

    result = run(newsroom, "campaigns", "test", str(campaign_id), "--to", "not-an-address")

    assert result.exit_code == 1
    assert "Enter a valid email address" in result.output
    assert _count(newsroom, OutboxMessage) == 0


def test_status_counts_queued_sent_failed_and_suppressed(newsroom):
    with newsroom.app_context():
        add_reader("ann@example.com")
        add_reader("bob@example.com")
    campaign_id = create(newsroom, subject="The budget")
    send(newsroom, campaign_id)

    result = run(newsroom, "campaigns", "status", str(campaign_id))

    assert result.exit_code == 0
    assert result.output == (
        "campaign 1: sending · The budget\n"
        "recipients 2: queued 2, sent 0, failed 0, suppressed 0, cancelled 0\n"
    )


def test_newsletters_add_members_only_marks_the_list_and_says_so(app):
    result = run(app, "newsletters", "add", "insiders", "--name", "Insiders", "--members-only")
    again = run(app, "newsletters", "add", "insiders", "--name", "Insiders for members")

    assert result.exit_code == 0, result.output
    assert "insiders is members-only" in result.output
    assert again.exit_code == 0 and "members-only" in again.output


def test_create_in_a_shell_prints_the_id_first_on_stdout_and_logs_json_on_stderr(tmp_path):
    """As a script would run it (`id=$(flask campaigns create … | head -1)`), in production with
    a warning logged at every start: the log stays on stderr, one JSON object a line."""
    env = os.environ | {
        "APP_ENV": "production",
        "SECRET_KEY": "a-production-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "RATELIMIT_ALLOW_MEMORY": "1",  # no Redis: the app warns at start
    }
    env.pop("REDIS_URL", None)

    def flask(*args: str, body: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", *args],
            cwd=PROJECT_ROOT, env=env, input=body, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    assert flask("db", "upgrade").returncode == 0
    assert flask("newsletters", "add", "briefing", "--name", "Briefing").returncode == 0

    result = flask("campaigns", "create", "--newsletter", "briefing",
                   "--subject", "The budget", "--body", "-", body=BODY)  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].isdigit()
    log_lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert any("REDIS_URL is not set" in line["message"] for line in log_lines)
