"""What stops a stranger from inflating the count or flooding a member's inbox."""

from extensions import db
from membership.models import Tier


def _add_tier(app):
    with app.app_context():
        db.session.add(
            Tier(slug="member", name="Member", amount=1000, currency="usd", interval="month",
                 stripe_price_id="price_member")
        )  # fmt: skip
        db.session.commit()


def test_production_without_a_stripe_key_never_offers_the_simulated_checkout(make_app):
    app = make_app(APP_ENV="production", STRIPE_SECRET_KEY=None)
    _add_tier(app)
    client = app.test_client()
    response = client.post(
        "/membership/checkout", data={"tier": "member", "email": "a@example.com"}
    )
    assert response.status_code == 503
    assert b"Test mode" not in response.data
    assert client.get("/api/goal").get_json()["members"] == 0


def test_manage_membership_links_to_one_address_share_its_per_address_limit(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGNUP_EMAIL="2/hour")
    client = app.test_client()
    spellings = ["member@example.com", "MEMBER@example.com", "member@EXAMPLE.com"]
    answers = [
        client.post("/membership/manage", data={"email": email}, environ_base={"REMOTE_ADDR": ip})
        for email, ip in zip(spellings, ["10.0.0.1", "10.0.0.2", "10.0.0.3"], strict=True)
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 429]


def test_manage_membership_links_from_one_client_keep_its_per_client_limit(make_app):
    # Flask-Limiter counts this one (its decorator sits above the per-address budget's), so the
    # request filter that skips views counted by newsletters/limits.py must not skip it.
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGNUP="2/minute")
    client = app.test_client()
    answers = [
        client.post("/membership/manage", data={"email": f"member{n}@example.com"})
        for n in range(3)
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
