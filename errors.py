"""Errors for people (a page) and for programs (the contract's JSON shape); never a trace."""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext
from werkzeug.exceptions import HTTPException

from database import is_database_outage, outage_summary
from extensions import db

# How long a client is told to wait while the database is unreachable: a restart or a
# failover takes about this long, and Stripe and scripts honour it.
UNAVAILABLE_RETRY_AFTER_SECONDS = 30

# Messages follow the request's language (Accept-Language for the API); codes never change.
ERROR_CODES = {
    400: ("bad_request", lazy_gettext("The request could not be understood.")),
    403: ("forbidden", lazy_gettext("You are not allowed to do that.")),
    404: ("not_found", lazy_gettext("There is nothing at this address.")),
    405: ("method_not_allowed", lazy_gettext("That method is not allowed here.")),
    410: ("gone", lazy_gettext("This link has expired.")),
    413: ("payload_too_large", lazy_gettext("The request body is larger than 16 KiB.")),
    415: ("unsupported_media_type", lazy_gettext("Send the body as application/json.")),
    422: ("unprocessable", lazy_gettext("The request could not be processed.")),
    429: ("rate_limited", lazy_gettext("Too many requests: please wait a little and try again.")),
    500: ("internal_error", lazy_gettext("Something went wrong on our side. Please try again.")),
    503: (
        "unavailable",
        lazy_gettext("The service is unavailable for a moment. Please try again shortly."),
    ),
}


def api_error(status: int, code: str, message: str, field: str | None = None) -> Response:
    body: dict = {"code": code, "message": str(message)}
    if field is not None:
        body["field"] = field
    response = jsonify({"error": body})
    response.status_code = status
    return response


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _error_response(status: int, description: str | None = None):
    code, lazy_message = ERROR_CODES.get(status, ("error", lazy_gettext("The request failed.")))
    message = str(lazy_message)
    if wants_json():
        return api_error(status, code, message)
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        response = _error_response(exc.code or 500)
        if isinstance(response, tuple):
            response = app.make_response(response)
        # Keep what the exception set (Retry-After, Allow) on the page we answer with.
        original = exc.get_response()
        for header in ("Retry-After", "Allow"):
            if header in original.headers:
                response.headers[header] = original.headers[header]
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        if is_database_outage(exc):
            return database_unavailable(exc)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _error_response(500)


def database_unavailable(exc: BaseException):
    """503 with Retry-After, and one log line: the outage is news, its traceback is not."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 (the connection is gone; the pool has dropped it)
        db.session.close()
    current_app.logger.warning(
        "database unavailable on %s %s: %s", request.method, request.path, outage_summary(exc)
    )
    code, lazy_message = ERROR_CODES[503]
    message = str(lazy_message)
    if wants_json():
        response = api_error(503, code, message)
    else:
        # Without the context processors: Flask-Login's would load the signed-in staff member
        # from the database that just failed.
        page = current_app.jinja_env.get_template("error.html").render(status=503, message=message)
        response = current_app.response_class(page, 503, mimetype="text/html")
    response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    return response
