"""What PostgreSQL runs in one statement, each event does as it did in statements of its own:
the welcome mail queued with the count's change, and the customer remembered after the
subscription's row is written (asked whether their address was erased of the rows as written).
Every test runs on SQLite too, where the statements stay apart, and must end the same."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import payments.handlers
from addresses import email_key
from extensions import db
from membership.models import MemberEvent
from membership.reader_data import forget_member
from newsletters.models import Subscriber
from payments.models import StripeCustomer
from payments.reader_data import forget_payments
from tests.newsletters.helpers import outbox
from tests.stripe_helpers import checkout_session, make_event, post_event, subscription

READER = "reader@example.com"


def handled(client, event_type: str, obj: dict, created: int) -> None:
    answer = post_event(client, make_event(event_type, obj, created=created))
    assert answer.get_json()["outcome"] == "handled"


def erase(app, address: str = READER) -> None:
    """The reader's erasure as privacy.services.erase_reader does it to their membership."""
    with app.app_context():
        forgotten = forget_member(email_key(address))
        forget_payments(email_key(address), forgotten.customer_ids, forgotten.subscription_ids)
        db.session.commit()


def remembered(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(StripeCustomer.customer_id, StripeCustomer.email_key).order_by(
                StripeCustomer.customer_id
            )
        )
        return [tuple(row) for row in rows]


def test_a_welcome_is_queued_once_in_the_readers_kept_language(client, tiers, member_count):
    db.session.add(Subscriber(email=READER, email_key=READER, language="uk"))
    db.session.commit()
    handled(client, "checkout.session.completed", checkout_session(email=READER), 1_800_000_000)
    handled(client, "customer.subscription.created", subscription(email=READER), 1_800_000_001)
    welcomes = outbox(client.application, "member_welcome")
    assert [(mail.to_addr, mail.language, mail.status) for mail in welcomes] == [
        (READER, "uk", "queued")
    ]
    assert member_count() == 1
    with client.application.app_context():
        history = db.session.execute(select(MemberEvent.member_delta, MemberEvent.recorded_at))
        (delta, recorded_at), *later = history.all()
    assert delta == 1 and recorded_at is not None  # given, not left to a lost default
    assert all(row.recorded_at is not None for row in later)


def test_an_event_that_fails_after_fulfilment_leaves_no_welcome_count_or_customer(
    client, tiers, member_count, monkeypatch
):
    fulfil = payments.handlers.record_membership_session

    def fulfil_then_fail(*args, **kwargs):
        fulfil(*args, **kwargs)
        raise RuntimeError("after fulfilment")

    monkeypatch.setattr(payments.handlers, "record_membership_session", fulfil_then_fail)
    answer = post_event(client, make_event("checkout.session.completed", checkout_session()))
    assert answer.status_code == 500
    assert outbox(client.application) == []
    assert member_count() == 0
    assert remembered(client.application) == []
    with client.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(MemberEvent)) == 0


def test_an_erased_reader_who_returns_with_a_new_subscription_is_remembered_again(
    client, tiers, member_count
):
    """Their first membership still counts: the new one changes the status, not the count,
    and the customer is remembered in the history row's statement."""
    handled(client, "customer.subscription.created", subscription(email=READER), 1_800_000_000)
    erase(client.application)
    assert remembered(client.application) == []

    returned = subscription("sub_2", email=READER)
    handled(client, "customer.subscription.created", returned, 1_800_000_010)
    assert remembered(client.application) == [("cus_1", READER)]
    assert member_count() == 1


def test_an_erased_reader_who_joins_again_is_remembered_with_the_count_change(
    client, tiers, member_count
):
    handled(client, "customer.subscription.created", subscription(email=READER), 1_800_000_000)
    ended = subscription(status="canceled", email=READER)
    handled(client, "customer.subscription.deleted", ended, 1_800_000_005)
    erase(client.application)
    assert member_count() == 0

    handled(
        client, "customer.subscription.created", subscription("sub_2", email=READER), 1_800_000_010
    )
    assert member_count() == 1
    assert remembered(client.application) == [("cus_1", READER)]
    # Welcomed when they first joined (this erasure leaves the outbox be), not a second time.
    assert len(outbox(client.application, "member_welcome")) == 1


def test_an_erased_reader_whose_address_arrives_on_a_later_event_is_remembered_again(
    client, tiers, member_count
):
    """A second subscription known without an address before the erasure gets one: no status
    change, so the customer is remembered in a statement of its own, after the row's."""
    handled(client, "customer.subscription.created", subscription(email=READER), 1_800_000_000)
    handled(client, "customer.subscription.created", subscription("sub_2"), 1_800_000_001)
    erase(client.application)

    handled(
        client, "customer.subscription.updated", subscription("sub_2", email=READER), 1_800_000_010
    )
    assert remembered(client.application) == [("cus_1", READER)]


@pytest.mark.parametrize("status", ["past_due", "canceled"])
def test_an_erased_readers_own_subscription_never_brings_the_address_back(
    client, tiers, member_count, status
):
    """A change of status (with or without the count's) on the erased row itself: the row keeps
    no address, so the customer stays unknown, in whichever statement the remembering runs."""
    handled(client, "customer.subscription.created", subscription(email=READER), 1_800_000_000)
    erase(client.application)

    event_type = (
        "customer.subscription.deleted" if status == "canceled" else "customer.subscription.updated"
    )
    handled(client, event_type, subscription(status=status, email=READER), 1_800_000_010)
    assert remembered(client.application) == []
    assert member_count() == (0 if status == "canceled" else 1)
    with client.application.app_context():
        statuses = db.session.execute(select(MemberEvent.status).order_by(MemberEvent.id))
        assert list(statuses.scalars()) == ["active", status]


def test_a_subscription_event_of_a_reader_never_erased_remembers_them(client, tiers):
    handled(client, "customer.subscription.created", subscription(email=READER), 1_800_000_000)
    assert remembered(client.application) == [("cus_1", READER)]
    moved = subscription(status="past_due", email="New@Example.com")
    handled(client, "customer.subscription.updated", moved, 1_800_000_010)
    assert remembered(client.application) == [("cus_1", "new@example.com")]


def test_a_welcome_owed_to_an_address_that_came_late_is_queued_once_with_the_customer(
    client, tiers, member_count
):
    """No history row for an event that only brings the address: the welcome and the customer
    go in one statement of their own (the welcome's, on PostgreSQL)."""
    handled(client, "customer.subscription.created", subscription(), 1_800_000_000)
    assert outbox(client.application, "member_welcome") == []
    handled(client, "customer.subscription.updated", subscription(email=READER), 1_800_000_010)
    handled(client, "customer.subscription.updated", subscription(email=READER), 1_800_000_020)
    welcomes = outbox(client.application, "member_welcome")
    assert [(mail.to_addr, mail.language) for mail in welcomes] == [(READER, "en")]
    assert remembered(client.application) == [("cus_1", READER)]
    assert member_count() == 1
