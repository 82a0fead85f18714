"""Reader pages for membership: the goal, the join page, the widget, the badge, managing.

Paying (checkout, the thanks page, the Customer Portal) is payments' part: payments/views.py.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, jsonify, render_template, request

from extensions import db, limiter
from membership import services
from membership.definition import member_definition
from membership.goal import goal_progress
from membership.services import InvalidInput
from newsletters.limits import signup_limit, signup_per_email
from security import embeddable, shared_cacheable

bp = Blueprint("membership", __name__)


@bp.app_context_processor
def membership_helpers() -> dict:
    return {
        "tier_price_label": services.tier_price_label,
        "format_amount": services.format_amount,
        "member_definition": member_definition,
    }


@bp.app_template_global("membership_progress")
def membership_progress():
    """The goal banner's figures for any page (newsletters' article shows it)."""
    return goal_progress()


def membership_page(errors: dict | None = None, form: dict | None = None, status: int = 200):
    """The join page; payments shows it again with the errors of a checkout form."""
    return (
        render_template(
            "membership/page.html",
            progress=goal_progress(),
            tiers=services.offered_tiers(),
            errors=errors or {},
            form=form or {},
            attempt=secrets.token_urlsafe(16),
        ),
        status,
    )


@bp.get("/membership")
def page():
    return membership_page()


@bp.get("/api/goal")
@shared_cacheable
def api_goal():
    response = jsonify({**goal_progress().as_json(), "definition": member_definition()})
    response.headers["Cache-Control"] = "public, max-age=2"
    return response


@bp.get("/membership/widget")
@embeddable
def widget():
    return render_template("membership/widget.html", progress=goal_progress())


@bp.get("/membership/progress.svg")
@shared_cacheable
def progress_svg():
    body = render_template("membership/progress.svg", progress=goal_progress())
    response = Response(body, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=5"
    return response


@bp.get("/membership/manage")
def manage():
    return render_template("membership/manage.html", errors={}, form={}, sent=False)


@bp.post("/membership/manage")
@limiter.limit(signup_limit)
@signup_per_email  # each link is a mail to that address: the signup budget per address applies
def request_manage_link():
    form = {"email": request.form.get("email", "")}
    try:
        services.request_portal_link(services.read_email(form["email"]))
    except InvalidInput as exc:
        errors = {exc.field: exc.message}
        return render_template("membership/manage.html", errors=errors, form=form, sent=False), 422
    db.session.commit()
    return render_template("membership/manage.html", errors={}, form={}, sent=True)
