"""The links mailed to staff: a forgotten password, an invitation, the end of a sign-in pause.

A link that was changed answers 400, an expired one 410, one already used a page saying so and
what to do instead; never a stack trace.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from extensions import client_address, db, limiter
from signing import TokenExpired, TokenInvalid
from staff import accounts, lockout, recovery
from staff.auth import finish_login
from staff.forms import ActionForm, ForgotPasswordForm, NewPasswordForm
from staff.invitations import InvitationAlreadyUsed, PasswordResetLinkSpent
from staff.views.blueprint import bp
from staff.views.limits import login_account_key, login_limit
from staff.views.session import start_session, trust_this_device

SIGN_IN_INSTEAD = "If you know your password, sign in; if not, ask for a new link."
# What each kind of broken link says: (status, title, message).
LINK_PROBLEMS = {
    TokenInvalid: (400, "This link is not valid", "It may have been cut short when copied. "),
    TokenExpired: (410, "This link has expired", "Links from our mail work for a limited time. "),
    PasswordResetLinkSpent: (
        410,
        "This link was used already",
        "The password was changed with it (or since). ",
    ),
    InvitationAlreadyUsed: (
        410,
        "This invitation was used already",
        "Its account exists: sign in with the password chosen then, or reset it. ",
    ),
    accounts.InvitationWithdrawn: (
        410,
        "This invitation was withdrawn",
        "An administrator withdrew it: ask them for a new one. ",
    ),
    accounts.AccountAlreadyExists: (
        409,
        "There is already an account for this address",
        "Sign in with it, or reset its password. ",
    ),
    lockout.UnlockLinkSpent: (
        410,
        "Sign-in is not paused",
        "The pause this link was sent for has ended, or was ended with it. ",
    ),
}
LINK_ERRORS = tuple(LINK_PROBLEMS)


def link_problem(error: Exception):
    db.session.rollback()
    status, title, message = LINK_PROBLEMS[type(error)]
    return render_template(
        "staff/link_problem.html", title=title, message=message + SIGN_IN_INSTEAD
    ), status


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
@limiter.limit(login_limit, key_func=login_account_key, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            recovery.request_password_reset(form.email.data, client_address())
            db.session.commit()
            return render_template("staff/forgot_password.html", form=form, sent=True)
        except accounts.AccountError as invalid:
            form.email.errors = [invalid.message]
    status = 422 if request.method == "POST" else 200
    return render_template("staff/forgot_password.html", form=form, sent=False), status


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def reset_password(token: str):
    form = NewPasswordForm()
    try:
        user = recovery.account_for_reset(token)
        if form.validate_on_submit():
            password, confirm = form.password.data, form.confirm.data
            user = recovery.reset_password(token, password, confirm, client_address())
            db.session.commit()
            flash("Your new password is set: sign in with it.", "success")
            return trust_this_device(redirect(url_for("staff.login")), user)
    except LINK_ERRORS as error:
        return link_problem(error)
    except accounts.AccountError as invalid:
        getattr(form, invalid.field).errors = [invalid.message]
    status = 422 if request.method == "POST" else 200
    return render_template("staff/reset_password.html", form=form, user=user), status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def accept_invitation(token: str):
    form = NewPasswordForm()
    try:
        invitation = accounts.open_invitation(token)
        if form.validate_on_submit():
            ip = client_address()
            user = accounts.accept_invitation(token, form.password.data, form.confirm.data, ip)
            attempt = finish_login(user, ip, " (invitation accepted)")
            db.session.commit()
            return start_session(attempt, "")
    except LINK_ERRORS as error:
        return link_problem(error)
    except accounts.AccountError as invalid:
        db.session.rollback()
        getattr(form, invalid.field).errors = [invalid.message]
    status = 422 if request.method == "POST" else 200
    return render_template("staff/invitation.html", form=form, invitation=invitation), status


@bp.route("/unlock/<token>", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def unlock(token: str):
    try:
        user = lockout.account_to_unlock(token)
        if request.method == "POST" and ActionForm().validate_on_submit():
            lockout.unlock(token, client_address())
            db.session.commit()
            flash("Sign-in is open again for your account, from this browser at once.", "success")
            return trust_this_device(redirect(url_for("staff.login")), user)
    except LINK_ERRORS as error:
        return link_problem(error)
    return render_template("staff/unlock.html", user=user, form=ActionForm())
