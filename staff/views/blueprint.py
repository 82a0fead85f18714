"""The staff blueprint and what every staff page shares: the session check, no caching, the
error pages. The routes live in the other modules of this package."""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError

from database import database_id
from extensions import login_manager
from staff import stats
from staff.auth import signed_out_since, staff_user_by_id
from staff.forms import LoginForm
from staff.second_factor import two_factor_required

bp = Blueprint("staff", __name__, url_prefix="/staff")

login_manager.login_view = "staff.login"
login_manager.login_message = "Please sign in to see the staff pages."
login_manager.login_message_category = "info"

SIGNED_IN_AT = "staff_signed_in_at"
LOGIN_ENTRY = "staff_login_entry"  # the audit row of this session's sign-in
EPOCH = "staff_epoch"  # the account's session_epoch at sign-in (a new password raises it)
# Pages for people not signed in: signing in, and the links mailed to them.
OPEN_ENDPOINTS = {
    "staff.login",
    "staff.login_code",
    "staff.forgot_password",
    "staff.reset_password",
    "staff.unlock",
    "staff.accept_invitation",
}
# What an administrator may still open before setting up a required two-factor sign-in.
SETUP_ENDPOINTS = {"staff.two_factor", "staff.two_factor_enable", "staff.logout"}


@login_manager.user_loader
def load_staff_user(user_id: str):
    return staff_user_by_id(int(user_id)) if user_id.isdigit() else None


@bp.app_template_filter("staff_money")
def staff_money(minor_units: int, currency: str) -> str:
    return stats.format_money(minor_units, currency)


def _session_ended() -> bool:
    """The session ends PERMANENT_SESSION_LIFETIME after sign-in, whatever the cookie's own
    expiry says (it is set again whenever the session changes). A sign-out of the account since
    this session began ends it too."""
    signed_in_at = session.get(SIGNED_IN_AT, 0)
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if time.time() - signed_in_at > lifetime:
        return True
    if session.get(EPOCH, 0) != (current_user.session_epoch or 0):
        return True  # the password changed (or the account was deactivated) since
    return signed_out_since(current_user.id, session.get(LOGIN_ENTRY))


@bp.before_request
def require_staff_session():
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if current_user.is_authenticated and _session_ended():
        logout_user()
        session.clear()
        flash("Your session has expired: please sign in again.", "info")
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if request.endpoint not in SETUP_ENDPOINTS and _must_set_up_two_factor():
        flash("Administrators must use two-factor sign-in here: set it up to go on.", "info")
        return redirect(url_for("staff.two_factor"))
    return None


def _must_set_up_two_factor() -> bool:
    return two_factor_required(current_user) and not current_user.two_factor_enabled


@bp.after_request
def never_cache_staff_pages(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(403)
def forbidden(_error):
    message = (
        "Only administrators can do this: change settings, manage staff accounts or export "
        "personal data."
    )
    return render_template("staff/message.html", title="Not allowed", message=message), 403


@bp.errorhandler(429)
def too_many_attempts(error):
    if request.endpoint != "staff.login":
        message = "Too many attempts. Please wait a minute and try again."
        return render_template("staff/message.html", title="Please wait", message=message), 429
    form = LoginForm()
    message = "Too many sign-in attempts. Please wait a minute and try again."
    return render_template("staff/login.html", form=form, error=message, next=""), 429


@bp.errorhandler(CSRFError)
def form_expired(_error):
    flash(
        "The form had expired or was sent from elsewhere: nothing was changed. Try again.", "error"
    )
    if current_user.is_authenticated:
        return render_template("staff/message.html", title="Form expired", message=""), 400
    form = LoginForm()
    return render_template("staff/login.html", form=form, error=None, next=""), 400


def id_argument(name: str) -> int | None:
    """A paging id from the query string (?after=, ?before=): None when absent, 400 when it is
    not an id our columns can hold, rather than a database error."""
    text = request.args.get(name, "")
    if not text:
        return None
    try:
        return database_id(text)
    except ValueError:
        abort(400)


def csv_download(chunks, filename: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
