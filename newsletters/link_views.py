"""Pages reached from emailed links: confirm, preferences, unsubscribe.

A GET never changes anything (mail scanners follow links); every change is a POST. None of
these needs a session or a CSRF token: the signed token in the URL is the credential. A link
that is not valid (TokenInvalid) or has expired (TokenExpired) is answered by link_invalid()
and link_expired() below, which newsletters/routes.py registers for every route here.
"""

from __future__ import annotations

from flask import render_template, request

from extensions import client_address, db
from newsletters import links, optin, preferences, signup_forms
from newsletters.forms import SUCCESS_MESSAGE
from newsletters.limits import signup_per_client
from newsletters.services import lists_named
from signing import TokenExpired, TokenInvalid

# --- confirm ------------------------------------------------------------------------------


def confirm(token: str):
    claim = links.read_confirm_token(token)
    lists = optin.subscription_statuses(claim.subscriber_id, claim.slugs)
    return render_template("newsletters/confirm.html", token=token, lists=lists)


def confirm_post(token: str):
    outcome = optin.confirm(links.read_confirm_token(token))
    db.session.commit()
    preferences_path = links.preferences_path(outcome.subscriber.id)
    return render_template(
        "newsletters/confirmed.html", outcome=outcome, preferences_path=preferences_path
    )


@signup_per_client
def confirm_resend(token: str):
    """A fresh link for an expired one: the signature must hold, only the age is forgiven."""
    optin.resend_confirmation(links.read_expired_confirm_token(token))
    db.session.commit()
    return render_template("newsletters/resent.html", message=SUCCESS_MESSAGE)


# --- unsubscribe --------------------------------------------------------------------------


def unsubscribe(token: str):
    claim = links.read_unsubscribe_token(token)
    every_list, lists = claim.slugs is None, lists_named(claim.slugs)
    return render_template(
        "newsletters/unsubscribe.html", token=token, every_list=every_list, lists=lists
    )


def unsubscribe_post(token: str):
    """The page's button, and RFC 8058 one-click (body List-Unsubscribe=One-Click) alike."""
    claim = links.read_unsubscribe_token(token)
    departure = preferences.leave(claim, every_list=request.form.get("scope") == "all")
    db.session.commit()
    if _one_click():
        return "You are unsubscribed.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
    reader = departure.subscriber_id
    return render_template(
        "newsletters/unsubscribed.html",
        every_list=departure.every_list,
        lists=departure.lists,
        preferences_path=links.preferences_path(reader) if reader is not None else None,
    )


def _one_click() -> bool:
    """A mail provider's RFC 8058 request: it reads no page, so it gets plain text."""
    return (
        request.endpoint == "newsletters.unsubscribe_post"
        and request.form.get("List-Unsubscribe") == "One-Click"
    )


# --- preferences --------------------------------------------------------------------------


def preferences_page(token: str):
    reader = preferences.reader_lists(links.read_preferences_token(token))
    return _preferences_page(reader)


def preferences_post(token: str):
    leave_all = request.form.get("action") == "leave-all"
    wanted = [] if leave_all else request.form.getlist("newsletters")
    reader_id = links.read_preferences_token(token)
    ip, user_agent = client_address(), request.user_agent.string
    change = preferences.update_preferences(reader_id, wanted, ip, user_agent)
    db.session.commit()
    return _preferences_page(change.reader, change)


def _preferences_page(reader, change=None):
    return render_template(
        "newsletters/preferences.html",
        subscriber=reader.subscriber,
        lists=reader.lists,
        change=change,
    )


# --- links that do not hold ---------------------------------------------------------------


def link_invalid(_error: TokenInvalid):
    """Cut short, changed, or naming a reader who is gone: offer to sign up again."""
    if _one_click():
        return "This unsubscribe link is not valid.\n", 400, {"Content-Type": "text/plain"}
    forms = signup_forms.signup_again_forms()
    return render_template("newsletters/link_invalid.html", forms=forms), 400


def link_expired(_error: TokenExpired):
    """Only confirmation links expire; the page offers a fresh one."""
    token = (request.view_args or {}).get("token", "")
    return render_template("newsletters/link_expired.html", token=token), 410
