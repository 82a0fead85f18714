"""The JSON API (CONTRACT.md): the newsletters on offer and a signup, for an outlet's own code.

Bodies are parsed by newsletters/schemas.py; every refusal, whether the body's or the signup
service's, becomes the contract's JSON error in refused() below.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

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
    return jsonify(SignupAccepted().model_dump()), 202


@bp.errorhandler(ApiError)
@bp.errorhandler(InvalidEmail)
@bp.errorhandler(services.UnknownNewsletter)
def refused(refusal: ApiError | InvalidEmail | services.UnknownNewsletter):
    db.session.rollback()
    if not isinstance(refusal, ApiError):
        refusal = ApiError.refused_signup(refusal)
    return refusal.response()
