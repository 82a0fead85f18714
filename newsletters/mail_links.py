"""Signed links in signup mail, made when the mail is rendered rather than when it is queued.

A signup on PostgreSQL queues its mail in the same statement that records the consent
(newsletters/signup_statement.py), before Python knows the ids a link is signed from; the row
keeps those ids and the links are signed here, by the worker, just before sending. Rows that
already hold their links (queued by the other callers) render as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from mailer.rendering import QueuedMail, RenderedMail, register_renderer, render_templates
from newsletters import links

CONFIRM_KIND = "confirm"
ALREADY_SUBSCRIBED_KIND = "already_subscribed"


def with_links(context: dict | None) -> dict | None:
    if not context or "subscriber_id" not in context:
        return context
    completed = dict(context)
    subscriber_id = int(context["subscriber_id"])
    if "confirm_url" not in completed and "slugs" in completed:
        completed["confirm_url"] = links.confirm_url(
            subscriber_id,
            list(context["slugs"]),
            context.get("consent_id"),
            context.get("signed_at"),
        )
    if "preferences_url" not in completed and "slugs" not in completed:
        completed["preferences_url"] = links.preferences_url(subscriber_id)
    return completed


def render_signup_mail(rows: Sequence[QueuedMail]) -> list[RenderedMail]:
    return render_templates([replace(row, context=with_links(row.context)) for row in rows])


def register_with_mailer() -> None:
    register_renderer(CONFIRM_KIND, render_signup_mail)
    register_renderer(ALREADY_SUBSCRIBED_KIND, render_signup_mail)
