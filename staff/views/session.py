"""Signing in and out of the staff pages."""

from __future__ import annotations

import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from extensions import client_address, db, limiter
from staff.access import audit, safe_next
from staff.auth import LoginAttempt, attempt_login
from staff.forms import ActionForm, LoginForm
from staff.views.blueprint import LOGIN_ENTRY, SIGNED_IN_AT, bp

REFUSED = "The email or password is not right, or the account is not active."


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _account_key() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, key_func=_account_key, methods=["POST"])
def login():
    target = request.values.get("next", "")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(target))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 200 if request.method == "GET" else 422
        return render_template("staff/login.html", form=form, error=None, next=target), status
    attempt = attempt_login(form.email.data, form.password.data, ip=client_address())
    db.session.commit()
    if attempt.succeeded:
        return _start_session(attempt, target)
    return render_template("staff/login.html", form=form, error=REFUSED, next=target), 422


def _start_session(attempt: LoginAttempt, target: str):
    session.clear()
    login_user(attempt.user, remember=False)
    session.permanent = True
    session[SIGNED_IN_AT] = int(time.time())
    session[LOGIN_ENTRY] = attempt.login_entry_id
    return redirect(safe_next(target))


@bp.post("/logout")
def logout():
    ActionForm().validate_on_submit()  # the CSRF check itself runs before every POST
    audit("logout", current_user.email)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("staff.login"))
