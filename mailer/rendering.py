"""Turning queued outbox rows into mail when they are sent, a batch of rows at a time.

A row holds a kind and the values its templates need; nothing is rendered when it is queued.
The worker hands each claimed batch to the renderer of each kind it holds:

- kinds a higher package registers with register_renderer(kind, fn): fn(rows) renders a list of
  QueuedMail in one go, so a campaign's body is rendered and sanitised once per batch and only
  each reader's own parts (links, footer) per message;
- every other kind: templates/email/<kind>.subject.txt, .txt and .html, with the row's stored
  context, base_url, and (for list mail) unsubscribe_url; list_id and unsubscribe_url in the
  context become the List-Id and List-Unsubscribe(-Post) headers.

Rendering needs an app context (the worker has one); each group of rows is rendered with
Flask-Babel's locale set to the rows' language (queue_mail stores the language of the request
that queued it). A renderer that raises fails only the rows that make it raise: the batch is
rendered again row by row to find them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr

from flask import current_app
from flask_babel import force_locale

from i18n import DEFAULT_LANGUAGE
from mailer.message import Mail


@dataclass(frozen=True)
class QueuedMail:
    """One claimed outbox row, as a renderer sees it."""

    id: int
    kind: str
    to_addr: str
    context: dict | None
    language: str | None
    campaign_id: int | None
    subscriber_id: int | None
    created_at: datetime
    attempts: int = 0
    # Rows queued before rendering moved to send time carry their mail (subject, bodies, …).
    stored: dict | None = None


@dataclass(frozen=True)
class RenderedMail:
    """What a renderer returns for one row: the words, and the list headers it needs."""

    subject: str
    text_body: str
    html_body: str
    headers: dict[str, str] = field(default_factory=dict)


Renderer = Callable[[Sequence[QueuedMail]], Sequence[RenderedMail]]

_renderers: dict[str, Renderer] = {}


class RenderFailed(Exception):
    """This row cannot be rendered (a missing template, a renderer's error): it fails."""


def register_renderer(kind: str, renderer: Renderer) -> None:
    """Render rows of `kind` with renderer(rows) -> one RenderedMail per row, in order.

    Registering a kind again replaces its renderer (an app built twice in one process).
    """
    _renderers[kind] = renderer


def has_renderer(kind: str) -> bool:
    """Whether a package registered a renderer for `kind` (else its templates render it)."""
    return kind in _renderers


def render_rows(rows: Sequence[QueuedMail]) -> list[Mail | RenderFailed]:
    """Each row as a Mail ready to build, or the RenderFailed that says why it cannot be."""
    results: dict[int, Mail | RenderFailed] = {}
    groups: dict[tuple[str, str | None], list[QueuedMail]] = {}
    for row in rows:
        if row.stored is not None:
            results[row.id] = _stored_mail(row)
        else:
            groups.setdefault((row.kind, row.language), []).append(row)
    domain = message_id_domain()
    for (kind, language), group in groups.items():
        renderer = _renderers.get(kind, render_templates)
        # gettext in templates and renderers speaks the reader's language, not the worker's.
        with force_locale(language or DEFAULT_LANGUAGE):
            rendered_group = _render_group(renderer, group)
        for row, rendered in zip(group, rendered_group, strict=True):
            results[row.id] = (
                rendered
                if isinstance(rendered, RenderFailed)
                else _mail(row, rendered, message_id(row.id, row.created_at, domain))
            )
    return [results[row.id] for row in rows]


def _render_group(renderer: Renderer, group: list[QueuedMail]) -> list[RenderedMail | RenderFailed]:
    try:
        rendered = list(renderer(group))
        if len(rendered) != len(group):
            raise RenderFailed(f"renderer returned {len(rendered)} messages for {len(group)} rows")
        return rendered
    except Exception as error:
        if len(group) == 1:
            return [RenderFailed(f"cannot render {group[0].kind!r} mail: {_describe(error)}")]
    # Find the rows that make it fail; the others go as usual.
    return [_render_group(renderer, [row])[0] for row in group]


def render_templates(rows: Sequence[QueuedMail]) -> list[RenderedMail]:
    """The default renderer: templates/email/<kind>.* with each row's stored context."""
    environment = current_app.jinja_env
    base_url = current_app.config["BASE_URL"]
    rendered = []
    for row in rows:
        context = {**(row.context or {}), "base_url": base_url, "mail_language": row.language}
        name = f"email/{row.kind}"
        with force_locale(row.language or DEFAULT_LANGUAGE):  # the reader's language
            subject = environment.get_template(f"{name}.subject.txt").render(context)
            text_body = environment.get_template(f"{name}.txt").render(context)
            html_body = environment.get_template(f"{name}.html").render(context)
        rendered.append(
            RenderedMail(
                subject=" ".join(subject.split()),
                text_body=text_body,
                html_body=html_body,
                headers=list_headers(context.get("list_id"), context.get("unsubscribe_url")),
            )
        )
    return rendered


def list_headers(list_id: str | None, unsubscribe_url: str | None) -> dict[str, str]:
    """List-Id (RFC 2919) and one-click List-Unsubscribe (RFC 8058) for list mail."""
    headers: dict[str, str] = {}
    if list_id:
        headers["List-Id"] = list_id
    if unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def message_id(row_id: int, created_at: datetime, domain: str) -> str:
    """The same for every attempt at one row, and never the same for two rows."""
    return f"<{row_id}.{created_at:%Y%m%d%H%M%S%f}.outbox@{domain}>"


def message_id_domain() -> str:
    """The domain of MAIL_FROM, which names our messages (RFC 5322 Message-ID)."""
    address = parseaddr(current_app.config["MAIL_FROM"])[1] or current_app.config["MAIL_FROM"]
    domain = address.rpartition("@")[2].strip()
    return domain if domain and domain.isascii() and " " not in domain else "localhost"


def _mail(row: QueuedMail, rendered: RenderedMail, message_id: str) -> Mail:
    return Mail(
        id=row.id,
        to_addr=row.to_addr,
        subject=rendered.subject,
        text_body=rendered.text_body,
        html_body=rendered.html_body,
        message_id=message_id,
        created_at=row.created_at,
        headers=rendered.headers,
        attempts=row.attempts,
        language=row.language,
    )


def _stored_mail(row: QueuedMail) -> Mail:
    stored = row.stored or {}
    return Mail(
        id=row.id,
        to_addr=row.to_addr,
        subject=stored.get("subject") or "",
        text_body=stored.get("text_body") or "",
        html_body=stored.get("html_body") or "",
        message_id=stored.get("message_id")
        or message_id(row.id, row.created_at, message_id_domain()),
        created_at=row.created_at,
        headers=stored.get("headers") or {},
        attempts=row.attempts,
        language=row.language,
    )


def _describe(error: Exception) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
