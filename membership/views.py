"""Reader pages for membership: the goal, the join page, the widget, the badge, managing.

Paying (checkout, the thanks page, the Customer Portal) is payments' part: payments/views.py.
"""

from __future__ import annotations

import hashlib
import json
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


# The goal, the widget and the badge sit on every article page: a CDN may keep them a few
# seconds (the badge's figure from before), and a client that has one asks again with
# If-None-Match and hears 304.
SHARED_CACHE_CONTROL = "public, max-age=5"


def shared_answer(response: Response, tag: str | None = None) -> Response:
    """Cacheable by anyone for a few seconds, with an ETag (the body's, or a weak `tag` for
    bodies equal but for a timestamp), and 304 Not Modified when the client's copy matches."""
    response.headers["Cache-Control"] = SHARED_CACHE_CONTROL
    if tag is None:
        response.add_etag()
    else:
        response.set_etag(tag, weak=True)
    return response.make_conditional(request)


@bp.get("/api/goal")
@shared_cacheable
def api_goal():
    figures = {**goal_progress().as_json(), "definition": member_definition()}
    response = jsonify(figures)
    # updated_at is when the figures were read: the same figures read again are the same answer.
    unchanged = {key: value for key, value in figures.items() if key != "updated_at"}
    tag = hashlib.sha1(json.dumps(unchanged, sort_keys=True).encode()).hexdigest()
    return shared_answer(response, tag)


@bp.get("/membership/widget")
@embeddable
@shared_cacheable
def widget():
    body = render_template("membership/widget.html", progress=goal_progress())
    return shared_answer(Response(body, mimetype="text/html"))


@bp.get("/membership/progress.svg")
@shared_cacheable
def progress_svg():
    body = render_template("membership/progress.svg", progress=goal_progress())
    return shared_answer(Response(body, mimetype="image/svg+xml"))


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
