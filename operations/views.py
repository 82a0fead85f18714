"""The operator's endpoints (CONTRACT.md "Operations") and the API's OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST

from newsletters.limits import never_limited
from operations.openapi import openapi_document
from operations.readiness import readiness
from operations.scrape import authorised, exposition

bp = Blueprint("operations", __name__)


def _not_cached(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
@never_limited
def healthz():
    return _not_cached(jsonify({"status": "ok"}))


@bp.get("/readyz")
@never_limited
def readyz():
    result = readiness()
    response = _not_cached(jsonify(result.as_json()))
    response.status_code = 200 if result.ready else 503
    return response


@bp.get("/metrics")
@never_limited
def prometheus_metrics():
    if not authorised(request.headers.get("Authorization")):
        abort(404)
    return _not_cached(Response(exposition(), content_type=CONTENT_TYPE_LATEST))


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(openapi_document())
