"""Paying: Stripe's webhook, checkout (Stripe's or the simulated one), the thanks page, and the
Customer Portal. The URLs stay under /membership, where readers meet them."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

import metrics
from extensions import csrf, db, limiter
from membership.goal import goal_progress
from membership.services import (
    InvalidPortalLink,
    customer_subscriptions,
    portal_customer,
    tier_by_slug,
)
from membership.views import membership_page
from newsletters.limits import never_limited, signup_limit
from payments import gateway, simulated
from payments.checkout import InvalidOrder, checkout_url, contribution_order, membership_order
from payments.mode import simulated_mode
from payments.webhook import InvalidEvent, receive_event
from payments.welcome import INVALID, complete_checkout
from signing import TokenExpired, TokenInvalid

bp = Blueprint("payments", __name__)

WEBHOOK_BODY_LIMIT = 1024 * 1024  # Stripe's events outgrow the 16 KiB public limit


@bp.app_context_processor
def payment_helpers() -> dict:
    return {"simulated_stripe": simulated_mode()}


def _unavailable():
    return render_template("membership/unavailable.html"), 503


@bp.post("/stripe/webhook")
@csrf.exempt
@never_limited
def stripe_webhook():
    request.max_content_length = WEBHOOK_BODY_LIMIT
    payload = request.get_data(cache=False)
    try:
        outcome = receive_event(payload, request.headers.get("Stripe-Signature"))
    except InvalidEvent:
        metrics.count_webhook_event(None, "invalid_signature")
        return {"error": {"code": "bad_signature", "message": "Invalid Stripe signature."}}, 400
    return {"received": True, "outcome": outcome}, 200


def _to_checkout(read_order):
    """Joining and contributing: the form read, then off to pay (or the form again)."""
    try:
        order = read_order(request.form)
        url = checkout_url(order, request.form.get("attempt"))
    except InvalidOrder as invalid:
        return membership_page(invalid.errors, invalid.form, 422)
    except gateway.GatewayError:
        db.session.rollback()
        return _unavailable()
    db.session.commit()  # the reader's customer, as learned on the way
    return redirect(url, 303)


@bp.post("/membership/checkout")
@csrf.exempt
@limiter.limit(signup_limit)
def checkout():
    return _to_checkout(membership_order)


@bp.post("/membership/contribute")
@csrf.exempt
@limiter.limit(signup_limit)
def contribute():
    return _to_checkout(contribution_order)


@bp.get("/membership/welcome")
def welcome():
    session_id = request.args.get("session_id", "").strip()
    if not session_id:
        return redirect(url_for("membership.page"))
    result = complete_checkout(session_id)
    if result.kind == INVALID:
        return render_template("membership/welcome.html", result=None, invalid=True), 400
    return render_template(
        "membership/welcome.html", result=result, invalid=False, progress=goal_progress()
    )


def _portal_customer_or_abort(token: str) -> str:
    try:
        return portal_customer(token)
    except TokenExpired:
        abort(410)
    except (TokenInvalid, InvalidPortalLink):
        abort(400)


@bp.get("/membership/portal/<token>")
def portal(token: str):
    customer_id = _portal_customer_or_abort(token)
    if simulated_mode():
        subscriptions = customer_subscriptions(customer_id)
        return render_template(
            "payments/simulated_portal.html",
            token=token,
            subscriptions=subscriptions,
            canceled=request.args.get("canceled"),
        )
    try:
        return redirect(gateway.create_portal_session(customer_id)["url"], 303)
    except gateway.GatewayError:
        return _unavailable()


@bp.post("/membership/portal/<token>/cancel")
def simulated_cancel(token: str):
    customer_id = _portal_customer_or_abort(token)
    if not simulated_mode():
        abort(404)
    subscription_id = request.form.get("subscription", "")
    if not simulated.cancel_for_customer(customer_id, subscription_id):
        abort(400)
    return redirect(url_for("payments.portal", token=token, canceled=subscription_id), 303)


def _open_session_or_abort(token: str) -> dict:
    if not simulated_mode():
        abort(404)
    try:
        return simulated.read_open_session(token)
    except simulated.SimulatedSessionInvalid:
        abort(400)


@bp.get("/membership/simulated-checkout/<token>")
def simulated_checkout(token: str):
    session = _open_session_or_abort(token)
    tier = tier_by_slug(session["tier"]) if session.get("tier") else None
    if session["mode"] == "subscription" and tier is None:
        abort(400)
    return render_template("payments/simulated_checkout.html", session=session, tier=tier)


@bp.post("/membership/simulated-checkout/<token>")
def simulated_pay(token: str):
    _open_session_or_abort(token)
    try:
        completed = simulated.pay(token)
    except simulated.SimulatedSessionInvalid:
        abort(400)
    return redirect(url_for("payments.welcome", session_id=completed), 303)
