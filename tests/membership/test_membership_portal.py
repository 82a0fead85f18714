""" "Manage membership": a mailed, signed, expiring link to Stripe's Customer Portal."""

import re
import time

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from extensions import db
from mailer.models import OutboxMessage
from mailer.services import MailPreview, preview
from signing import SALTS
from tests.stripe_helpers import add_tiers, checkout_session, make_event, post_event

PORTAL_URL = "https://billing.stripe.com/p/session/test_standin"


def mails(kind: str) -> list[MailPreview]:
    db.session.expire_all()
    query = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    return [preview(mail) for mail in db.session.execute(query).scalars()]


def test_asking_for_a_link_answers_the_same_for_members_and_strangers(client, tiers):
    post_event(client, make_event("checkout.session.completed", checkout_session()))
    member = client.post("/membership/manage", data={"email": "reader@example.com"})
    stranger = client.post("/membership/manage", data={"email": "nobody@example.com"})
    assert member.status_code == stranger.status_code == 200
    assert member.data == stranger.data


def test_members_and_strangers_each_get_one_message_of_the_same_kind(client, tiers):
    post_event(client, make_event("checkout.session.completed", checkout_session()))
    client.post("/membership/manage", data={"email": "reader@example.com"})
    client.post("/membership/manage", data={"email": "nobody@example.com"})
    sent = mails("membership_portal")
    assert [m.to_addr for m in sent] == ["reader@example.com", "nobody@example.com"]
    assert all(m.text_body and m.html_body and m.subject for m in sent)  # both rendered


def test_only_a_member_gets_a_portal_link(client, tiers):
    post_event(client, make_event("checkout.session.completed", checkout_session()))
    client.post("/membership/manage", data={"email": "reader@example.com"})
    client.post("/membership/manage", data={"email": "nobody@example.com"})
    member, stranger = mails("membership_portal")
    assert "/membership/portal/" in member.text_body
    assert "/membership/portal/" not in stranger.text_body + stranger.html_body


def test_a_stranger_is_told_there_is_no_membership_under_that_address(client, tiers):
    client.post("/membership/manage", data={"email": "nobody@example.com"})
    [message] = mails("membership_portal")
    assert message.subject == "No membership found for this address"
    assert "If you joined with another address" in message.text_body


def test_an_invalid_address_is_shown_by_the_field(client):
    response = client.post("/membership/manage", data={"email": "not an address"})
    assert response.status_code == 422
    assert 'id="manage-email-error"' in response.get_data(as_text=True)


def test_the_mailed_link_opens_a_stripe_customer_portal_session(stripe_app, stripe_api):
    with stripe_app.app_context():
        add_tiers()
    portal = {"id": "bps_1", "object": "billing_portal.session", "url": PORTAL_URL}
    stripe_api.routes[("POST", "/v1/billing_portal/sessions")] = portal
    client = stripe_app.test_client()
    post_event(client, make_event("checkout.session.completed", checkout_session()))
    client.post("/membership/manage", data={"email": "reader@example.com"})
    with stripe_app.app_context():
        body = mails("membership_portal")[0].text_body
    path = re.search(r"http://newsroom\.test(/membership/portal/\S+)", body).group(1)
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["Location"] == PORTAL_URL
    [sent] = stripe_api.requests_to("POST", "/v1/billing_portal/sessions")
    assert sent["form"]["customer"] == "cus_1"
    assert sent["form"]["return_url"] == "http://newsroom.test/membership"


class TwoDaysAgoSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 2 * 86400


def portal_token(app, signer=TimestampSigner) -> str:
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], SALTS["portal"], signer=signer)
    return serializer.dumps({"customer": "cus_1"})


def test_an_expired_link_answers_410(app, client):
    response = client.get(f"/membership/portal/{portal_token(app, TwoDaysAgoSigner)}")
    assert response.status_code == 410


def test_a_tampered_link_answers_400(app, client):
    token = portal_token(app)
    assert client.get(f"/membership/portal/{token}").status_code == 200
    assert client.get(f"/membership/portal/{token[:-2]}xx").status_code == 400
