"""POST /stripe/webhook in few round trips: what an event's handling reads in a statement it
runs anyway (the claim of the event) is not read again, and is never kept past the event."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event as sql_event
from sqlalchemy import select
from sqlalchemy.engine import Engine

from extensions import db
from membership.models import MemberEvent, Tier
from payments.models import StripeCustomer
from tests.newsletters.helpers import outbox
from tests.stripe_helpers import (
    FOREIGN_PRICE,
    checkout_session,
    invoice,
    make_event,
    post_event,
    subscription,
)


@contextmanager
def statements_run():
    run: list[str] = []

    def remember(conn, cursor, statement, *args):
        run.append(" ".join(statement.split()))

    sql_event.listen(Engine, "before_cursor_execute", remember)
    try:
        yield run
    finally:
        sql_event.remove(Engine, "before_cursor_execute", remember)


def own_tier_lookups(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith("SELECT") and "FROM tiers" in s]


EVENTS_WITH_A_TIER = {
    "checkout": lambda: make_event("checkout.session.completed", checkout_session()),
    "subscription": lambda: make_event("customer.subscription.created", subscription()),
    "invoice": lambda: make_event("invoice.paid", invoice()),
}


@pytest.mark.parametrize("kind", EVENTS_WITH_A_TIER)
def test_an_events_tier_is_read_with_its_claim_not_in_a_statement_of_its_own(client, tiers, kind):
    with statements_run() as statements:
        answer = post_event(client, EVENTS_WITH_A_TIER[kind]())
    assert answer.get_json()["outcome"] == "handled"
    assert own_tier_lookups(statements) == []


def test_a_subscription_whose_first_price_is_not_ours_still_finds_our_tier(
    client, tiers, member_count
):
    obj = subscription()
    ours = obj["items"]["data"][0]
    foreign = {**ours, "id": "si_addon", "price": {**ours["price"], "id": FOREIGN_PRICE}}
    obj["items"]["data"] = [foreign, ours]
    answer = post_event(client, make_event("customer.subscription.created", obj))
    assert answer.get_json()["outcome"] == "handled"
    assert member_count() == 1


def test_a_tier_given_a_price_after_an_event_for_it_was_ignored_counts_the_next_one(
    client, tiers, member_count
):
    first = make_event("customer.subscription.created", subscription(price="price_new"))
    assert post_event(client, first).get_json()["outcome"] == "ignored"

    db.session.add(
        Tier(
            slug="new",
            name="New",
            amount=700,
            currency="usd",
            interval="month",
            stripe_price_id="price_new",
        )
    )
    db.session.commit()
    second = make_event("customer.subscription.updated", subscription(price="price_new"))
    assert post_event(client, second).get_json()["outcome"] == "handled"
    assert member_count() == 1


def test_a_duplicate_event_reads_no_tier(client, tiers):
    event = make_event("customer.subscription.created", subscription())
    post_event(client, event)
    with statements_run() as statements:
        answer = post_event(client, event)
    assert answer.get_json()["outcome"] == "duplicate"
    assert own_tier_lookups(statements) == []


def own_statements_writing(table: str, statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith(f"INSERT INTO {table} ")]


def test_a_new_members_checkout_remembers_the_customer_and_counts_them_in_shared_round_trips(
    client, tiers, member_count, database_url
):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite takes no data-modifying WITH: its statements stay apart")
    event = make_event(
        "checkout.session.completed", checkout_session(customer="cus_9", email="Nine@Example.com")
    )
    with statements_run() as statements:
        answer = post_event(client, event)
    assert answer.get_json()["outcome"] == "handled"
    # The customer remembered in the round trip of fulfilment's read, the counter's shard and
    # the welcome mail in the history row's: none in a statement of its own.
    assert own_statements_writing("stripe_customers", statements) == []
    assert own_statements_writing("app_settings", statements) == []
    assert own_statements_writing("outbox", statements) == []
    assert len(statements) == 4  # the claim, the read, the row, the history with the rest
    assert [mail.to_addr for mail in outbox(client.application, "member_welcome")] == [
        "nine@example.com"
    ]
    assert member_count() == 1
    with client.application.app_context():
        remembered = db.session.execute(
            select(StripeCustomer.customer_id, StripeCustomer.email_key)
        ).all()
        history = db.session.execute(select(MemberEvent.member_delta)).scalars().all()
    assert [tuple(row) for row in remembered] == [("cus_9", "nine@example.com")]
    assert history == [1]


def test_a_cancellation_takes_the_member_off_the_count_with_its_history_row(
    client, tiers, member_count
):
    joined = make_event("customer.subscription.created", subscription())
    assert post_event(client, joined).get_json()["outcome"] == "handled"
    assert member_count() == 1
    ended = make_event("customer.subscription.deleted", subscription(status="canceled"))
    assert post_event(client, ended).get_json()["outcome"] == "handled"
    assert member_count() == 0
    with client.application.app_context():
        deltas = db.session.execute(
            select(MemberEvent.member_delta).order_by(MemberEvent.id)
        ).scalars()
        assert list(deltas) == [1, -1]


SUBSCRIPTION_CHANGES = {
    # (the event's type, its status, how the statement after its claim, read and row begins)
    "no change": ("customer.subscription.created", "active", "INSERT INTO stripe_customers "),
    "a new status": ("customer.subscription.updated", "past_due", "WITH "),
    "a member less": ("customer.subscription.deleted", "canceled", "WITH "),
}


@pytest.mark.parametrize("change", SUBSCRIPTION_CHANGES)
def test_a_subscription_event_remembers_its_customer_with_its_history_row_if_any(
    client, tiers, member_count, database_url, change
):
    """The customer is remembered after the row is written (asked of the rows as written
    whether their address was erased): in the statement of the history row and the count's
    change where the event writes one, else in a statement of its own, as before."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite takes no data-modifying WITH: its statements stay apart")
    joined = checkout_session(customer="cus_9", subscription_id="sub_9", email="nine@example.com")
    post_event(client, make_event("checkout.session.completed", joined, created=1_800_000_000))
    event_type, status, last_statement = SUBSCRIPTION_CHANGES[change]
    changed = subscription("sub_9", "cus_9", status=status, email="Nine@Example.com")
    with statements_run() as statements:
        answer = post_event(client, make_event(event_type, changed, created=1_800_000_010))
    assert answer.get_json()["outcome"] == "handled"
    assert len(statements) == 4  # the claim, the read, the row, then one statement more
    assert statements[-1].startswith(last_statement)
    assert "INSERT INTO stripe_customers " in statements[-1]
    assert member_count() == (0 if status == "canceled" else 1)
    with client.application.app_context():
        remembered = db.session.execute(
            select(StripeCustomer.customer_id, StripeCustomer.email_key)
        ).all()
        history = db.session.execute(
            select(MemberEvent.status, MemberEvent.recorded_at).order_by(MemberEvent.id)
        ).all()
    assert [tuple(row) for row in remembered] == [("cus_9", "nine@example.com")]
    expected = ["active"] if change == "no change" else ["active", status]
    assert [row.status for row in history] == expected
    assert all(row.recorded_at is not None for row in history)
