"""Without STRIPE_SECRET_KEY the whole journey runs locally, through the real webhook code."""

import re

from sqlalchemy import func, select

from extensions import db
from mailer.models import OutboxMessage
from mailer.services import preview
from membership.models import Contribution, MemberSubscription
from payments.models import Payment, ProcessedEvent
from tests.stripe_helpers import add_tiers, simulated_checkout_page

TEST_MODE = b"Test mode: no payment is taken"


def count(model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_the_simulated_journey_counts_the_new_member_and_queues_a_welcome(client, tiers):
    before = client.get("/api/goal").get_json()["members"]
    checkout_page = simulated_checkout_page(client)
    page = client.get(checkout_page)
    assert page.status_code == 200
    assert TEST_MODE in page.data
    paid = client.post(checkout_page)
    assert paid.status_code == 303
    assert paid.headers["Location"].startswith("/membership/welcome?session_id=")
    welcome = client.get(paid.headers["Location"])
    assert welcome.status_code == 200
    assert TEST_MODE in welcome.data
    assert b"You are now a Member" in welcome.data
    assert client.get("/api/goal").get_json()["members"] == before + 1
    mail = db.session.execute(select(OutboxMessage)).scalar_one()
    assert (mail.kind, mail.to_addr) == ("member_welcome", "reader@example.com")


def test_the_simulated_payment_sends_stripes_three_events_through_the_webhook(client, tiers):
    client.post(simulated_checkout_page(client))
    db.session.expire_all()
    types = sorted(e.type for e in db.session.execute(select(ProcessedEvent)).scalars())
    assert types == ["checkout.session.completed", "customer.subscription.created", "invoice.paid"]
    assert count(Payment) == 1
    assert db.session.execute(select(MemberSubscription)).scalar_one().status == "active"


def test_pressing_pay_twice_counts_once(client, tiers):
    checkout_page = simulated_checkout_page(client)
    client.post(checkout_page)
    client.post(checkout_page)
    assert client.get("/api/goal").get_json()["members"] == 1
    assert count(MemberSubscription) == 1


def test_a_tampered_simulated_session_is_refused(client, tiers):
    checkout_page = simulated_checkout_page(client)
    assert client.post(checkout_page + "x").status_code == 400
    assert client.get("/membership/welcome?session_id=forged").status_code == 400
    assert count(ProcessedEvent) == 0


def test_the_simulated_checkout_does_not_exist_in_stripe_mode(make_app, client, tiers):
    checkout_page = simulated_checkout_page(client)
    stripe_app = make_app(STRIPE_SECRET_KEY="sk_test_x")
    assert stripe_app.test_client().get(checkout_page).status_code == 404


def test_a_simulated_contribution_is_recorded_not_counted(client, tiers):
    response = client.post("/membership/contribute", data={"amount": "12.50", "email": ""})
    checkout_page = response.headers["Location"]
    assert TEST_MODE in client.get(checkout_page).data
    welcome = client.get(client.post(checkout_page).headers["Location"])
    assert b"Thank you for your contribution" in welcome.data
    contribution = db.session.execute(select(Contribution)).scalar_one()
    assert contribution.amount == 1250
    assert client.get("/api/goal").get_json()["members"] == 0


def portal_link_from_mail() -> str:
    db.session.expire_all()
    mail = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.kind == "membership_portal")
    ).scalar_one()
    text = preview(mail).text_body
    return re.search(r"http://newsroom\.test(/membership/portal/\S+)", text).group(1)


def test_a_member_cancels_in_the_simulated_portal_and_the_count_drops(client, tiers):
    client.post(simulated_checkout_page(client))
    assert client.get("/api/goal").get_json()["members"] == 1
    client.post("/membership/manage", data={"email": "reader@example.com"})
    portal = client.get(portal_link_from_mail())
    assert portal.status_code == 200
    assert TEST_MODE in portal.data
    subscription = db.session.execute(select(MemberSubscription)).scalar_one()
    canceled = client.post(
        portal_link_from_mail() + "/cancel",
        data={"subscription": subscription.stripe_subscription_id},
    )
    assert canceled.status_code == 303
    assert client.get("/api/goal").get_json()["members"] == 0
    db.session.expire_all()
    assert db.session.execute(select(MemberSubscription)).scalar_one().deleted is True


def test_the_simulated_journey_works_with_csrf_protection_on(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        add_tiers()
    client = app.test_client()
    checkout_page = simulated_checkout_page(client)  # the join form itself needs no token
    page = client.get(checkout_page).get_data(as_text=True)
    assert client.post(checkout_page).status_code == 400  # Pay without the page's token
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    paid = client.post(checkout_page, data={"csrf_token": token})
    assert paid.status_code == 303
    assert client.get("/api/goal").get_json()["members"] == 1


def test_the_welcome_page_reads_as_english_for_a_tier_starting_with_a_vowel(client, tiers):
    paid = client.post(simulated_checkout_page(client, tier="annual"))
    welcome = client.get(paid.headers["Location"])
    assert b"You are now an Annual member" in welcome.data
