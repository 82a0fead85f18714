"""The JSON API (CONTRACT.md): the newsletters on offer and a signup, for an outlet's own code.

Bodies are parsed by newsletters/schemas.py; every refusal, whether the body's or the signup
service's, becomes the contract's JSON error in refused() below.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from addresses import InvalidEmail
from extensions import client_address, csrf, db
from i18n import reader_language
from newsletters import services
from newsletters.limits import signup_limits
from newsletters.schemas import (
    ApiError,
    NewsletterList,
    SignupAccepted,
    SubscriptionRequest,
    parse_json,
)

bp = Blueprint("newsletters_api", __name__, url_prefix="/api")
# JSON from other origins' scripts (CORS) and servers: no session, so nothing for CSRF to guard.
csrf.exempt(bp)


@bp.get("/newsletters")
def newsletters():
    answer = NewsletterList.model_validate({"newsletters": services.public_lists()})
    return jsonify(answer.model_dump())


@bp.post("/subscriptions")
@signup_limits
def subscriptions():
    body = parse_json(SubscriptionRequest, request)
    origin = request.headers.get("Origin") or request.referrer
    # The reader's mail language is what Accept-Language asks for (CONTRACT.md "Languages").
    signup = body.signup(origin, client_address(), request.user_agent.string, reader_language())
    services.signup_and_commit(signup)
    return _accepted()


def _accepted() -> Response:
    """202 and SignupAccepted's JSON, as jsonify writes it: the same for every signup, so its
    body is made once per app (the model, its dump and the encoding were ~5 % of a signup's CPU
    under load, bench/results.md)."""
    app = current_app._get_current_object()
    body = app.extensions.get(_ACCEPTED_BODY)
    if body is None:
        body = app.extensions[_ACCEPTED_BODY] = jsonify(SignupAccepted().model_dump()).get_data()
    return app.response_class(body, status=202, mimetype=app.json.mimetype)


_ACCEPTED_BODY = "newsletters_api.signup_accepted_body"


@bp.errorhandler(ApiError)
@bp.errorhandler(InvalidEmail)
@bp.errorhandler(services.UnknownNewsletter)
def refused(refusal: ApiError | InvalidEmail | services.UnknownNewsletter):
    db.session.rollback()
    if not isinstance(refusal, ApiError):
        refusal = ApiError.refused_signup(refusal)
    return refusal.response()
