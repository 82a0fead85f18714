"""Reader pages for membership: the goal, joining, thanks, the widget, the badge, managing."""

from __future__ import annotations

import secrets

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from database import run_in_transaction
from extensions import csrf, db, limiter
from membership import services
from membership.goal import forget_cached_progress, goal_progress
from membership.models import MemberSubscription
from membership.services import InvalidInput
from newsletters.limits import signup_per_email
from payments import gateway, simulated
from payments.checkout import contribution_checkout_url, membership_checkout_url
from payments.webhook import simulated_mode
from security import embeddable, shared_cacheable
from signing import TokenExpired, TokenInvalid, read_token

bp = Blueprint("membership", __name__)


def _signup_limit() -> str:
    return current_app.config["RATELIMIT_SIGNUP"]


@bp.app_context_processor
def membership_helpers() -> dict:
    return {
        "simulated_stripe": simulated_mode(),
        "tier_price_label": services.tier_price_label,
        "format_amount": services.format_amount,
    }


def _render_page(errors: dict | None = None, form: dict | None = None, status: int = 200):
    return (
        render_template(
            "membership/page.html",
            progress=goal_progress(),
            tiers=services.offered_tiers(),
            errors=errors or {},
            form=form or {},
            attempt=secrets.token_urlsafe(16),
        ),
        status,
    )


def _unavailable():
    return render_template("membership/unavailable.html"), 503


@bp.get("/membership")
def page():
    return _render_page()


@bp.post("/membership/checkout")
@csrf.exempt
@limiter.limit(_signup_limit)
def checkout():
    form = {"tier": request.form.get("tier", ""), "email": request.form.get("email", "")}
    errors = {}
    try:
        tier = services.chosen_tier(form["tier"])
    except InvalidInput as exc:
        errors[exc.field] = exc.message
    try:
        email = services.normalise_email(form["email"])
    except InvalidInput as exc:
        errors[exc.field] = exc.message
    if errors:
        return _render_page(errors, form, 422)
    try:
        url = membership_checkout_url(tier, email, request.form.get("attempt"))
    except gateway.GatewayError:
        return _unavailable()
    return redirect(url, 303)


@bp.post("/membership/contribute")
@csrf.exempt
@limiter.limit(_signup_limit)
def contribute():
    form = {"amount": request.form.get("amount", ""), "email": request.form.get("email", "")}
    errors = {}
    try:
        cents = services.contribution_cents(form["amount"])
    except InvalidInput as exc:
        errors[exc.field] = exc.message
    try:
        email = services.normalise_email(form["email"], required=False)
    except InvalidInput as exc:
        errors["contribution_email"] = exc.message
    if errors:
        return _render_page(
            errors, {"amount": form["amount"], "contribution_email": form["email"]}, 422
        )
    try:
        url = contribution_checkout_url(cents, email, request.form.get("attempt"))
    except gateway.GatewayError:
        return _unavailable()
    return redirect(url, 303)


def _completed_session(session_id: str) -> dict:
    if simulated_mode():
        return simulated.read_completed_session(session_id)
    if not session_id.startswith("cs_") or len(session_id) > 255:
        raise simulated.SimulatedSessionInvalid()
    return gateway.retrieve_checkout_session(session_id)


@bp.get("/membership/welcome")
def welcome():
    session_id = request.args.get("session_id", "").strip()
    if not session_id:
        return redirect(url_for("membership.page"))
    try:
        session = _completed_session(session_id)
    except (simulated.SimulatedSessionInvalid, gateway.NotFound):
        return render_template("membership/welcome.html", result=None, invalid=True), 400
    except gateway.GatewayError:
        # The webhook records the membership anyway; the reader just sees it a little later.
        result = services.WelcomeResult("pending")
    else:
        result = run_in_transaction(lambda: services.record_completed_session(session))
        forget_cached_progress()
    return render_template(
        "membership/welcome.html", result=result, invalid=False, progress=goal_progress()
    )


@bp.get("/api/goal")
@shared_cacheable
def api_goal():
    response = jsonify(goal_progress().as_json())
    response.headers["Cache-Control"] = "public, max-age=2"
    return response


@bp.get("/membership/widget")
@embeddable
def widget():
    return render_template("membership/widget.html", progress=goal_progress())


@bp.get("/membership/progress.svg")
@shared_cacheable
def progress_svg():
    body = render_template("membership/progress.svg", progress=goal_progress())
    response = Response(body, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=5"
    return response


@bp.get("/membership/manage")
def manage():
    return render_template("membership/manage.html", errors={}, form={}, sent=False)


@bp.post("/membership/manage")
@limiter.limit(_signup_limit)
@signup_per_email  # each link is a mail to that address: the signup budget per address applies
def request_manage_link():
    form = {"email": request.form.get("email", "")}
    try:
        email = services.normalise_email(form["email"])
    except InvalidInput as exc:
        errors = {exc.field: exc.message}
        return render_template("membership/manage.html", errors=errors, form=form, sent=False), 422
    services.request_portal_link(email)
    db.session.commit()
    return render_template("membership/manage.html", errors={}, form={}, sent=True)


def _portal_customer(token: str) -> str:
    try:
        payload = read_token("portal", token, services.PORTAL_LINK_MAX_AGE_SECONDS)
    except TokenExpired:
        abort(410)
    except TokenInvalid:
        abort(400)
    if not isinstance(payload, dict) or not payload.get("customer"):
        abort(400)
    return payload["customer"]


def _customer_subscriptions(customer_id: str) -> list[MemberSubscription]:
    query = (
        select(MemberSubscription)
        .where(MemberSubscription.customer_id == customer_id)
        .order_by(MemberSubscription.created_at)
    )
    return list(db.session.execute(query).scalars())


@bp.get("/membership/portal/<token>")
def portal(token: str):
    customer_id = _portal_customer(token)
    if simulated_mode():
        return render_template(
            "payments/simulated_portal.html",
            token=token,
            subscriptions=_customer_subscriptions(customer_id),
            canceled=request.args.get("canceled"),
        )
    try:
        session = gateway.create_portal_session(customer_id)
    except gateway.GatewayError:
        return _unavailable()
    return redirect(session["url"], 303)


@bp.post("/membership/portal/<token>/cancel")
def simulated_cancel(token: str):
    customer_id = _portal_customer(token)
    if not simulated_mode():
        abort(404)
    subscription_id = request.form.get("subscription", "")
    owned = {s.stripe_subscription_id: s for s in _customer_subscriptions(customer_id)}
    row = owned.get(subscription_id)
    if row is None or row.tier is None:
        abort(400)
    if not row.deleted:
        simulated.cancel(row)
    return redirect(url_for("membership.portal", token=token, canceled=subscription_id), 303)
