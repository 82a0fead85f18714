"""Signing in (a password, then a code where two-factor sign-in is on) and out."""

from __future__ import annotations

import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from extensions import client_address, db, limiter
from staff.access import audit, safe_next
from staff.auth import LoginAttempt, attempt_login
from staff.devices import DEVICE_COOKIE, DEVICE_VALID_FOR, device_knows, device_token, read_device
from staff.forms import ActionForm, CodeForm, LoginForm
from staff.models import StaffUser
from staff.second_factor import PENDING_SECONDS, complete_sign_in
from staff.views.blueprint import EPOCH, LOGIN_ENTRY, SIGNED_IN_AT, bp
from staff.views.limits import PENDING, login_account_key, login_limit, pending_account_key

REFUSED = (
    "The email or password is not right, or the account is not active. After several wrong "
    "passwords sign-in pauses for a while; the account's owner is mailed a link to end the pause."
)
WRONG_CODE = "That code is not right, or it was used already. Try the next code your app shows."


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
@limiter.limit(login_limit, key_func=login_account_key, methods=["POST"])
def login():
    target = request.values.get("next", "")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(target))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 200 if request.method == "GET" else 422
        return render_template("staff/login.html", form=form, error=None, next=target), status
    device = read_device(request.cookies.get(DEVICE_COOKIE))
    attempt = attempt_login(form.email.data, form.password.data, client_address(), device)
    db.session.commit()
    if attempt.needs_code:
        return _await_code(attempt.user, target)
    if attempt.succeeded:
        return start_session(attempt, target)
    return render_template("staff/login.html", form=form, error=REFUSED, next=target), 422


def _await_code(user: StaffUser, target: str):
    session.clear()
    session[PENDING] = {"id": user.id, "at": int(time.time()), "next": target}
    return redirect(url_for("staff.login_code"))


def _pending_sign_in() -> dict | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    return pending


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
@limiter.limit(login_limit, key_func=pending_account_key, methods=["POST"])
def login_code():
    pending = _pending_sign_in()
    if pending is None:
        flash("Sign in with your password first (or again: five minutes have passed).", "info")
        return redirect(url_for("staff.login"))
    form = CodeForm()
    if not form.validate_on_submit():
        status = 200 if request.method == "GET" else 422
        return render_template("staff/login_code.html", form=form, error=None), status
    attempt = complete_sign_in(pending["id"], form.code.data, client_address())
    db.session.commit()
    if attempt.succeeded:
        return start_session(attempt, pending.get("next", ""))
    return render_template("staff/login_code.html", form=form, error=WRONG_CODE), 422


def start_session(attempt: LoginAttempt, target: str):
    """Sign the account in on this browser, which becomes one of its known devices."""
    session.clear()
    login_user(attempt.user, remember=False)
    session.permanent = True
    session[SIGNED_IN_AT] = int(time.time())
    session[LOGIN_ENTRY] = attempt.login_entry_id
    session[EPOCH] = attempt.user.session_epoch or 0
    return trust_this_device(redirect(safe_next(target)), attempt.user)


def trust_this_device(response, user: StaffUser):
    """Set the known-device cookie for `user` (kept if this browser already has theirs)."""
    if device_knows(read_device(request.cookies.get(DEVICE_COOKIE)), user.id):
        return response
    response.set_cookie(
        DEVICE_COOKIE,
        device_token(user.id, user.email_key),
        max_age=int(DEVICE_VALID_FOR.total_seconds()),
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
        path="/staff",
    )
    return response


@bp.post("/logout")
def logout():
    ActionForm().validate_on_submit()  # the CSRF check itself runs before every POST
    audit("logout", current_user.email)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("staff.login"))
