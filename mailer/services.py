"""Queueing mail: render now, store in the outbox in the caller's transaction, send later."""

from __future__ import annotations

from email.utils import make_msgid, parseaddr
from urllib.parse import urlsplit

from flask import current_app, render_template
from sqlalchemy import insert

from database import utcnow
from extensions import db
from mailer.message import MailFrom
from mailer.models import QUEUED, OutboxMessage


def from_identity() -> MailFrom:
    """Who mail is from: MAIL_FROM, a bare address (named by MAIL_FROM_NAME) or "Name <address>"."""
    config = current_app.config
    raw = config["MAIL_FROM"].strip()
    name, address = parseaddr(raw)
    if not address:  # unreadable: sent as written, so the worker's error names it
        return MailFrom(raw, config.get("MAIL_FROM_NAME") or "")
    return MailFrom(address, name or config.get("MAIL_FROM_NAME") or "")


def list_id_header(name: str, slug: str) -> str:
    """RFC 2919: a phrase and a unique dotted id under our own host name."""
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    phrase = " ".join(name.split()).replace('"', "'")  # a header value is one line
    return f'"{phrase}" <{slug}.{host}>'


_INSERT_MESSAGE = insert(OutboxMessage.__table__)  # one compiled form, parameters per call


def queue_mail(
    *,
    to: str,
    template: str,
    context: dict | None = None,
    list_id: str | None = None,
    unsubscribe_url: str | None = None,
) -> None:
    """Add a message to the outbox; the caller's commit makes it real, its rollback drops it.

    `template` names templates/email/<template>.subject.txt, .txt and .html. List mail passes
    `list_id` (see list_id_header) and `unsubscribe_url` (an absolute /unsubscribe/<token> link).
    """
    context = {**(context or {}), "base_url": current_app.config["BASE_URL"]}
    if unsubscribe_url:
        context["unsubscribe_url"] = unsubscribe_url
    subject = render_template(f"email/{template}.subject.txt", **context).strip()
    headers: dict[str, str] = {}
    if list_id:
        headers["List-Id"] = list_id
    if unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    from_domain = from_identity().address.rpartition("@")[2] or "localhost"
    now = utcnow()
    # A Core INSERT, not an ORM object: it joins the caller's transaction just the same, and
    # skips the unit-of-work bookkeeping on the signup path's hottest line.
    db.session.execute(
        _INSERT_MESSAGE,
        dict(
            kind=template,
            to_addr=to,
            subject=" ".join(subject.split()),
            text_body=render_template(f"email/{template}.txt", **context),
            html_body=render_template(f"email/{template}.html", **context),
            headers=headers,
            message_id=make_msgid(domain=from_domain),
            status=QUEUED,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        ),
    )
