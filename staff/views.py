"""Staff pages: signing in and out, the dashboard, the goal, the audit log.

Lists and people live in views_lists.py and views_people.py on this same blueprint.
"""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from database import database_id, utcnow
from extensions import client_address, db, limiter, login_manager
from membership.goal import forget_cached_progress, goal_progress
from staff import charts, stats
from staff.access import admin_required, audit, safe_next
from staff.auth import authenticate, record_action, signed_out_since
from staff.forms import ActionForm, GoalForm, LoginForm
from staff.models import AuditLog, StaffUser
from staff.settings import set_goal

bp = Blueprint("staff", __name__, url_prefix="/staff")

login_manager.login_view = "staff.login"
login_manager.login_message = "Please sign in to see the staff pages."
login_manager.login_message_category = "info"

GROWTH_DAY_CHOICES = (30, 90, 180, 365)
AUDIT_PAGE_SIZE = 100
SIGNED_IN_AT = "staff_signed_in_at"
LOGIN_ENTRY = "staff_login_entry"  # the audit row of this session's sign-in
OPEN_ENDPOINTS = {"staff.login"}


def _typed_address(typed: str | None) -> str:
    """What was typed as the email, for the audit log; never a mistyped password."""
    typed = (typed or "").strip()
    return typed[:320] if "@" in typed and " " not in typed else "(not an email address)"


@login_manager.user_loader
def load_staff_user(user_id: str):
    return db.session.get(StaffUser, int(user_id)) if user_id.isdigit() else None


@bp.app_template_filter("staff_money")
def staff_money(minor_units: int, currency: str) -> str:
    return stats.format_money(minor_units, currency)


def _session_ended() -> bool:
    """Flask's lifetime is an idle limit (the cookie is renewed each request); this one is not.
    A sign-out of the account since this session began ends it too."""
    signed_in_at = session.get(SIGNED_IN_AT, 0)
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if time.time() - signed_in_at > lifetime:
        return True
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
    return None


@bp.after_request
def never_cache_staff_pages(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(403)
def forbidden(_error):
    message = "Only administrators can change settings or export personal data."
    return render_template("staff/message.html", title="Not allowed", message=message), 403


@bp.errorhandler(429)
def too_many_attempts(error):
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
    error = None
    if form.validate_on_submit():
        attempt = authenticate(form.email.data, form.password.data)
        if attempt.succeeded:
            return _start_session(attempt.user, target)
        record_action(
            "login_failed",
            f"{_typed_address(form.email.data)}: {attempt.refusal}",
            staff_id=attempt.user.id if attempt.user else None,
            ip=client_address(),
        )
        db.session.commit()
        error = "The email or password is not right, or the account is not active."
    status = 200 if request.method == "GET" else 422
    return render_template("staff/login.html", form=form, error=error, next=target), status


def _start_session(user: StaffUser, target: str):
    session.clear()
    login_user(user, remember=False)
    session.permanent = True
    session[SIGNED_IN_AT] = int(time.time())
    entry = record_action("login", user.email, staff_id=user.id, ip=client_address())
    db.session.flush()
    session[LOGIN_ENTRY] = entry.id
    db.session.commit()
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


@bp.get("/")
def dashboard():
    days = request.args.get("days", 90, type=int)
    if days not in GROWTH_DAY_CHOICES:
        days = 90
    progress = goal_progress()
    today = utcnow().date()
    series = stats.member_growth(days, progress.members, today)
    return render_template(
        "staff/dashboard.html",
        progress=progress,
        days=days,
        day_choices=GROWTH_DAY_CHOICES,
        series=series,
        chart=charts.growth_chart(series),
        projection=stats.project_goal(progress, today),
        week=stats.movement_this_week(today),
        revenue=stats.monthly_recurring_revenue(),
        contributions=stats.contribution_totals(),
    )


@bp.route("/settings/goal", methods=["GET", "POST"])
@admin_required
def change_goal():
    progress = goal_progress()
    form = GoalForm(data={"goal": progress.goal} if request.method == "GET" else None)
    if form.validate_on_submit():
        set_goal(form.goal.data)
        audit("goal_changed", f"{progress.goal} → {form.goal.data}")
        db.session.commit()
        forget_cached_progress()
        flash(f"The members goal is now {form.goal.data:,}.", "success")
        return redirect(url_for("staff.dashboard"))
    status = 422 if request.method == "POST" else 200
    return render_template("staff/goal.html", form=form, progress=progress), status


@bp.get("/audit")
@admin_required
def audit_log():
    before = request.args.get("before", type=database_id)
    query = (
        select(AuditLog, StaffUser.email)
        .outerjoin(StaffUser, AuditLog.staff_id == StaffUser.id)
        .order_by(AuditLog.id.desc())
        .limit(AUDIT_PAGE_SIZE + 1)
    )
    if before is not None:
        query = query.where(AuditLog.id < before)
    rows = db.session.execute(query).all()
    more = len(rows) > AUDIT_PAGE_SIZE
    rows = rows[:AUDIT_PAGE_SIZE]
    next_before = rows[-1][0].id if more and rows else None
    return render_template("staff/audit.html", rows=rows, next_before=next_before)


# The other staff pages register themselves on bp.
from staff import views_lists, views_people  # noqa: E402, F401
