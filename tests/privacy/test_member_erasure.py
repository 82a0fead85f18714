"""A member erases their data: the membership goes on and is counted; nothing names them."""

from __future__ import annotations

from sqlalchemy import select

from extensions import db
from membership.models import Contribution, MemberSubscription
from payments.models import ChargeReversal, Payment, StripeCustomer
from tests.newsletters.helpers import load_lists, outbox
from tests.payments.test_refunds_and_disputes import charge, paid_by
from tests.privacy.helpers import confirmed_reader, data_link, erasure_link
from tests.stripe_helpers import (
    add_tiers,
    checkout_session,
    fixture,
    invoice,
    make_event,
    post_event,
    subscription,
)

READER = "olena@example.com"


def _member(app, client) -> str:
    """A reader of the newsletters who became a member and paid, as Stripe's events say;
    returns the preferences link of their welcome mail."""
    load_lists(app)
    with app.app_context():
        add_tiers()
    created = subscription("sub_olena", "cus_olena", email=READER)
    assert post_event(client, make_event("customer.subscription.created", created)).status_code
    paid = invoice("in_1", subscription_id="sub_olena", customer="cus_olena")
    post_event(client, make_event("invoice.paid", paid))
    post_event(client, make_event("invoice_payment.paid", paid_by("in_1", "pi_1")))
    refunded = charge("ch_1", payment_intent="pi_1", refunded=500, customer="cus_olena")
    post_event(client, make_event("charge.refunded", refunded))
    gift = checkout_session(
        "cs_gift",
        customer="cus_olena",
        email=READER,
        mode="payment",
        subscription_id=None,
        tier_slug=None,
    )
    gift.update(amount_total=2500, currency="usd", metadata={"purpose": "contribution"})
    post_event(client, make_event("checkout.session.completed", gift))
    return confirmed_reader(app, client, READER)


def _membership(app) -> MemberSubscription:
    with app.app_context():
        row = db.session.scalar(select(MemberSubscription))
        db.session.expunge(row)
        return row


def test_a_member_is_still_counted_after_erasing(stripe_app, member_count):
    client = stripe_app.test_client()
    preferences = _member(stripe_app, client)
    assert member_count() == 1

    client.post(erasure_link(stripe_app, client, preferences, READER))

    assert member_count() == 1
    row = _membership(stripe_app)
    assert (row.email, row.status, row.customer_id) == (None, "active", "cus_olena")


def test_erasing_deletes_payments_and_clears_the_address_from_contributions(stripe_app):
    client = stripe_app.test_client()
    preferences = _member(stripe_app, client)

    client.post(erasure_link(stripe_app, client, preferences, READER))

    with stripe_app.app_context():
        assert db.session.scalars(select(Payment)).all() == []
        assert db.session.scalars(select(ChargeReversal)).all() == []
        assert db.session.scalars(select(StripeCustomer)).all() == []
        (gift,) = db.session.scalars(select(Contribution))
        assert (gift.email, gift.amount) == (None, 2500)


def test_the_members_file_holds_their_customer_payments_and_refunds(stripe_app):
    client = stripe_app.test_client()
    preferences = _member(stripe_app, client)

    export = client.get(data_link(stripe_app, client, preferences, READER)).json

    assert export["stripe_customers"] == ["cus_olena"]
    (payment,) = export["payments"]
    assert (payment["stripe_invoice_id"], payment["status"]) == ("in_1", "paid")
    (reversal,) = export["refunds_and_disputes"]
    assert (reversal["stripe_charge_id"], reversal["refunded"]) == ("ch_1", 500)
    (gift,) = export["contributions"]
    assert gift["amount"] == 2500


def _address_known(app) -> bool:
    with app.app_context():
        found = select(StripeCustomer).where(StripeCustomer.email_key == READER)
        return db.session.scalar(found) is not None


def test_the_pages_say_how_to_cancel_through_manage_membership(stripe_app):
    client = stripe_app.test_client()
    preferences = _member(stripe_app, client)
    link = erasure_link(stripe_app, client, preferences, READER)

    before = client.get(link).get_data(as_text=True)
    after = client.post(link).get_data(as_text=True)

    for page in (before, after):
        assert "does not end your membership" in page or "did not end your membership" in page
        assert 'href="http://newsroom.test/membership/portal/' in page
        assert ">Manage membership</a>" in page


def test_a_reader_who_is_no_member_is_not_told_about_memberships(stripe_app):
    client = stripe_app.test_client()
    load_lists(stripe_app)
    preferences = confirmed_reader(stripe_app, client, READER)

    page = client.get(erasure_link(stripe_app, client, preferences, READER)).get_data(as_text=True)

    assert "Manage membership" not in page


def _listed(sub: dict, email: str) -> dict:
    customer = fixture("customer")
    customer.update(id=sub["customer"], email=email)
    return {**sub, "customer": customer}


def test_members_reconcile_after_erasing_changes_nothing(stripe_app, stripe_api, member_count):
    client = stripe_app.test_client()
    preferences = _member(stripe_app, client)
    client.post(erasure_link(stripe_app, client, preferences, READER))
    stripe_api.routes[("GET", "/v1/subscriptions")] = {
        "object": "list",
        "url": "/v1/subscriptions",
        "has_more": False,
        "data": [_listed(subscription("sub_olena", "cus_olena", email=READER), READER)],
    }

    result = stripe_app.test_cli_runner().invoke(args=["members", "reconcile"])

    assert result.exit_code == 0, result.output
    assert "checked 1 subscriptions: 0 changed, 0 not ours; members 1 -> 1" in result.output
    assert member_count() == 1
    assert _membership(stripe_app).email is None
    assert not _address_known(stripe_app)


def test_a_later_event_does_not_bring_the_address_back_nor_a_second_welcome(stripe_app):
    client = stripe_app.test_client()
    preferences = _member(stripe_app, client)
    assert _address_known(stripe_app)  # learned from the events, until the erasure
    client.post(erasure_link(stripe_app, client, preferences, READER))

    renewed = subscription("sub_olena", "cus_olena", email=READER, period_end=1_950_000_000)
    post_event(client, make_event("customer.subscription.updated", renewed))

    row = _membership(stripe_app)
    assert row.email is None
    assert row.current_period_end.timestamp() == 1_950_000_000
    assert outbox(stripe_app, "member_welcome") == []
    assert not _address_known(stripe_app)
