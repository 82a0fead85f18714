"""The JSON API (CONTRACT.md): the newsletters on offer and a signup, for an outlet's own code."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from addresses import InvalidEmail
from errors import api_error
from extensions import client_address, csrf, db
from newsletters import services
from newsletters.forms import EMAIL_ERROR
from newsletters.limits import signup_per_client, signup_per_email
from newsletters.models import SOURCE_API

bp = Blueprint("newsletters_api", __name__, url_prefix="/api")
# JSON from other origins' scripts (CORS) and servers: no session, so nothing for CSRF to guard.
csrf.exempt(bp)


@bp.get("/newsletters")
def newsletters():
    lists = services.public_lists()
    return jsonify(
        {
            "newsletters": [
                {"slug": n.slug, "name": n.name, "description": n.description or ""} for n in lists
            ]
        }
    )


def _bad_request(message: str, field: str | None = None):
    return api_error(400, "bad_request", message, field)


@bp.post("/subscriptions")
@signup_per_client
@signup_per_email
def subscriptions():
    if not request.is_json:
        return api_error(415, "unsupported_media_type", "Send the body as application/json.")
    body = request.get_json(silent=True)  # a body over 16 KiB raises 413 here
    if not isinstance(body, dict):
        return _bad_request("The body must be a JSON object.")
    email = body.get("email")
    if email is None:
        return api_error(422, "invalid_email", EMAIL_ERROR, "email")
    if not isinstance(email, str):
        return _bad_request("email must be a string.", "email")
    slugs = body.get("newsletters")
    if slugs is None:
        slugs = []
    if not isinstance(slugs, list) or not all(isinstance(slug, str) for slug in slugs):
        return _bad_request("newsletters must be a list of newsletter slugs.", "newsletters")
    signup = services.SignupRequest(
        email=email,
        slugs=slugs,
        source=SOURCE_API,
        source_url=request.headers.get("Origin") or request.referrer,
        ip=client_address(),
        user_agent=request.user_agent.string,
        wording=services.API_WORDING,
    )
    try:
        services.signup(signup)
        db.session.commit()
    except InvalidEmail:
        db.session.rollback()
        return api_error(422, "invalid_email", EMAIL_ERROR, "email")
    except services.UnknownNewsletter as exc:
        db.session.rollback()
        return api_error(422, "unknown_newsletter", f"Unknown newsletter: {exc}", "newsletters")
    return jsonify({"status": "pending"}), 202
