"""Headers every response carries; which pages other sites may frame."""

from __future__ import annotations

from functools import wraps

from flask import Flask, current_app, g
from flask.sessions import SecureCookieSessionInterface

# Stripe's hosted pages are reached by a redirect after our forms post, which form-action governs.
STRIPE_FORM_TARGETS = "https://checkout.stripe.com https://billing.stripe.com"


def embeddable(view):
    """Mark a view as one that EMBED_ORIGINS may put in an iframe (the embed form, the widget)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.embeddable = True
        return view(*args, **kwargs)

    return wrapper


def shared_cacheable(view):
    """Mark a public view whose answer is the same for everyone (the goal, the badge).

    Flask-Login reads the session on every request, which would make Flask answer
    `Vary: Cookie` and keep shared caches from holding the response.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.shared_cacheable = True
        return view(*args, **kwargs)

    return wrapper


class _SessionInterface(SecureCookieSessionInterface):
    def save_session(self, app, session, response):
        super().save_session(app, session, response)
        if g.get("shared_cacheable") and not session.modified:
            response.vary.discard("Cookie")


def _frame_ancestors() -> str:
    if g.get("embeddable"):
        return " ".join(["'self'", *current_app.config["EMBED_ORIGINS"]])
    return "'none'"


def _content_security_policy() -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "img-src 'self' data:",
            "style-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action 'self' {STRIPE_FORM_TARGETS}",
            f"frame-ancestors {_frame_ancestors()}",
        ]
    )


def init_app(app: Flask) -> None:
    """Register before the other extensions: after_request handlers run last-registered first,
    so these see the headers the rate limiter has added."""
    app.session_interface = _SessionInterface()

    @app.after_request
    def set_security_headers(response):
        response.headers["X-Content-Type-Options"] = "nosniff"
        if response.status_code not in (429, 503):
            # Flask-Limiter adds Retry-After to every answer; it only means something on these.
            response.headers.pop("Retry-After", None)
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html" or response.mimetype == "image/svg+xml":
            response.headers["Content-Security-Policy"] = _content_security_policy()
            if not g.get("embeddable"):
                response.headers["X-Frame-Options"] = "DENY"
        return response
