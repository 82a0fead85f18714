"""`flask suppressions …` and `flask mail bounce` as an operator and a mail server run them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from extensions import db
from mailer import suppressions
from mailer.suppression_cli import EX_TEMPFAIL
from mailer.suppression_models import BOUNCE, COMPLAINT, MANUAL, Suppression
from tests.conftest import free_port

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture
def flask_cli(app):
    def run(*args: str, stdin: bytes | None = None):
        return app.test_cli_runner().invoke(args=list(args), input=stdin)

    return run


@pytest.fixture
def entry(app):
    def read(address: str):
        with app.app_context():
            return suppressions.suppression_for(address)

    return read


def test_add_suppresses_the_address_as_a_manual_one(flask_cli, entry):
    result = flask_cli("suppressions", "add", " Reader@Example.com ")

    assert result.exit_code == 0, result.output
    assert result.output == "suppressed Reader@example.com (manual)\n"
    assert entry("reader@example.com").reason == MANUAL


def test_add_with_a_known_reason_records_that_reason(flask_cli, entry):
    flask_cli("suppressions", "add", "reader@example.com", "--reason", "Complaint")

    assert entry("reader@example.com").reason == COMPLAINT


def test_add_with_free_text_keeps_it_as_the_note_of_a_manual_suppression(flask_cli, entry):
    flask_cli("suppressions", "add", "reader@example.com", "--reason", "asked by phone, 3 May")

    found = entry("reader@example.com")
    assert (found.reason, found.detail) == (MANUAL, "asked by phone, 3 May")


def test_adding_an_address_already_suppressed_says_so_and_keeps_the_first_reason(flask_cli, entry):
    flask_cli("suppressions", "add", "reader@example.com", "--reason", "bounce")

    result = flask_cli("suppressions", "add", "READER@example.com")

    assert result.exit_code == 0
    assert "READER@example.com was already suppressed (bounce since " in result.output
    assert entry("reader@example.com").reason == BOUNCE


@pytest.mark.parametrize("command", ["add", "remove"])
def test_something_that_is_not_an_address_is_refused_with_a_message(app, flask_cli, command):
    result = flask_cli("suppressions", command, "Joe <joe@example.com>")

    assert result.exit_code == 2
    assert "'Joe <joe@example.com>' is not an email address" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalars(select(Suppression)).all() == []


def test_add_refuses_the_erased_reason(flask_cli, entry):
    result = flask_cli("suppressions", "add", "reader@example.com", "--reason", "erased")

    assert result.exit_code == 2
    assert "hash only" in result.output
    assert entry("reader@example.com") is None


def test_remove_lets_mail_reach_the_address_again(app, flask_cli):
    flask_cli("suppressions", "add", "reader@example.com")

    result = flask_cli("suppressions", "remove", "Reader@example.com")

    assert result.exit_code == 0
    assert result.output == "removed Reader@example.com: list mail reaches it again\n"
    with app.app_context():
        assert not suppressions.is_suppressed("reader@example.com")


def test_removing_an_address_that_is_not_suppressed_says_so(flask_cli):
    result = flask_cli("suppressions", "remove", "stranger@example.com")

    assert result.exit_code == 1
    assert "stranger@example.com is not suppressed; nothing was removed" in result.output


def test_list_shows_reason_address_and_note_and_hides_erased_addresses(app, flask_cli):
    flask_cli("suppressions", "add", "kept@example.com", "--reason", "asked by phone")
    with app.app_context():
        suppressions.suppress_hash_only("erased@example.com")
        db.session.commit()

    result = flask_cli("suppressions", "list")

    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "manual" in lines[1] and "kept@example.com" in lines[1]
    assert lines[1].endswith("asked by phone")
    assert "(erased reader " in lines[0] and "erased@" not in result.output
    assert lines[-1] == "2 suppressed addresses; page 1 of 1"


def test_list_of_an_empty_suppression_list_says_there_are_none(flask_cli):
    assert flask_cli("suppressions", "list").output == "0 suppressed addresses; page 1 of 1\n"


def test_mail_bounce_suppresses_the_recipient_of_a_permanent_failure(flask_cli, entry):
    raw = (SAMPLES / "postfix_user_unknown.eml").read_bytes()

    result = flask_cli("mail", "bounce", stdin=raw)

    assert result.exit_code == 0
    assert result.output == "delivery report: suppressed Gone.Reader@example.org (bounce)\n"
    assert entry("gone.reader@example.org").detail.startswith("5.1.1 smtp; 550 5.1.1")


def test_mail_bounce_suppresses_the_reader_who_complained(flask_cli, entry):
    raw = (SAMPLES / "arf_yahoo_style_abuse.eml").read_bytes()

    result = flask_cli("mail", "bounce", stdin=raw)

    assert result.exit_code == 0
    assert "abuse report: suppressed Annoyed.Reader@example.com (complaint)" in result.output
    assert entry("annoyed.reader@example.com").reason == COMPLAINT


def test_the_same_bounce_twice_says_the_address_was_already_suppressed(flask_cli):
    raw = (SAMPLES / "exim_mailbox_gone.eml").read_bytes()
    flask_cli("mail", "bounce", stdin=raw)

    result = flask_cli("mail", "bounce", stdin=raw)

    assert result.exit_code == 0
    assert result.output == "delivery report: left.company@example.net was already suppressed\n"


@pytest.mark.parametrize(
    "raw",
    [
        (SAMPLES / "postfix_delayed.eml").read_bytes(),
        (SAMPLES / "out_of_office.eml").read_bytes(),
        (SAMPLES / "malformed_report_without_boundary.eml").read_bytes(),
        b"",
        bytes(range(256)) * 40,
        (SAMPLES / "postfix_user_unknown.eml").read_bytes()[:1500],
    ],
    ids=["delayed", "out-of-office", "no-boundary", "empty", "binary", "truncated"],
)
def test_mail_bounce_exits_0_and_suppresses_nobody_for_anything_else(app, flask_cli, raw):
    result = flask_cli("mail", "bounce", stdin=raw)

    assert result.exit_code == 0
    assert "suppressed" not in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalars(select(Suppression)).all() == []


def test_mail_bounce_says_why_a_delay_was_left_alone(flask_cli):
    raw = (SAMPLES / "postfix_delayed.eml").read_bytes()

    result = flask_cli("mail", "bounce", stdin=raw)

    assert result.output == (
        "delivery report: slow.reader@example.net: delayed (4.4.1), "
        "not a permanent failure: left alone\n"
    )


def test_mail_bounce_exits_75_so_the_mail_server_retries_when_the_database_is_down():
    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": unreachable,
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 3}},
            "SECRET_KEY": "x",
        }
    )
    raw = (SAMPLES / "postfix_user_unknown.eml").read_bytes()

    result = app.test_cli_runner().invoke(args=["mail", "bounce"], input=raw)

    assert result.exit_code == EX_TEMPFAIL == 75
    assert "cannot reach the suppression list" in result.output
    assert "try again" in result.output


def test_mail_bounce_exits_75_when_the_suppressions_table_is_missing(app, make_app, tmp_path):
    unmigrated = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.db'}", SQLALCHEMY_ENGINE_OPTIONS={}
    )
    raw = (SAMPLES / "postfix_user_unknown.eml").read_bytes()

    result = unmigrated.test_cli_runner().invoke(args=["mail", "bounce"], input=raw)

    assert result.exit_code == 75
    assert "flask db upgrade" in result.output
