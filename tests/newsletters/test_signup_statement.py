"""The PostgreSQL signup statements: kept parsed by psycopg, and the same rows for a new
address (its own statement) as for a known one (the general statement)."""

from psycopg import _queries
from sqlalchemy import select

from extensions import db
from newsletters import signup_statement
from newsletters.models import Consent, Subscriber
from tests.newsletters.helpers import LINK, outbox, subscribe_api


def test_signup_statements_fit_psycopgs_parsed_query_cache():
    # Past this length psycopg parses the placeholders again on every execute (~8 % of a
    # signup's CPU); newsletters/signup_statement.py puts each statement on one line for it.
    limit = _queries.MAX_CACHED_STATEMENT_LENGTH
    assert len(signup_statement._SIGNUP.encode()) <= limit
    assert len(signup_statement._SIGNUP_NEW.encode()) <= limit


def test_one_line_keeps_literals_and_words_apart():
    statement = "SELECT 'a  b',\n    x\nFROM t\n  WHERE y = ' '\n"
    assert signup_statement._one_line(statement) == "SELECT 'a  b', x FROM t WHERE y = ' '"


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
        with lists.app_context():
            subscriber = db.session.scalar(select(Subscriber).where(Subscriber.email == email))
            consent = db.session.scalar(
                select(Consent)
                .where(Consent.subscriber_id == subscriber.id)
                .order_by(Consent.id.desc())
            )
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
