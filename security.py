"""Headers every response carries; which pages other sites may frame; how big a body may be."""

from __future__ import annotations

import time
from functools import lru_cache, wraps
from typing import IO

from flask import Flask, Request, abort, g, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from extensions import limiter

# Stripe's hosted pages are reached by a redirect after our forms post, which form-action governs.
STRIPE_FORM_TARGETS = "https://checkout.stripe.com https://billing.stripe.com"


def _marking(flag: str, doc: str):
    """A view decorator that sets g.<flag> for the headers written after the view."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            setattr(g, flag, True)
            return view(*args, **kwargs)

        return wrapper

    decorator.__doc__ = doc
    return decorator


embeddable = _marking(
    "embeddable",
    "Mark a view as one that EMBED_ORIGINS may put in an iframe (the embed form, the widget).",
)
shared_cacheable = _marking(
    "shared_cacheable",
    """Mark a public view whose answer is the same for everyone (the goal, the badge).

    Flask-Login reads the session on every request, which would make Flask answer
    `Vary: Cookie` and keep shared caches from holding the response.""",
)
remote_images = _marking(
    "remote_images",
    "Mark a page that shows a campaign's body, whose images come from https origins.",
)


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with its serializer built once per key, not per request,
    and nothing parsed or read from the configuration for a request that has no session."""

    def __init__(self) -> None:
        self._cached: tuple = (None, None)  # (the keys, their serializer): one swap, threads safe

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached_keys, serializer = self._cached
        if cached_keys != keys:
            serializer = super().get_signing_serializer(app)
            self._cached = (keys, serializer)
        return serializer

    def open_session(self, app, request):
        if app.secret_key and "HTTP_COOKIE" not in request.environ:
            return self.session_class()  # Flask's answer without a cookie, none to parse
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if session or session.modified:
            super().save_session(app, session, response)
        elif session.accessed:
            # Flask's whole answer for an empty session left alone, without first reading the
            # seven cookie settings it would need to write or delete one.
            response.vary.add("Cookie")
        if g.get("shared_cacheable") and not session.modified:
            # Lower case: werkzeug's HeaderSet.remove compares its stored spellings, lowered,
            # with the name as given, so "Cookie" stays when Vary holds another value too.
            response.vary.discard("cookie")


class _WholeBodyOrRefused(LimitedStream):
    """A body without Content-Length (chunked) read to MAX_CONTENT_LENGTH: more is a 413.

    Werkzeug's own limit on such a stream stops reading there and hands over what it has, so a
    form or JSON body past the limit would be read cut short instead of refused.
    """

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit, is_max=True)
        self._source = stream

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._source.read(1):
            raise RequestEntityTooLarge()
        return data


class BoundedRequest(Request):
    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length  # read now: the webhook view raises its own first
        streamed = self.content_length is None and "wsgi.input_terminated" in self.environ
        if limit is not None and streamed:
            return _WholeBodyOrRefused(self.environ["wsgi.input"], limit)
        return super().stream


@lru_cache(maxsize=64)
def _content_security_policy(
    embed_origins: tuple[str, ...], embeddable: bool, remote_images: bool
) -> str:
    """Built once per combination: it depends on EMBED_ORIGINS and the view's marks alone."""
    frame_ancestors = " ".join(["'self'", *embed_origins]) if embeddable else "'none'"
    return "; ".join(
        [
            "default-src 'self'",
            "img-src 'self' data: https:" if remote_images else "img-src 'self' data:",
            "style-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action 'self' {STRIPE_FORM_TARGETS}",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def limit_breached(resets_at: float) -> None:
    """Say when the limit that refused this request resets, for its 429's Retry-After.

    For limits counted outside Flask-Limiter (the signup budgets, newsletters/limits.py);
    Flask-Limiter's own are read from limiter.current_limit.
    """
    g.limit_resets_at = resets_at


def _seconds_until_limit_resets() -> int:
    resets_at = g.get("limit_resets_at")
    if resets_at is None:
        breached = limiter.current_limit
        if breached is None:
            return 60
        resets_at = breached.reset_at
    return max(1, int(resets_at - time.time()))


class _JSONProvider(DefaultJSONProvider):
    """JSON nested too deeply for Python's parser is malformed JSON: a 400, not a 500.

    ('[' * 5000 + ']' * 5000 fits in 16 KiB and raises RecursionError in the json module.)
    """

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _holds_nul(pairs) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in pairs)


def _headers_hold_nul(environ: dict) -> bool:
    for key, value in environ.items():
        if (
            key.startswith("HTTP_")
            and isinstance(value, str)
            and ("\x00" in value or "\x00" in key)
        ):
            return True
    return False


def refuse_nul_characters() -> None:
    """400 for a NUL character in the path, the query, a header or a form field.

    PostgreSQL cannot store one in text and fails the statement; no person types one. JSON
    bodies are checked where they are read (newsletters/schemas.py, payments/events.py).
    """
    current = request._get_current_object()  # one look through the proxy, not one per part
    if (
        "\x00" in current.path
        or _holds_nul(current.args.items(multi=True))
        or _headers_hold_nul(current.environ)
        or (_form_to_read(current) and _holds_nul(current.form.items(multi=True)))
    ):
        abort(400)


def _form_to_read(current: Request) -> bool:
    """A form body within the size limit. One declared larger is left to the view, which
    answers 413 after its rate limits (a client past its limit hears 429 first)."""
    if current.mimetype not in FORM_TYPES:  # the JSON API's and every GET's case: no more to ask
        return False
    limit = current.max_content_length
    declared = current.content_length
    return limit is None or declared is None or declared <= limit


_FRAMED_TYPES = frozenset({"text/html", "image/svg+xml"})  # what a browser may render in a frame


def init_app(app: Flask) -> None:
    app.session_interface = _SessionInterface()
    app.request_class = BoundedRequest
    app.json = _JSONProvider(app)

    @app.after_request
    def set_security_headers(response):
        response.headers["X-Content-Type-Options"] = "nosniff"
        if response.status_code == 429 and "Retry-After" not in response.headers:
            # Flask-Limiter's own headers cost two more storage round trips on every request;
            # only a refused request needs to know when to come back.
            response.headers["Retry-After"] = str(_seconds_until_limit_resets())
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype in _FRAMED_TYPES:
            embeddable = bool(g.get("embeddable"))
            response.headers["Content-Security-Policy"] = _content_security_policy(
                tuple(app.config["EMBED_ORIGINS"]), embeddable, bool(g.get("remote_images"))
            )
            if not embeddable:
                response.headers["X-Frame-Options"] = "DENY"
        return response
