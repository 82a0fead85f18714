"""Errors for people (a page) and for programs (the contract's JSON shape); never a trace."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

ERROR_CODES = {
    400: ("bad_request", "The request could not be understood."),
    403: ("forbidden", "You are not allowed to do that."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "That method is not allowed here."),
    410: ("gone", "This link has expired."),
    413: ("payload_too_large", "The request body is larger than 16 KiB."),
    415: ("unsupported_media_type", "Send the body as application/json."),
    422: ("unprocessable", "The request could not be processed."),
    429: ("rate_limited", "Too many requests: please wait a little and try again."),
    500: ("internal_error", "Something went wrong on our side. Please try again."),
}


def api_error(status: int, code: str, message: str, field: str | None = None) -> Response:
    body: dict = {"code": code, "message": message}
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
    code, message = ERROR_CODES.get(status, ("error", "The request failed."))
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
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _error_response(500)
