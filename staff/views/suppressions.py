"""The suppression list for staff: who gets no list mail and why; admins may lift one."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from addresses import InvalidEmail
from extensions import db
from mailer.suppression_models import REASONS
from staff import campaigns as pages
from staff.access import admin_required, audit
from staff.forms import ActionForm
from staff.views.blueprint import bp


@bp.get("/suppressions")
def suppressions():
    reason = request.args.get("reason") if request.args.get("reason") in REASONS else None
    page = pages.suppressions_page(request.args.get("page", 1, type=int), reason)
    context = {"page": page, "reason": reason, "reasons": REASONS, "action_form": ActionForm()}
    return render_template("staff/suppressions.html", **context)


@bp.post("/suppressions/remove")
@admin_required
def suppression_remove():
    address = request.form.get("address", "")
    try:
        removed = pages.remove_suppression(address)
    except InvalidEmail:
        removed = False
    if removed:
        audit("suppression_removed", address)
        db.session.commit()
    flash(f"{address} gets list mail again." if removed else "That address was not suppressed.",
          "success" if removed else "error")  # fmt: skip
    return redirect(url_for("staff.suppressions"))
