"""The dashboard, the members goal and the audit log."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from extensions import db
from membership.goal import goal_progress, set_goal
from staff.access import admin_required, audit
from staff.audit_trail import audit_page
from staff.dashboard import dashboard as dashboard_figures
from staff.forms import GoalForm
from staff.views.blueprint import bp, id_argument


@bp.get("/")
def dashboard():
    figures = dashboard_figures(request.args.get("days", type=int))
    return render_template("staff/dashboard.html", **vars(figures))


@bp.route("/settings/goal", methods=["GET", "POST"])
@admin_required
def change_goal():
    progress = goal_progress()
    form = GoalForm(data={"goal": progress.goal} if request.method == "GET" else None)
    if form.validate_on_submit():
        set_goal(form.goal.data)
        audit("goal_changed", f"{progress.goal} → {form.goal.data}")
        db.session.commit()
        flash(f"The members goal is now {form.goal.data:,}.", "success")
        return redirect(url_for("staff.dashboard"))
    status = 422 if request.method == "POST" else 200
    return render_template("staff/goal.html", form=form, progress=progress), status


@bp.get("/audit")
@admin_required
def audit_log():
    page = audit_page(before=id_argument("before"))
    return render_template("staff/audit.html", rows=page.rows, next_before=page.next_before)
