"""POST /stripe/webhook: signed events from Stripe change who counts as a member, once."""

import time

import pytest
from sqlalchemy import func, select

from extensions import db
from mailer.models import OutboxMessage
from mailer.services import preview
from membership.models import Contribution, MemberEvent, MemberSubscription
from payments.models import Payment, ProcessedEvent
from tests.stripe_helpers import (
    FOREIGN_PRICE,
    add_tiers,
    checkout_session,
    invoice,
    make_event,
    post_event,
    signed,
    subscription,
)


def rows(model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def stored(sub_id: str = "sub_1") -> MemberSubscription:
    db.session.expire_all()
    return db.session.execute(
        select(MemberSubscription).where(MemberSubscription.stripe_subscription_id == sub_id)
    ).scalar_one()


@pytest.mark.parametrize("status", ["active", "trialing", "past_due"])
def test_a_subscription_in_a_counting_status_makes_a_member(client, tiers, member_count, status):
    event = make_event("customer.subscription.created", subscription(status=status))
    assert post_event(client, event).status_code == 200
    assert member_count() == 1


@pytest.mark.parametrize(
    "status", ["incomplete", "incomplete_expired", "unpaid", "canceled", "paused"]
)
def test_a_subscription_in_any_other_status_is_kept_but_not_counted(
    client, tiers, member_count, status
):
    event = make_event("customer.subscription.updated", subscription(status=status))
    assert post_event(client, event).status_code == 200
    assert member_count() == 0
    assert stored().status == status


def test_the_same_event_delivered_twice_counts_once_and_answers_200_both_times(
    client, tiers, member_count
):
    event = make_event("customer.subscription.created", subscription())
    first, second = post_event(client, event), post_event(client, event)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json()["outcome"] == "duplicate"
    assert member_count() == 1
    assert rows(MemberEvent) == 1


def test_an_older_event_arriving_after_a_newer_one_changes_nothing(client, tiers, member_count):
    newer = make_event(
        "customer.subscription.updated", subscription(status="canceled"), created=200
    )
    older = make_event("customer.subscription.created", subscription(status="active"), created=100)
    post_event(client, newer)
    assert post_event(client, older).status_code == 200
    assert stored().status == "canceled"
    assert member_count() == 0


def test_on_a_tie_of_created_the_later_arrival_wins(client, tiers):
    post_event(client, make_event("customer.subscription.updated", subscription(), created=100))
    tie = make_event("customer.subscription.updated", subscription(status="past_due"), created=100)
    post_event(client, tie)
    assert stored().status == "past_due"


def test_deleted_is_final_even_against_a_newer_event(client, tiers, member_count):
    deleted = make_event(
        "customer.subscription.deleted", subscription(status="canceled"), created=100
    )
    post_event(client, deleted)
    revived = make_event(
        "customer.subscription.updated", subscription(status="active"), created=500
    )
    assert post_event(client, revived).status_code == 200
    assert stored().deleted is True
    assert member_count() == 0


def test_a_price_that_is_no_tier_of_ours_is_ignored(client, tiers):
    event = make_event("customer.subscription.created", subscription(price=FOREIGN_PRICE))
    response = post_event(client, event)
    assert response.status_code == 200
    assert rows(MemberSubscription) == 0
    assert rows(MemberEvent) == 0
    assert db.session.get(ProcessedEvent, event["id"]).outcome == "ignored"


def test_a_bad_signature_is_refused_and_nothing_recorded(client, tiers):
    event = make_event("customer.subscription.created", subscription())
    response = post_event(client, event, secret="whsec_someone_else")
    assert response.status_code == 400
    assert rows(ProcessedEvent) == 0
    assert rows(MemberSubscription) == 0


def test_a_signature_older_than_five_minutes_is_refused(client, tiers):
    event = make_event("customer.subscription.created", subscription())
    response = post_event(client, event, timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert rows(ProcessedEvent) == 0


def test_a_missing_signature_is_refused(client, tiers):
    event = make_event("customer.subscription.created", subscription())
    response = client.post("/stripe/webhook", json=event)
    assert response.status_code == 400
    assert rows(ProcessedEvent) == 0


def test_an_event_larger_than_the_public_16_kib_limit_is_accepted(client, tiers, member_count):
    big = subscription()
    big["description"] = "x" * 40_000
    assert post_event(client, make_event("customer.subscription.created", big)).status_code == 200
    assert member_count() == 1


def test_any_api_version_is_accepted(client, tiers, member_count):
    event = make_event("customer.subscription.created", subscription())
    event["api_version"] = "2019-02-19"
    assert post_event(client, event).status_code == 200
    assert member_count() == 1


def test_an_event_type_we_do_not_handle_is_acknowledged(client, tiers):
    event = make_event("plan.created", {"id": "plan_1", "object": "plan"})
    assert post_event(client, event).status_code == 200
    assert db.session.get(ProcessedEvent, event["id"]).outcome == "ignored"


def test_invoice_events_keep_payment_history_and_never_change_a_status(client, tiers):
    post_event(client, make_event("customer.subscription.updated", subscription(status="past_due")))
    post_event(client, make_event("invoice.payment_failed", invoice("in_1", amount=1000)))
    post_event(client, make_event("invoice.paid", invoice("in_2", amount=1000)))
    db.session.expire_all()
    payments = {p.stripe_invoice_id: p for p in db.session.execute(select(Payment)).scalars()}
    assert payments["in_1"].status == "failed"
    assert payments["in_2"].status == "paid"
    assert payments["in_2"].stripe_subscription_id == "sub_1"
    assert payments["in_2"].amount == 1000
    assert stored().status == "past_due"


def test_an_invoice_for_a_subscription_not_ours_is_ignored(client, tiers):
    foreign = invoice("in_9", subscription_id="sub_elsewhere", tier_slug=None)
    foreign["lines"]["data"][0]["pricing"] = {"price_details": {"price": FOREIGN_PRICE}}
    assert post_event(client, make_event("invoice.paid", foreign)).status_code == 200
    assert rows(Payment) == 0


def test_one_customer_with_two_subscriptions_counts_once(client, tiers, member_count):
    post_event(client, make_event("customer.subscription.created", subscription("sub_1")))
    second = subscription("sub_2", price="price_member_yearly")
    post_event(client, make_event("customer.subscription.created", second))
    assert member_count() == 1
    post_event(
        client,
        make_event("customer.subscription.deleted", subscription("sub_1", status="canceled")),
    )
    assert member_count() == 1
    second["status"] = "canceled"
    post_event(client, make_event("customer.subscription.deleted", second))
    assert member_count() == 0


def test_member_history_adds_and_removes_a_customer_once(client, tiers):
    post_event(
        client, make_event("customer.subscription.created", subscription("sub_1"), created=10)
    )
    post_event(
        client, make_event("customer.subscription.created", subscription("sub_2"), created=20)
    )
    cancel = subscription("sub_1", status="canceled")
    post_event(client, make_event("customer.subscription.deleted", cancel, created=30))
    cancel = subscription("sub_2", status="canceled")
    post_event(client, make_event("customer.subscription.deleted", cancel, created=40))
    db.session.expire_all()
    history = db.session.execute(select(MemberEvent).order_by(MemberEvent.occurred_at)).scalars()
    assert [(e.stripe_subscription_id, e.member_delta) for e in history] == [
        ("sub_1", 1),
        ("sub_2", 0),
        ("sub_1", 0),
        ("sub_2", -1),
    ]


def test_the_billing_period_end_comes_from_the_subscription_items(client, tiers):
    event = make_event("customer.subscription.created", subscription(period_end=1_900_000_000))
    post_event(client, event)
    assert int(stored().current_period_end.timestamp()) == 1_900_000_000


def test_a_paid_checkout_session_counts_its_subscription_as_active(client, tiers, member_count):
    event = make_event("checkout.session.completed", checkout_session(email="Reader@Example.com"))
    assert post_event(client, event).status_code == 200
    assert member_count() == 1
    assert stored().status == "active"
    assert stored().email == "reader@example.com"


def test_a_newer_subscription_event_overrides_checkout_completed(client, tiers, member_count):
    post_event(client, make_event("checkout.session.completed", checkout_session(), created=100))
    later = make_event("customer.subscription.updated", subscription(status="unpaid"), created=200)
    post_event(client, later)
    assert member_count() == 0


def test_an_unpaid_or_foreign_checkout_session_is_ignored(client, tiers, member_count):
    unpaid = checkout_session("cs_1", payment_status="unpaid")
    foreign = checkout_session("cs_2", tier_slug=None)
    post_event(client, make_event("checkout.session.completed", unpaid))
    post_event(client, make_event("checkout.session.completed", foreign))
    assert member_count() == 0
    assert rows(MemberSubscription) == 0


def test_a_one_time_contribution_is_recorded_and_not_counted(client, tiers, member_count):
    gift = checkout_session("cs_gift", mode="payment", subscription_id=None, tier_slug=None)
    gift.update(amount_total=2500, currency="usd", metadata={"purpose": "contribution"})
    assert post_event(client, make_event("checkout.session.completed", gift)).status_code == 200
    db.session.expire_all()
    contribution = db.session.execute(select(Contribution)).scalar_one()
    assert (contribution.amount, contribution.email) == (2500, "reader@example.com")
    assert member_count() == 0


def test_a_new_member_gets_one_welcome_mail(client, tiers):
    post_event(client, make_event("checkout.session.completed", checkout_session()))
    post_event(client, make_event("customer.subscription.updated", subscription()))
    second = checkout_session("cs_2", subscription_id="sub_2", tier_slug="annual")
    post_event(client, make_event("checkout.session.completed", second))
    db.session.expire_all()
    mails = db.session.execute(select(OutboxMessage)).scalars().all()
    assert [(m.kind, m.to_addr) for m in mails] == [("member_welcome", "reader@example.com")]
    assert "/membership/manage" in preview(mails[0]).text_body


def test_a_returning_member_is_not_welcomed_twice(client, tiers):
    post_event(client, make_event("checkout.session.completed", checkout_session(), created=10))
    canceled = subscription(status="canceled")
    post_event(client, make_event("customer.subscription.deleted", canceled, created=20))
    again = checkout_session("cs_2", subscription_id="sub_2")
    post_event(client, make_event("checkout.session.completed", again, created=30))
    assert rows(OutboxMessage) == 1


def test_the_webhook_needs_no_csrf_token_and_is_never_rate_limited(make_app):
    app = make_app(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="1/minute")
    client = app.test_client()
    with app.app_context():
        add_tiers()
    for n in range(3):
        event = make_event("customer.subscription.created", subscription(f"sub_{n}", f"c{n}"))
        assert post_event(client, event).status_code == 200
    assert client.get("/api/goal").get_json()["members"] == 3


def test_a_member_whose_email_arrives_later_is_welcomed_then(client, tiers):
    created = make_event("customer.subscription.created", subscription(), created=200)
    post_event(client, created)  # no email in this subscription's metadata
    assert rows(OutboxMessage) == 0
    older_checkout = make_event("checkout.session.completed", checkout_session(), created=100)
    post_event(client, older_checkout)
    assert stored().email == "reader@example.com"
    post_event(client, make_event("customer.subscription.updated", subscription(), created=300))
    db.session.expire_all()
    assert [m.to_addr for m in db.session.execute(select(OutboxMessage)).scalars()] == [
        "reader@example.com"
    ]


def test_a_member_whose_email_arrives_with_a_new_status_is_welcomed_then(client, tiers):
    trial = make_event("customer.subscription.created", subscription(status="trialing"))
    post_event(client, trial)
    post_event(client, make_event("checkout.session.completed", checkout_session()))
    assert rows(OutboxMessage) == 1


def test_deleted_is_final_even_when_it_arrives_after_a_newer_event(client, tiers, member_count):
    newer = make_event("customer.subscription.updated", subscription(status="active"), created=500)
    post_event(client, newer)
    deleted = make_event(
        "customer.subscription.deleted", subscription(status="canceled"), created=400
    )
    assert post_event(client, deleted).status_code == 200
    assert stored().deleted is True
    assert member_count() == 0


def test_a_subscription_with_our_tier_among_several_prices_counts(client, tiers, member_count):
    obj = subscription()
    ours = obj["items"]["data"][0]
    foreign = {**ours, "id": "si_addon", "price": {**ours["price"], "id": FOREIGN_PRICE}}
    obj["items"]["data"] = [foreign, ours]
    assert post_event(client, make_event("customer.subscription.created", obj)).status_code == 200
    assert member_count() == 1
    assert stored().tier.slug == "member"


def test_a_member_on_a_tiers_former_price_still_stops_counting_when_they_cancel(
    app, client, tiers, member_count
):
    post_event(client, make_event("customer.subscription.created", subscription(), created=100))
    args = ["tiers", "add", "member", "--name", "Member", "--amount", "1200", "--currency", "usd"]
    moved = app.test_cli_runner().invoke(
        args=[*args, "--interval", "month", "--stripe-price", "price_member_2027"]
    )
    assert moved.exit_code == 0, moved.output
    canceled = subscription(status="canceled")  # still on the former price
    assert post_event(client, make_event("customer.subscription.deleted", canceled, created=200))
    assert member_count() == 0
    assert stored().deleted is True


def test_the_webhook_makes_no_call_to_stripe(stripe_app, stripe_api):
    client = stripe_app.test_client()
    with stripe_app.app_context():
        add_tiers()
    post_event(client, make_event("checkout.session.completed", checkout_session()))
    post_event(client, make_event("customer.subscription.updated", subscription()))
    post_event(client, make_event("invoice.paid", invoice()))
    assert client.get("/api/goal").get_json()["members"] == 1
    assert stripe_api.requests == []


def test_the_webhook_queues_the_welcome_mail_and_sends_nothing_itself(client, tiers):
    post_event(client, make_event("checkout.session.completed", checkout_session()))
    db.session.expire_all()
    [mail] = db.session.execute(select(OutboxMessage)).scalars().all()
    assert (mail.kind, mail.status) == ("member_welcome", "queued")


@pytest.mark.parametrize("header", ["garbage", "t=abc,v1=def", "", "v1=" + "0" * 64])
def test_a_garbage_signature_header_is_refused_and_nothing_recorded(client, tiers, header):
    body = make_event("customer.subscription.created", subscription())
    response = client.post(
        "/stripe/webhook",
        json=body,
        headers={"Stripe-Signature": header},
    )
    assert response.status_code == 400
    assert rows(ProcessedEvent) == 0
    assert rows(MemberSubscription) == 0


def test_a_body_changed_after_signing_is_refused(client, tiers):
    event = make_event("customer.subscription.created", subscription(status="canceled"))
    body, header = signed(event)
    tampered = body.replace('"canceled"', '"active"')
    response = client.post(
        "/stripe/webhook",
        data=tampered,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert rows(MemberSubscription) == 0
