"""The PostgreSQL signup statements: kept parsed by psycopg, and the same rows for a new
address (its own statement) as for a known one (the general statement)."""

import re

import pytest
from psycopg import _queries
from psycopg.pq import Trace
from sqlalchemy import event, func, select

from database import utcnow
from extensions import db
from newsletters import services, signup_batch, signup_statement
from newsletters.catalogue import open_lists
from newsletters.lists import add_list
from newsletters.models import Consent, Subscriber
from tests.newsletters.helpers import LINK, load_lists, outbox, statuses, subscribe_api


def test_signup_statements_fit_psycopgs_parsed_query_cache():
    # Past this length psycopg parses the placeholders again on every execute (~8 % of a
    # signup's CPU); newsletters/signup_statement.py puts each statement on one line for it.
    limit = _queries.MAX_CACHED_STATEMENT_LENGTH
    assert len(signup_statement._SIGNUP.encode()) <= limit
    assert len(signup_statement._SIGNUP_NEW.encode()) <= limit
    assert len(signup_statement.SIGNUP_NEW_ALONE.encode()) <= limit
    assert len(signup_batch._NEW_ADDRESSES.encode()) <= limit


def test_a_batchs_rows_carry_every_value_the_lone_statement_names():
    # A value the new-address statement gains must be read from the batch's rows too.
    named = set(re.findall(r"%\((\w+)\)s", signup_statement.SIGNUP_NEW_ALONE))
    assert named == set(signup_batch._BATCH_VALUES)


def test_one_line_keeps_literals_and_words_apart():
    statement = "SELECT 'a  b',\n    x\nFROM t\n  WHERE y = ' '\n"
    assert signup_statement.one_line(statement) == "SELECT 'a  b', x FROM t WHERE y = ' '"


def test_a_new_and_a_known_reader_get_the_same_consent_and_confirmation(lists, client):
    # On PostgreSQL a new address is written by its own statement (_SIGNUP_NEW), a known one
    # by the general statement: for the same request both must store the same consent and
    # queue the same confirmation (lists in the order asked, the consent's sorted).
    asked = ["morning-briefing", "investigations", "explaining-ukraine"]
    assert subscribe_api(client, "known@example.com", ["culture-notes"]).status_code == 202
    for email in ("new@example.com", "known@example.com"):
        assert subscribe_api(client, email, asked).status_code == 202

    stored = {}
    for email in ("new@example.com", "known@example.com"):
        consent = latest_consent(lists, email)
        consent_values = (consent.newsletter_slugs, consent.wording)
        mail = [message for message in outbox(lists, "confirm") if message.to_addr == email][-1]
        text = LINK.sub("<link>", mail.text_body).replace(email, "<reader>")
        stored[email] = (consent_values, mail.subject, text, mail.language)

    assert stored["new@example.com"] == stored["known@example.com"]
    (slugs, wording), _, text, _ = stored["new@example.com"]
    assert slugs == "explaining-ukraine investigations morning-briefing"
    names = [text.index(name) for name in ("Morning", "Investigations", "Explaining Ukraine")]
    assert names == sorted(names)  # the mail names the lists in the order asked
    assert wording.endswith(
        "(Morning Briefing; Investigations; Explaining Ukraine with Kate Tsurkan)"
    )


# --- a new address's statement as a transaction of its own (PostgreSQL) -------------------


@pytest.fixture
def cached_lists(make_app):
    """The app as in production, where the open lists are kept a few seconds, so that a signup
    reads nothing before its own statement (tests turn the cache off elsewhere)."""
    app = make_app(LISTS_CACHE_SECONDS=600)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("PostgreSQL's statements: run with TEST_DATABASE_URL")
    load_lists(app)
    with app.app_context():
        open_lists()
    return app


_BOUNDS = {"BEGIN", "COMMIT", "ROLLBACK"}


def transaction_bounds(app, tmp_path, action) -> tuple[list[str], list[bool]]:
    """The BEGINs, COMMITs and ROLLBACKs the app's connections send while `action` runs, from
    libpq's own trace, and each connection's autocommit as it goes back to the pool."""
    trace = tmp_path / "libpq.trace"
    autocommit_at_checkin = []

    def start(dbapi_connection, _record, _proxy):
        dbapi_connection.pgconn.trace(sink.fileno())
        dbapi_connection.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)

    def stop(dbapi_connection, _record):
        autocommit_at_checkin.append(dbapi_connection.autocommit)
        dbapi_connection.pgconn.untrace()

    with trace.open("w") as sink, app.app_context():
        engine = db.engine
        event.listen(engine, "checkout", start)
        event.listen(engine, "checkin", stop)
        try:
            action()
        finally:
            event.remove(engine, "checkout", start)
            event.remove(engine, "checkin", stop)
    sent = [
        line.split("\t")[3].strip().strip('"')
        for line in trace.read_text().splitlines()
        if line.startswith("F\t") and line.split("\t")[2] == "Query"
    ]
    return [command for command in sent if command in _BOUNDS], autocommit_at_checkin


def test_a_new_readers_signup_is_one_statement_with_no_begin_and_no_commit(cached_lists, tmp_path):
    client = cached_lists.test_client()
    answers = []
    commands, autocommit = transaction_bounds(
        cached_lists, tmp_path, lambda: answers.append(subscribe_api(client, "new@example.com"))
    )
    assert answers[0].status_code == 202
    assert commands == []  # two round trips fewer: the statement committed itself
    assert autocommit == [False]  # the connection goes back to the pool as it came
    assert statuses(cached_lists, "new@example.com") == {"explaining-ukraine": "pending"}
    (mail,) = outbox(cached_lists, "confirm")
    assert mail.to_addr == "new@example.com"
    with cached_lists.app_context():
        assert db.session.scalar(select(func.count()).select_from(Consent)) == 1


def test_a_known_readers_signup_still_runs_in_one_transaction(cached_lists, tmp_path):
    # Its first statement writes nothing; the row is locked, and the rest written, in one
    # transaction, as before (the gap and the daily cap hold for concurrent signups).
    client = cached_lists.test_client()
    assert subscribe_api(client, "known@example.com").status_code == 202
    answers = []
    commands, autocommit = transaction_bounds(
        cached_lists,
        tmp_path,
        lambda: answers.append(subscribe_api(client, "known@example.com", ["investigations"])),
    )
    assert answers[0].status_code == 202
    assert commands == ["BEGIN", "COMMIT"]
    assert autocommit == [False]
    assert statuses(cached_lists, "known@example.com") == {
        "explaining-ukraine": "pending",
        "investigations": "pending",
    }
    assert len(outbox(cached_lists, "confirm")) == 2


def test_a_signup_after_a_read_in_its_transaction_joins_that_transaction(lists, tmp_path):
    # Something read first (here the lists, not kept with LISTS_CACHE_SECONDS=0): the
    # connection is in a transaction, so the new address is written in it, and committed once.
    if lists.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("PostgreSQL's statements: run with TEST_DATABASE_URL")
    client = lists.test_client()
    answers = []
    commands, autocommit = transaction_bounds(
        lists, tmp_path, lambda: answers.append(subscribe_api(client, "reader@example.com"))
    )
    assert answers[0].status_code == 202
    assert commands == ["BEGIN", "COMMIT"]
    assert autocommit == [False]
    assert statuses(lists, "reader@example.com") == {"explaining-ukraine": "pending"}
    assert len(outbox(lists, "confirm")) == 1


@pytest.mark.parametrize("reader", ["new", "known"])
def test_a_lists_name_with_quotes_backslashes_and_commas_is_kept_as_it_is(lists, client, reader):
    # The statements take the lists' names as an array literal of their own making.
    name = 'Say "hi", \\ {to} the; world'
    with lists.app_context():
        add_list("odd-name", name)
        db.session.commit()
    email = f"{reader}@example.com"
    if reader == "known":
        assert subscribe_api(client, email).status_code == 202
    assert subscribe_api(client, email, ["odd-name", "investigations"]).status_code == 202
    consent = latest_consent(lists, email)
    assert consent.newsletter_slugs == "investigations odd-name"
    assert consent.wording.endswith(f"({name}; Investigations)")
    assert statuses(lists, email)["odd-name"] == "pending"
    mail = [message for message in outbox(lists, "confirm") if message.to_addr == email][-1]
    assert name in mail.text_body


def latest_consent(app, email: str) -> Consent:
    """The consent recorded last for the reader with this address."""
    with app.app_context():
        subscriber = db.session.scalar(select(Subscriber).where(Subscriber.email == email))
        consent = db.session.scalar(
            select(Consent)
            .where(Consent.subscriber_id == subscriber.id)
            .order_by(Consent.id.desc())
        )
        db.session.expunge(consent)
        return consent


def test_two_signups_of_one_address_in_the_same_microsecond_are_one_reader(
    cached_lists, monkeypatch
):
    # Two threads can read the same clock: the second signup is a known address's all the same.
    now = utcnow()
    monkeypatch.setattr(services, "utcnow", lambda: now)
    client = cached_lists.test_client()
    first = subscribe_api(client, "same@example.com")
    second = subscribe_api(client, "same@example.com")
    assert (first.status_code, second.status_code) == (202, 202)
    assert statuses(cached_lists, "same@example.com") == {"explaining-ukraine": "pending"}
    assert len(outbox(cached_lists, "confirm")) == 1
    with cached_lists.app_context():
        assert db.session.scalar(select(func.count()).select_from(Consent)) == 1
