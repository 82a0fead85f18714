"""New addresses arriving together on PostgreSQL: written by one statement, each signup's rows,
mail and errors its own, and a known address among them still one reader and one mail."""

import threading
import time
import uuid
from datetime import timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from database import utcnow
from extensions import db
from mailer.models import OutboxMessage
from newsletters import signup_batch, signup_statement, signup_writes
from newsletters.catalogue import OpenList, open_lists
from newsletters.lists import DEMO_LISTS
from newsletters.models import Consent, Subscriber, Subscription
from tests.newsletters.helpers import load_lists, outbox, subscribe_api, wait_until_queued


@pytest.fixture
def app(make_app):
    app = make_app(LISTS_CACHE_SECONDS=600)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("PostgreSQL's statement: run with TEST_DATABASE_URL")
    load_lists(app)
    with app.app_context():
        open_lists()  # kept, as in production: a signup then reads nothing before its statement
    return app


def hold_the_first_batch(app, monkeypatch):
    """Each batch's addresses; the first batch waits until `release` is set."""
    batches: list[list[str]] = []
    release = threading.Event()
    write = signup_writes._write_new_addresses

    def held(batch):
        batches.append([parameters["email"] for parameters in batch])
        if len(batches) == 1:
            assert release.wait(10)
        return write(batch)

    monkeypatch.setattr(signup_writes, "_write_new_addresses", held)
    return batches, release


def signups_in_threads(app, emails):
    answers: dict[str, int] = {}

    def sign_up(email):
        answers[email] = subscribe_api(app.test_client(), email).status_code

    threads = [threading.Thread(target=sign_up, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    return threads, answers


def test_signups_arriving_together_are_written_together_each_with_one_mail(app, monkeypatch):
    batches, release = hold_the_first_batch(app, monkeypatch)
    alone = []  # statements for one address in a transaction of their own
    by_itself = signup_statement.in_a_transaction_of_its_own

    def counted(driver, sql, parameters):
        alone.append(parameters["email"])
        return by_itself(driver, sql, parameters)

    monkeypatch.setattr(signup_statement, "in_a_transaction_of_its_own", counted)
    first, answers = signups_in_threads(app, ["first@example.com"])
    deadline = time.monotonic() + 10
    while not batches:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    # Three more while the first is with the database, one of them an address twice.
    together = ["b@example.com", "c@example.com", "B@example.com"]
    others, more_answers = signups_in_threads(app, together)
    wait_until_queued(lambda: app.extensions.get("newsletters.new_addresses"), 3)
    release.set()
    for thread in first + others:
        thread.join(10)

    assert answers == {"first@example.com": 202}
    assert more_answers == dict.fromkeys(together, 202)
    assert batches[0] == ["first@example.com"]
    assert sorted(batches[1]) == sorted(together)  # one statement for the three
    # The first went alone; the address found known in the batch went straight on to its
    # transaction, without trying it as a new one again.
    assert alone == ["first@example.com"]
    with app.app_context():
        emails = db.session.scalars(select(Subscriber.email_key).order_by(Subscriber.email_key))
        assert list(emails) == ["b@example.com", "c@example.com", "first@example.com"]
        assert db.session.scalar(select(func.count()).select_from(Consent)) == 3
    confirmations = sorted(message.to_addr.lower() for message in outbox(app, "confirm"))
    assert confirmations == ["b@example.com", "c@example.com", "first@example.com"]


def explaining_ukraine() -> OpenList:
    (kept,) = [item for item in open_lists() if item.slug == "explaining-ukraine"]
    return kept


def a_list_since_deleted() -> OpenList:
    """A list as a signup may still name it: no row, so its subscription's insert fails."""
    return OpenList(id=987654, slug="gone", name="Gone", description="", is_default=False)


def api_signup_parameters(email: str, lists: list[OpenList]) -> dict:
    """A signup's statement parameters, as the JSON API would make them."""
    consent = {"source": "api", "source_url": None, "ip": "203.0.113.9"}
    consent |= {"user_agent": None, "wording": "Yes"}
    return signup_statement.signup_parameters(
        email, lists, consent, now=utcnow(), language=None, mail_language="en"
    )


def test_a_signup_that_fails_in_a_batch_fails_alone(app):
    with app.app_context():
        kept = explaining_ukraine()
        gone = a_list_since_deleted()
        batch = [
            api_signup_parameters("one@example.com", [kept]),
            api_signup_parameters("broken@example.com", [gone]),  # no such list: it fails
            api_signup_parameters("two@example.com", [kept]),
        ]
        outcomes = signup_writes._write_new_addresses(batch)
        db.session.rollback()
        keys = db.session.scalars(select(Subscriber.email_key).order_by(Subscriber.email_key))
        assert list(keys) == ["one@example.com", "two@example.com"]
    assert outcomes[0][1:] == (True, False) and outcomes[2][1:] == (True, False)
    assert isinstance(outcomes[1], psycopg.errors.ForeignKeyViolation)
    assert sorted(message.to_addr for message in outbox(app, "confirm")) == [
        "one@example.com",
        "two@example.com",
    ]


def backends_of_pooled_connections(count: int) -> set[int]:
    """The server processes behind `count` connections taken from the pool at once."""
    taken = [db.engine.raw_connection() for _ in range(count)]
    try:
        return {connection.driver_connection.info.backend_pid for connection in taken}
    finally:
        for connection in taken:
            connection.close()


def test_signups_written_before_the_connection_broke_stand(app, monkeypatch):
    """A failed batch's signups are written one by one; should the connection break on the way,
    those already committed are answered as written, not as failures."""
    by_itself = signup_statement.in_a_transaction_of_its_own

    def breaking_at_two(driver, sql, parameters):
        if parameters["email"] == "two@example.com":
            driver.pgconn.finish()  # as a failover or a killed backend leaves it
        return by_itself(driver, sql, parameters)

    monkeypatch.setattr(signup_statement, "in_a_transaction_of_its_own", breaking_at_two)
    with app.app_context():
        pooled_before = backends_of_pooled_connections(2)
        kept = explaining_ukraine()
        gone = a_list_since_deleted()
        emails = [
            "one@example.com",
            "broken@example.com",
            "two@example.com",
            "three@example.com",
            "five@example.com",
        ]
        batch = [
            api_signup_parameters(email, [gone if "broken" in email else kept]) for email in emails
        ]
        outcomes = signup_writes._write_new_addresses(batch)
        # As after a failover: the pool's other connections are not trusted either.
        assert not pooled_before & backends_of_pooled_connections(2)
        monkeypatch.setattr(signup_statement, "in_a_transaction_of_its_own", by_itself)
        (after,) = signup_writes._write_new_addresses(
            [api_signup_parameters("four@example.com", [kept])]
        )
        db.session.rollback()
        keys = db.session.scalars(select(Subscriber.email_key).order_by(Subscriber.email_key))
        assert list(keys) == ["four@example.com", "one@example.com"]
    assert outcomes[0][1:] == (True, False)
    assert isinstance(outcomes[1], psycopg.errors.ForeignKeyViolation)
    assert all(isinstance(outcome, psycopg.OperationalError) for outcome in outcomes[2:])
    assert outcomes[3] is not outcomes[4]  # after the break: each raised in its own thread
    assert after[1:] == (True, False)
    assert sorted(message.to_addr for message in outbox(app, "confirm")) == [
        "four@example.com",
        "one@example.com",
    ]


# --- the batch's statement writes what the lone one writes --------------------------------

_text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))


def written_for(email):
    """Everything a signup wrote for `email`, with the ids and the address itself left out."""
    reader = db.session.scalars(select(Subscriber).where(Subscriber.email == email)).one()
    subscriptions = db.session.scalars(
        select(Subscription)
        .where(Subscription.subscriber_id == reader.id)
        .order_by(Subscription.id)
    )
    (consent,) = db.session.scalars(select(Consent).where(Consent.subscriber_id == reader.id))
    (mail,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == email))
    context = dict(mail.context)
    assert (context.pop("email"), context.pop("subscriber_id")) == (email, reader.id)
    assert context.pop("consent_id") == consent.id
    return {
        "reader": [getattr(reader, name) for name in ("language", "created_at",
                   "confirmations_day", "confirmations_sent", "already_subscribed_notice_at")],
        "subscriptions": [
            (item.newsletter_id, item.status, item.created_at, item.updated_at)
            for item in subscriptions
        ],
        "consent": [getattr(consent, name) for name in ("newsletter_slugs", "source",
                    "source_url", "ip", "user_agent", "wording", "signed_up_at")],
        "mail": [mail.kind, context, mail.language, mail.status, mail.attempts,
                 mail.next_attempt_at, mail.created_at, mail.subscriber_id],
    }  # fmt: skip


signups = st.lists(
    st.fixed_dictionaries(
        {
            "lists": st.permutations(range(len(DEMO_LISTS))).flatmap(
                lambda order: st.integers(1, len(order)).map(lambda size: order[:size])
            ),
            # Slugs and names go through array literals and JSON: any text but NUL.
            "names": st.lists(_text, min_size=len(DEMO_LISTS), max_size=len(DEMO_LISTS)),
            "slugs": st.lists(_text, min_size=len(DEMO_LISTS), max_size=len(DEMO_LISTS)),
            "seconds_later": st.integers(0, 10**6),
            "language": st.sampled_from([None, "en", "uk"]),
            "mail_language": st.sampled_from(["en", "uk"]),
            "consent": st.fixed_dictionaries(
                {
                    "source": st.sampled_from(["api", "form", "embed"]),
                    "source_url": st.none() | _text,
                    "ip": st.none() | _text.map(lambda text: text[:64]),
                    "user_agent": st.none() | _text,
                    "wording": _text.filter(bool),
                }
            ),
        }
    ),
    min_size=2,
    max_size=5,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(signups=signups, known_at=st.none() | st.integers(0, 5))
def test_a_batch_writes_what_each_signup_alone_writes(app, signups, known_at):
    """Every value of every row, for lists of any number, order and text, any language, any
    consent text; a known address among them gets nothing written and no id."""
    with app.app_context():
        lists = {item.slug: item for item in open_lists()}
        ordered = [lists[slug] for slug, *_ in DEMO_LISTS]
        batch, alone = [], []
        for signup in signups:
            asked = [
                OpenList(
                    id=ordered[index].id, slug=signup["slugs"][index],
                    name=signup["names"][index], description="", is_default=False,
                )
                for index in signup["lists"]
            ]  # fmt: skip
            parameters = signup_statement.signup_parameters(
                "x", asked, signup["consent"],
                now=utcnow() + timedelta(seconds=signup["seconds_later"]),
                language=signup["language"], mail_language=signup["mail_language"],
            )  # fmt: skip
            local = uuid.uuid4().hex
            for kind, written in (("Batch", batch), ("Alone", alone)):
                email = f"{kind}-{local}@Example.com"
                written.append(parameters | {"email": email, "email_key": email.lower()})
        if known_at is not None:  # an address already signed up, among the new ones
            known = batch[0] | {"email": f"Known-{uuid.uuid4().hex}@Example.com"}
            known["email_key"] = known["email"].lower()
            batch.insert(min(known_at, len(batch)), known)
        pooled = db.engine.raw_connection()
        try:
            driver = pooled.driver_connection
            if known_at is not None:
                signup_statement.in_a_transaction_of_its_own(
                    driver, signup_statement.SIGNUP_NEW_ALONE, known
                )
                before = written_for(known["email"])
                db.session.rollback()
            ids = signup_batch.new_addresses_in_one_statement(driver, batch)
            for parameters in alone:
                statement = signup_statement.SIGNUP_NEW_ALONE
                signup_statement.in_a_transaction_of_its_own(driver, statement, parameters)
        finally:
            pooled.close()
        if known_at is not None:
            assert ids.pop(batch.index(known)) is None
            assert written_for(known["email"]) == before  # nothing more for it
            batch.remove(known)
        for together, by_itself, subscriber_id in zip(batch, alone, ids, strict=True):
            assert written_for(together["email"]) == written_for(by_itself["email"])
            reader = db.session.scalars(select(Subscriber).filter_by(email=together["email"]))
            assert reader.one().id == subscriber_id
        db.session.rollback()


def test_a_batch_with_an_address_twice_is_refused_before_anything_is_sent(app):
    with app.app_context():
        parameters = api_signup_parameters("Twice@example.com", [explaining_ukraine()])
        with pytest.raises(ValueError, match="twice"):
            signup_batch.new_addresses_in_one_statement(None, [parameters, parameters])
