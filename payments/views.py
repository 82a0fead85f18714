"""Stripe's webhook endpoint and the simulated checkout pages."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from extensions import csrf, limiter
from membership.services import tier_by_slug
from payments import simulated
from payments.webhook import InvalidEvent, receive_event, simulated_mode

bp = Blueprint("payments", __name__)

WEBHOOK_BODY_LIMIT = 1024 * 1024  # Stripe's events outgrow the 16 KiB public limit


@bp.post("/stripe/webhook")
@csrf.exempt
@limiter.exempt
def stripe_webhook():
    request.max_content_length = WEBHOOK_BODY_LIMIT
    payload = request.get_data(cache=False)
    try:
        outcome = receive_event(payload, request.headers.get("Stripe-Signature"))
    except InvalidEvent:
        return {"error": {"code": "bad_signature", "message": "Invalid Stripe signature."}}, 400
    return {"received": True, "outcome": outcome}, 200


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
    return redirect(url_for("membership.welcome", session_id=completed), 303)
