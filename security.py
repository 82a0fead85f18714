"""Headers every response carries; which pages other sites may frame."""

from __future__ import annotations

from functools import wraps

from flask import Flask, current_app, g

# Stripe's hosted pages are reached by a redirect after our forms post, which form-action governs.
STRIPE_FORM_TARGETS = "https://checkout.stripe.com https://billing.stripe.com"


def embeddable(view):
    """Mark a view as one that EMBED_ORIGINS may put in an iframe (the embed form, the widget)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.embeddable = True
        return view(*args, **kwargs)

    return wrapper


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
    @app.after_request
    def set_security_headers(response):
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html" or response.mimetype == "image/svg+xml":
            response.headers["Content-Security-Policy"] = _content_security_policy()
            if not g.get("embeddable"):
                response.headers["X-Frame-Options"] = "DENY"
        return response
