"""Stripe retries and sends in parallel: concurrent deliveries must still count once."""

import threading

import pytest
from sqlalchemy import func, select

from extensions import db
from membership.models import MemberEvent
from payments.models import ProcessedEvent
from tests.stripe_helpers import make_event, post_event, subscription

pytestmark = pytest.mark.postgresql


@pytest.fixture(autouse=True)
def needs_postgresql(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("real parallel writers need PostgreSQL (SQLite serialises every writer)")


def deliver_in_parallel(app, events: list[dict]) -> list[int]:
    barrier = threading.Barrier(len(events))
    statuses: list[int] = []
    lock = threading.Lock()

    def deliver(event):
        client = app.test_client()
        barrier.wait()
        status = post_event(client, event).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=deliver, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_twenty_concurrent_deliveries_of_one_event_count_once(app, tiers, member_count):
    event = make_event("customer.subscription.created", subscription())
    statuses = deliver_in_parallel(app, [event] * 20)
    assert statuses == [200] * 20
    assert member_count() == 1
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(ProcessedEvent)).scalar_one() == 1
    assert db.session.execute(select(func.count()).select_from(MemberEvent)).scalar_one() == 1


def test_concurrent_subscriptions_of_one_customer_add_one_member_to_the_history(
    app, tiers, member_count
):
    events = [
        make_event("customer.subscription.created", subscription(f"sub_{n}")) for n in range(8)
    ]
    assert deliver_in_parallel(app, events) == [200] * 8
    assert member_count() == 1
    db.session.expire_all()
    added = db.session.execute(select(func.sum(MemberEvent.member_delta))).scalar_one()
    assert added == 1


def test_concurrent_new_members_keep_the_stored_count_exact(app, tiers, member_count):
    events = [
        make_event("customer.subscription.created", subscription(f"sub_{n}", f"cus_{n}"))
        for n in range(20)
    ]
    assert deliver_in_parallel(app, events) == [200] * 20
    assert member_count() == 20
