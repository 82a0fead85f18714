"""Refunds and lost disputes of a membership invoice: recorded in the payment history and shown
to staff on the person's page; the members count follows the subscription's status alone."""

from __future__ import annotations

import re

import pytest

from tests.staff.conftest import sign_in
from tests.staff.factories import make_newsletter, make_staff, make_subscriber, subscribe
from tests.stripe_helpers import fixture, invoice, make_event, post_event, subscription

T0 = 1_800_000_000


def charge(charge_id="ch_1", *, payment_intent="pi_1", refunded=0, customer="cus_1", **extra):
    obj = fixture("charge")
    obj.update(id=charge_id, payment_intent=payment_intent, customer=customer, amount=1000)
    obj.update(amount_captured=1000, amount_refunded=refunded, refunded=refunded >= 1000)
    obj["refunds"] = {"object": "list", "data": [], "has_more": False}
    obj.update(extra)
    return obj


def refund(refund_id="re_1", *, amount=1000, status="succeeded", charge_id="ch_1"):
    obj = fixture("refund")
    obj.update(id=refund_id, amount=amount, status=status, charge=charge_id, payment_intent="pi_1")
    return obj


def dispute(status="lost", *, amount=1000):
    obj = fixture("dispute")
    obj.update(id="du_1", charge="ch_1", payment_intent="pi_1", status=status, amount=amount)
    return obj


def paid_by(invoice_id="in_1", payment_intent="pi_1"):
    obj = fixture("invoice_payment")
    obj.update(
        invoice=invoice_id, payment={"type": "payment_intent", "payment_intent": payment_intent}
    )
    return obj


def send(client, event_type: str, obj: dict, created: int = T0):
    response = post_event(client, make_event(event_type, obj, created=created))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["outcome"]


@pytest.fixture
def member(app, tiers):
    """reader@example.com joined (cus_1, sub_1) and paid invoice in_1 with PaymentIntent pi_1."""
    client = app.test_client()
    send(client, "customer.subscription.created", subscription(email="reader@example.com"))
    send(client, "invoice.paid", invoice())
    return client


@pytest.fixture
def staff(app, app_ctx):
    make_staff("editor@newsroom.test")
    client = app.test_client()
    sign_in(client, "editor@newsroom.test")
    return client


def payments_row(staff, path="/staff/people/customers/cus_1") -> str:
    page = staff.get(path)
    assert page.status_code == 200
    [row] = re.findall(r"<tr[^>]*>\s*<th scope=\"row\">.*?</tr>", _payments_table(page), re.S)
    return " ".join(row.split())


def _payments_table(page) -> str:
    found = re.search(r'id="payments-table".*?</table>', page.get_data(as_text=True), re.S)
    assert found, "no payments table"
    return found.group(0)


def refunded_cell(row: str) -> str:
    return re.search(r'class="num refunded">(.*?)</td>', row).group(1)


def test_a_refund_is_shown_on_the_members_page_and_the_count_stays(member, staff, member_count):
    send(member, "invoice_payment.paid", paid_by())
    send(member, "charge.refunded", charge(refunded=1000))
    row = payments_row(staff)
    assert "in_1" in row and refunded_cell(row) == "10.00 USD"
    assert member_count() == 1


def test_a_lost_dispute_is_shown_and_the_count_follows_the_subscription(
    member, staff, member_count
):
    send(member, "invoice_payment.paid", paid_by())
    send(member, "charge.dispute.closed", dispute("lost"))
    assert "<strong>lost</strong>: 10.00 USD taken back" in payments_row(staff)
    assert member_count() == 1
    ended = subscription(status="canceled", email="reader@example.com")
    send(member, "customer.subscription.deleted", ended, created=T0 + 60)
    assert member_count() == 0


def test_a_won_dispute_is_shown_as_won_without_money_taken_back(member, staff):
    send(member, "invoice_payment.paid", paid_by())
    send(member, "charge.dispute.closed", dispute("won"))
    row = payments_row(staff)
    assert "won" in row and "taken back" not in row


def test_a_refund_that_arrives_before_its_invoice_link_shows_once_the_link_arrives(member, staff):
    send(member, "charge.refunded", charge(refunded=1000))
    assert refunded_cell(payments_row(staff)) == "—"
    send(member, "invoice_payment.paid", paid_by())
    assert refunded_cell(payments_row(staff)) == "10.00 USD"


def test_a_partial_refund_told_twice_counts_its_money_once(member, staff):
    send(member, "invoice_payment.paid", paid_by())
    send(member, "refund.created", refund(amount=400))
    send(member, "charge.refunded", charge(refunded=400))
    assert refunded_cell(payments_row(staff)) == "4.00 USD"


def test_an_older_charge_event_arriving_late_does_not_undo_a_newer_one(member, staff):
    send(member, "invoice_payment.paid", paid_by())
    send(member, "charge.refunded", charge(refunded=1000), created=T0 + 20)
    send(member, "charge.refunded", charge(refunded=300), created=T0 + 10)
    assert refunded_cell(payments_row(staff)) == "10.00 USD"


def test_a_refund_that_failed_is_not_counted_as_money_back(member, staff):
    send(member, "invoice_payment.paid", paid_by())
    send(member, "refund.created", refund(status="pending"), created=T0)
    send(member, "refund.failed", refund(status="failed"), created=T0 + 30)
    assert refunded_cell(payments_row(staff)) == "—"


def test_a_refund_event_sent_twice_is_handled_once(member, staff):
    send(member, "invoice_payment.paid", paid_by())
    event = make_event("charge.refunded", charge(refunded=1000), created=T0)
    assert post_event(member, event).get_json()["outcome"] == "handled"
    assert post_event(member, event).get_json()["outcome"] == "duplicate"
    assert refunded_cell(payments_row(staff)) == "10.00 USD"


def test_a_refund_of_a_charge_that_paid_no_membership_invoice_is_not_shown(member, staff):
    send(member, "invoice_payment.paid", paid_by())
    send(member, "charge.refunded", charge("ch_gift", payment_intent="pi_gift", refunded=2500))
    assert refunded_cell(payments_row(staff)) == "—"


def test_a_charge_naming_its_invoice_as_older_api_versions_do_is_linked(member, staff):
    send(member, "charge.refunded", charge(payment_intent=None, refunded=1000, invoice="in_1"))
    assert refunded_cell(payments_row(staff)) == "10.00 USD"


def test_the_subscribers_page_shows_the_payments_of_their_membership(app, member, staff):
    send(member, "invoice_payment.paid", paid_by())
    send(member, "charge.refunded", charge(refunded=1000))
    subscriber = make_subscriber("reader@example.com")
    subscribe(subscriber, make_newsletter("daily"))
    row = payments_row(staff, f"/staff/people/subscribers/{subscriber.id}")
    assert refunded_cell(row) == "10.00 USD"


def test_an_unknown_customer_page_is_not_found(staff, app_ctx):
    assert staff.get("/staff/people/customers/cus_nobody").status_code == 404


def test_odd_refund_payloads_are_answered_without_an_error(member):
    for odd in (
        {"id": "re_x", "charge": None},
        {"id": "re_y", "charge": "ch_1", "amount": "lots", "status": 5},
        {"id": "re_z", "charge": {"id": "ch_1"}, "amount": -3},
    ):
        assert post_event(member, make_event("refund.updated", odd)).status_code == 200
    assert (
        post_event(member, make_event("charge.dispute.closed", {"id": "du_q"})).status_code == 200
    )
