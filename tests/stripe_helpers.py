"""Test helpers for Stripe: events built from Stripe's published shapes and signed as Stripe
signs them, a local HTTP server that answers like Stripe's API, and a reader joining through
the checkout. Its fixtures are offered to every test by tests/conftest.py.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import stripe

from extensions import db
from membership.goal import count_members, count_members_exactly
from membership.models import Tier

FIXTURES = Path(__file__).parent / "stripe_fixtures"
WEBHOOK_SECRET = "whsec_test_secret"  # tests/conftest.py sets STRIPE_WEBHOOK_SECRET to this
MEMBER_PRICE = "price_member_monthly"
ANNUAL_PRICE = "price_member_yearly"
FOREIGN_PRICE = "price_someone_elses_product"


def fixture(name: str) -> dict:
    """A fresh copy of one of Stripe's object shapes (tests/stripe_fixtures)."""
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text()))


def make_event(event_type: str, obj: dict, *, created: int | None = None, event_id=None) -> dict:
    event = fixture("event")
    event.update(
        id=event_id or f"evt_{uuid.uuid4().hex[:24]}",
        type=event_type,
        created=int(time.time()) if created is None else created,
        api_version="2026-10-28.endive",
    )
    event["data"] = {"object": obj, "previous_attributes": {}}
    return event


def subscription(
    sub_id: str = "sub_1",
    customer: str = "cus_1",
    *,
    status: str = "active",
    price: str = MEMBER_PRICE,
    period_end: int = 1_900_000_000,
    email: str | None = None,
) -> dict:
    obj = fixture("subscription")
    obj.update(id=sub_id, customer=customer, status=status, cancel_at=None, canceled_at=None)
    obj.update(ended_at=None, start_date=1_800_000_000, metadata={"email": email} if email else {})
    item = obj["items"]["data"][0]
    item.update(subscription=sub_id, current_period_start=period_end - 2_592_000)
    item["current_period_end"] = period_end
    item["price"]["id"] = price
    return obj


def checkout_session(
    session_id: str = "cs_test_1",
    *,
    customer: str = "cus_1",
    subscription_id: str | None = "sub_1",
    email: str = "reader@example.com",
    tier_slug: str | None = "member",
    mode: str = "subscription",
    payment_status: str = "paid",
    created: int = 1_700_000_000,
) -> dict:
    obj = fixture("checkout.session")
    obj.update(id=session_id, customer=customer, subscription=subscription_id, mode=mode)
    obj.update(payment_status=payment_status, status="complete", created=created)
    obj["customer_details"]["email"] = email
    obj["metadata"] = {"tier_slug": tier_slug} if tier_slug else {}
    return obj


def invoice(
    invoice_id: str = "in_1",
    *,
    subscription_id: str = "sub_1",
    customer: str = "cus_1",
    amount: int = 1000,
    tier_slug: str | None = "member",
) -> dict:
    obj = fixture("invoice")
    obj.update(id=invoice_id, customer=customer, amount_due=amount, amount_paid=amount)
    obj["parent"] = {
        "type": "subscription_details",
        "subscription_details": {
            "subscription": subscription_id,
            "metadata": {"tier_slug": tier_slug} if tier_slug else {},
        },
    }
    return obj


def signed(event: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    """(body, Stripe-Signature header) exactly as Stripe would send them."""
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return body, header


def post_event(client, event: dict, **signing):
    body, header = signed(event, **signing)
    return client.post(
        "/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


TEST_TIERS = (
    ("member", "Member", 1000, "month", MEMBER_PRICE),
    ("annual", "Annual member", 10000, "year", ANNUAL_PRICE),
)


def add_tiers() -> dict[str, Tier]:
    tiers = {
        slug: Tier(
            slug=slug,
            name=name,
            amount=amount,
            currency="usd",
            interval=interval,
            stripe_price_id=price,
        )
        for slug, name, amount, interval, price in TEST_TIERS
    }
    db.session.add_all(tiers.values())
    db.session.commit()
    return tiers


class StripeStandIn:
    """A local HTTP server answering like Stripe's API; records every request it gets.

    `routes[(method, path)]` is a dict (answered as JSON with 200), a (status, dict) pair, or a
    callable taking the recorded request and returning either. Customers behave as Stripe's do
    unless a test routes them itself: POST /v1/customers makes a new one each time (the same one
    for a repeated Idempotency-Key), and the search finds them by `email:'…'`.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.customers: dict[str, dict] = {}  # id -> customer, as Stripe keeps them
        self._customer_keys: dict[str, str] = {}  # Idempotency-Key -> the customer it made
        self.routes: dict = {
            ("POST", "/v1/customers"): self._create_customer,
            ("GET", "/v1/customers/search"): self._search_customers,
        }
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                recorded = {
                    "method": method,
                    "path": parts.path,
                    "query": parse_qs(parts.query),
                    "form": {k: v[0] for k, v in parse_qs(body).items()},
                    "headers": dict(self.headers.items()),
                }
                stand_in.requests.append(recorded)
                route = stand_in.routes.get((method, parts.path))
                if callable(route):
                    route = route(recorded)
                status, answer = route if isinstance(route, tuple) else (200, route)
                if answer is None:
                    status, answer = 404, {"error": {"type": "invalid_request_error"}}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_standin")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                self._answer("GET")

            def do_POST(self):  # noqa: N802
                self._answer("POST")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> StripeStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def requests_to(self, method: str, path: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method and r["path"] == path]

    def add_customer(self, email: str, customer_id: str | None = None) -> dict:
        """A customer as if made earlier (in Stripe's dashboard, or by an old checkout)."""
        customer = fixture("customer")
        number = len(self.customers) + 1
        customer.update(id=customer_id or f"cus_standin_{number}", email=email)
        customer["created"] = 1_700_000_000 + number
        self.customers[customer["id"]] = customer
        return customer

    def _create_customer(self, request: dict) -> dict:
        key = request["headers"].get("Idempotency-Key")
        if key in self._customer_keys:
            return self.customers[self._customer_keys[key]]
        customer = self.add_customer(request["form"].get("email"))
        if key:
            self._customer_keys[key] = customer["id"]
        return customer

    def _search_customers(self, request: dict) -> dict:
        query = request["query"].get("query", [""])[0]
        match = re.fullmatch(r"email:'((?:[^'\\]|\\.)*)'", query)
        wanted = re.sub(r"\\(.)", r"\1", match.group(1)).lower() if match else None
        found = [c for c in self.customers.values() if (c.get("email") or "").lower() == wanted]
        return {
            "object": "search_result",
            "data": found,
            "has_more": False,
            "url": "/v1/customers/search",
        }


@pytest.fixture
def stripe_api():
    stand_in = StripeStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def stripe_app(make_app, stripe_api):
    """The app in Stripe mode, talking to the stand-in instead of api.stripe.com."""
    return make_app(STRIPE_SECRET_KEY="sk_test_standin", STRIPE_API_BASE=stripe_api.url)


@pytest.fixture
def tiers(app_ctx):
    made = add_tiers()
    count_members()  # builds the stored counter now, so every test exercises its upkeep
    return made


@pytest.fixture
def member_count(app):
    """The public count, checked against the definition it must always equal."""

    def count() -> int:
        with app.app_context():
            counted = count_members()
            assert counted == count_members_exactly()
            return counted

    return count


def post_join_form(client, email: str = "reader@example.com", tier: str = "member", **extra):
    """The join form on /membership, sent as a reader sends it."""
    return client.post("/membership/checkout", data={"tier": tier, "email": email, **extra})


def simulated_checkout_page(client, email: str = "reader@example.com", tier: str = "member"):
    """The path of the test-mode checkout page the join form sends the reader to."""
    started = post_join_form(client, email, tier)
    assert started.status_code == 303
    assert started.headers["Location"].startswith("/membership/simulated-checkout/")
    return started.headers["Location"]


def join_via_checkout(client, email: str = "reader@example.com", tier: str = "member"):
    """The whole journey without Stripe: join form, test-mode checkout, Pay, the welcome page
    (returned)."""
    paid = client.post(simulated_checkout_page(client, email, tier))
    assert paid.status_code == 303
    return client.get(paid.headers["Location"])
