"""Queueing mail: a template and its values, stored in the caller's transaction; rendered and
sent by the worker."""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from email.utils import parseaddr
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context
from sqlalchemy import bindparam, func, insert, inspect, select
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.expression import ScalarSelect

from database import utcnow
from extensions import db
from i18n import current_language
from mailer.message import MailFrom
from mailer.models import QUEUED, OutboxMessage
from mailer.rendering import QueuedMail, RenderFailed, has_renderer, render_rows


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


_outbox = OutboxMessage.__table__
_QUEUED_COLUMNS = (
    "kind",
    "to_addr",
    "context",
    "language",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)


def _queued_value(column: str):
    """A queued column's value as a parameter named after no table's column (mail_…), so that
    another statement may carry the INSERT in its WITH beside INSERTs of its own."""
    return bindparam(f"mail_{column}", type_=_outbox.c[column].type)


@dataclass(frozen=True)
class StoredLanguage:
    """A mail language the outbox INSERT reads itself, so it costs no round trip of its own:
    `query`, a scalar SELECT built once (a reader's kept language), with its `parameters`.
    When it finds none, the language is chosen as for language=None."""

    query: ScalarSelect
    parameters: dict


@cache
def _insert_message(language_query: ScalarSelect | None = None) -> Insert:
    """The outbox INSERT, with its language read by `language_query` if any (built once per
    query). INSERT … SELECT, its columns named: carried in another INSERT's WITH, an INSERT …
    VALUES would take more columns from the names of that statement's parameters."""
    values = {column: _queued_value(column) for column in _QUEUED_COLUMNS}
    if language_query is not None:
        values["language"] = func.coalesce(language_query, values["language"])
    return insert(_outbox).from_select(list(values), select(*values.values()))


def queue_mail(**message: Any) -> None:
    """Add a message to the outbox; the caller's commit makes it real, its rollback drops it.
    The message is described by mail_queueing()'s arguments (keywords only)."""
    db.session.execute(*mail_queueing(**message))


def mail_queueing(
    *,
    to: str,
    template: str,
    context: dict | None = None,
    list_id: str | None = None,
    unsubscribe_url: str | None = None,
    language: str | StoredLanguage | None = None,
) -> tuple[Insert, dict]:
    """queue_mail()'s statement and its parameters, for a caller that runs them in a statement
    of its own round trip (membership.goal.adjust_member_counter's `along_with`). Their names
    are mail_… and a StoredLanguage's own: none is a column's.

    `template` names templates/email/<template>.subject.txt, .txt and .html, rendered by the
    worker when it sends, with `context` as stored now (plus base_url). Context values must be
    JSON: strings, numbers, lists and dicts; an ORM row or a dataclass is stored as a dict of its
    columns or fields, which templates read the same way (`newsletter.name`). List mail passes
    `list_id` (see list_id_header) and `unsubscribe_url` (an absolute /unsubscribe/<token>
    link). `language` is the reader's mail language (en, uk); by default the language of the
    request being answered, so a signup from a Ukrainian page is confirmed in Ukrainian. A
    StoredLanguage is read by the INSERT itself, this default where it finds none.
    """
    stored = language if isinstance(language, StoredLanguage) else None
    if stored is not None:
        language = None
    if language is None and has_request_context():
        language = current_language()  # the page or request the reader is on, as i18n chose
    if not has_renderer(template):  # a typo in a template's name fails here, not when sent
        current_app.jinja_env.get_template(f"email/{template}.txt")
    values = {key: plain_value(value) for key, value in (context or {}).items()}
    if list_id:
        values["list_id"] = list_id
    if unsubscribe_url:
        values["unsubscribe_url"] = unsubscribe_url
    now = utcnow()
    # A Core INSERT, not an ORM object: it joins the caller's transaction just the same, and
    # skips the unit-of-work bookkeeping on the signup path's hottest line.
    parameters = {
        "mail_kind": template,
        "mail_to_addr": to,
        "mail_context": values,
        "mail_language": language,
        "mail_status": QUEUED,
        "mail_attempts": 0,
        "mail_next_attempt_at": now,
        "mail_created_at": now,
    }
    if stored is None:
        return _insert_message(), parameters
    return _insert_message(stored.query), {**parameters, **stored.parameters}


_JSON_SCALARS = (str, int, float, bool, type(None))


def plain_value(value):
    """`value` as JSON can store it; TypeError for what it cannot."""
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, dict):
        return {str(key): plain_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain_value(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain_value(getattr(value, f.name)) for f in fields(value)}
    mapper = inspect(value, raiseerr=False)
    if mapper is not None and hasattr(mapper, "mapper"):
        return {
            column.key: plain_value(getattr(value, column.key))
            for column in mapper.mapper.column_attrs
        }
    raise TypeError(f"a mail's context holds {type(value).__name__}, which JSON cannot store")


@dataclass(frozen=True)
class MailPreview:
    """A queued (or sent) row as its reader gets it: for staff pages, the console and tests."""

    id: int
    kind: str
    to_addr: str
    status: str
    subject: str
    text_body: str
    html_body: str
    headers: dict[str, str]
    message_id: str
    language: str | None
    campaign_id: int | None
    subscriber_id: int | None


def preview(message: OutboxMessage) -> MailPreview:
    """Render one outbox row as the worker would now; raises RenderFailed if it cannot be."""
    row = QueuedMail(
        id=message.id,
        kind=message.kind,
        to_addr=message.to_addr,
        context=message.context,
        language=message.language,
        campaign_id=message.campaign_id,
        subscriber_id=message.subscriber_id,
        created_at=message.created_at,
        attempts=message.attempts,
        stored=None
        if message.text_body is None
        else {
            "subject": message.subject,
            "text_body": message.text_body,
            "html_body": message.html_body,
            "headers": message.headers,
            "message_id": message.message_id,
        },
    )
    (mail,) = render_rows([row])
    if isinstance(mail, RenderFailed):
        raise mail
    return MailPreview(
        id=message.id,
        kind=message.kind,
        to_addr=message.to_addr,
        status=message.status,
        subject=mail.subject,
        text_body=mail.text_body,
        html_body=mail.html_body,
        headers=dict(mail.headers),
        message_id=mail.message_id,
        language=message.language,
        campaign_id=message.campaign_id,
        subscriber_id=message.subscriber_id,
    )
