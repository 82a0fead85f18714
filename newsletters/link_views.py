"""Pages reached from emailed links: confirm, preferences, unsubscribe.

A GET never changes anything (mail scanners follow links); every change is a POST. None of
these needs a session or a CSRF token: the signed token in the URL is the credential.
"""

from __future__ import annotations

from flask import render_template, request

from extensions import client_address, db
from newsletters import links, optin, preferences
from newsletters.forms import SUCCESS_MESSAGE
from newsletters.limits import signup_per_client
from newsletters.models import Subscriber
from newsletters.services import public_lists
from newsletters.views import FormState, bp
from signing import TokenExpired, TokenInvalid, read_token


def _link_invalid():
    forms = []
    lists = public_lists()
    if lists:
        forms.append(
            FormState(
                "signup-again",
                "Sign up again",
                "We will send you a new confirmation email.",
                lists,
                True,
                checked={n.slug for n in lists if n.is_default},
            )
        )
    return render_template("newsletters/link_invalid.html", forms=forms), 400


def _link_expired(token: str):
    return render_template("newsletters/link_expired.html", token=token), 410


# --- confirm ------------------------------------------------------------------------------


@bp.get("/confirm/<token>")
def confirm(token: str):
    try:
        claim = links.read_confirm_token(token)
    except TokenExpired:
        return _link_expired(token)
    except TokenInvalid:
        return _link_invalid()
    lists = optin.subscription_statuses(claim.subscriber_id, claim.slugs)
    return render_template("newsletters/confirm.html", token=token, lists=lists)


@bp.post("/confirm/<token>")
def confirm_post(token: str):
    try:
        outcome = optin.confirm(links.read_confirm_token(token))
        db.session.commit()
    except TokenExpired:
        return _link_expired(token)
    except TokenInvalid:
        return _link_invalid()
    return render_template(
        "newsletters/confirmed.html",
        outcome=outcome,
        preferences_path=f"/preferences/{links.preferences_token(outcome.subscriber.id)}",
    )


@bp.post("/confirm/<token>/resend")
@signup_per_client
def confirm_resend(token: str):
    """A fresh link for an expired one: the signature must hold, only the age is forgiven."""
    try:
        claim = links.confirm_claim(read_token("confirm", token, None))
    except (TokenInvalid, TokenExpired):
        return _link_invalid()
    optin.resend_confirmation(claim)
    db.session.commit()
    return render_template("newsletters/resent.html", message=SUCCESS_MESSAGE)


# --- unsubscribe --------------------------------------------------------------------------


@bp.get("/unsubscribe/<token>")
def unsubscribe(token: str):
    try:
        claim = links.read_unsubscribe_token(token)
    except (TokenInvalid, TokenExpired):
        return _link_invalid()
    return render_template(
        "newsletters/unsubscribe.html",
        token=token,
        every_list=claim.slugs is None,
        lists=preferences.lists_named(claim.slugs),
    )


@bp.post("/unsubscribe/<token>")
def unsubscribe_post(token: str):
    """The page's button, and RFC 8058 one-click (body List-Unsubscribe=One-Click) alike."""
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    try:
        claim = links.read_unsubscribe_token(token)
    except (TokenInvalid, TokenExpired):
        if one_click:
            return "This unsubscribe link is not valid.\n", 400, {"Content-Type": "text/plain"}
        return _link_invalid()
    everything = request.form.get("scope") == "all"
    preferences.unsubscribe(claim.subscriber_id, None if everything else claim.slugs)
    db.session.commit()
    if one_click:
        return "You are unsubscribed.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
    subscriber = db.session.get(Subscriber, claim.subscriber_id)
    return render_template(
        "newsletters/unsubscribed.html",
        every_list=everything or claim.slugs is None,
        lists=preferences.lists_named(claim.slugs),
        preferences_path=(
            f"/preferences/{links.preferences_token(subscriber.id)}" if subscriber else None
        ),
    )


# --- preferences --------------------------------------------------------------------------


def _subscriber_from_preferences(token: str) -> Subscriber | None:
    try:
        subscriber_id = links.read_preferences_token(token)
    except (TokenInvalid, TokenExpired):
        return None
    return db.session.get(Subscriber, subscriber_id)


@bp.get("/preferences/<token>")
def preferences_page(token: str):
    subscriber = _subscriber_from_preferences(token)
    if subscriber is None:
        return _link_invalid()
    return render_template(
        "newsletters/preferences.html",
        subscriber=subscriber,
        lists=preferences.lists_with_status(subscriber.id),
        change=None,
    )


@bp.post("/preferences/<token>")
def preferences_post(token: str):
    subscriber = _subscriber_from_preferences(token)
    if subscriber is None:
        return _link_invalid()
    wanted = (
        [] if request.form.get("action") == "leave-all" else request.form.getlist("newsletters")
    )
    change = preferences.update_preferences(
        subscriber, wanted, ip=client_address(), user_agent=request.user_agent.string
    )
    db.session.commit()
    return render_template(
        "newsletters/preferences.html",
        subscriber=subscriber,
        lists=preferences.lists_with_status(subscriber.id),
        change=change,
    )
