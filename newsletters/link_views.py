"""Pages reached from emailed links: confirm, preferences, unsubscribe.

A GET never changes anything (mail scanners follow links); every change is a POST. None of
these needs a session or a CSRF token: the signed token in the URL is the credential. A link
that is not valid (TokenInvalid) or has expired (TokenExpired) is answered by link_invalid()
and link_expired() below, one naming a reader whose data is gone (ReaderGone) by link_gone();
newsletters/routes.py registers them for every route here.
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext

from extensions import client_address, db
from newsletters import links, optin, preferences, signup_forms
from newsletters.forms import SUCCESS_MESSAGE
from newsletters.limits import signup_per_client
from signing import ReaderGone, TokenExpired, TokenInvalid

# --- confirm ------------------------------------------------------------------------------


def confirm(token: str):
    lists = optin.lists_to_confirm(links.read_confirm_token(token))
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
    return render_template("newsletters/resent.html", message=str(SUCCESS_MESSAGE))


# --- unsubscribe --------------------------------------------------------------------------


def unsubscribe(token: str):
    offered = preferences.leaving(links.read_unsubscribe_token(token))
    return render_template(
        "newsletters/unsubscribe.html",
        token=token,
        every_list=offered.every_list,
        lists=offered.lists,
    )


def unsubscribe_post(token: str):
    """The page's button, and RFC 8058 one-click (body List-Unsubscribe=One-Click) alike."""
    claim = links.read_unsubscribe_token(token)
    departure = preferences.leave(claim, every_list=request.form.get("scope") == "all")
    db.session.commit()
    if _one_click():
        return _plain(gettext("You are unsubscribed"), 200)
    return render_template(
        "newsletters/unsubscribed.html",
        every_list=departure.every_list,
        lists=departure.lists,
        preferences_path=links.preferences_path(departure.subscriber_id),
    )


def _one_click() -> bool:
    """A mail provider's RFC 8058 request: it reads no page, so it gets plain text."""
    return (
        request.endpoint == "newsletters.unsubscribe_post"
        and request.form.get("List-Unsubscribe") == "One-Click"
    )


def _plain(sentence: str, status: int) -> tuple[str, int, dict[str, str]]:
    """The page's heading as one line, in the request's language like the page itself."""
    return f"{sentence}.\n", status, {"Content-Type": "text/plain; charset=utf-8"}


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
    """Cut short or changed: offer to sign up again."""
    if _one_click():
        return _plain(gettext("This link is not valid"), 400)
    forms = signup_forms.signup_again_forms()
    return render_template("newsletters/link_invalid.html", forms=forms), 400


def link_gone(_error: ReaderGone):
    """A genuine link whose reader's data is gone (erased, or never confirmed and purged)."""
    if _one_click():
        return _plain(gettext("This link no longer works"), 404)
    forms = signup_forms.signup_again_forms()
    return render_template("newsletters/link_gone.html", forms=forms), 404


def link_expired(_error: TokenExpired):
    """Only confirmation links expire; the page offers a fresh one."""
    token = (request.view_args or {}).get("token", "")
    return render_template("newsletters/link_expired.html", token=token), 410
