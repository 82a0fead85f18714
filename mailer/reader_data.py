"""A reader's mail as privacy asks for it: what was sent to them, erasing it, and the retention
purge of old mail. The outbox is the mailer's; the privacy package calls these.

Everything here works in the caller's transaction and never commits, except
purge_finished_mail(), which clears old rows in batches and commits each one.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, func, null, or_, select, update

from extensions import db
from mailer.models import CANCELLED, FAILED, HELD, QUEUED, SENT, SUPPRESSED, OutboxMessage
from mailer.rendering import RenderFailed
from mailer.services import preview
from mailer.suppressions import suppression_for

PURGE_BATCH = 5000
# Rows that will never be sent (again): what they said is needed no longer.
FINISHED = (SENT, FAILED, SUPPRESSED, CANCELLED)
ERASED_RECIPIENT = ""  # to_addr of a campaign row kept for the campaign's figures

_outbox = OutboxMessage.__table__


@dataclass(frozen=True)
class ForgottenMail:
    deleted: int  # transactional rows (confirmations, welcomes, links) deleted
    anonymised: int  # campaign rows kept for the campaign's figures, with nobody named


def _to_reader(spellings: Collection[str], address_key: str):
    """Rows addressed to the reader, however the address was spelt when queued: signups queue
    the address as normalised, membership mail its lower-cased key.

    Both sides are lowered by the database (ix_outbox_address_key), so a row the address was
    queued to exactly is found whatever the database's lower() does with non-ASCII letters.
    """
    wanted = [func.lower(spelling) for spelling in dict.fromkeys(spellings)] + [address_key]
    return func.lower(_outbox.c.to_addr).in_(wanted)


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def mail_sent_to(spellings: Collection[str], address_key: str, since: datetime) -> list[dict]:
    """The reader's mail queued since `since` (the retention window): kind, subject, dates,
    status; never a body, and nothing about anyone else."""
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(_to_reader(spellings, address_key), OutboxMessage.created_at >= since)
        .order_by(OutboxMessage.id)
    )
    return [
        {
            "kind": row.kind,
            "subject": _subject(row),
            "campaign_id": row.campaign_id,
            "status": row.status,
            "queued_at": _moment(row.created_at),
            "sent_at": _moment(row.sent_at),
            "bounced_at": _moment(row.bounced_at),
        }
        for row in rows
    ]


def _subject(row: OutboxMessage) -> str | None:
    """The subject as the reader saw it (rendered again from the row), if it can still be."""
    if row.subject is not None:
        return row.subject
    if row.context is None and row.campaign_id is None:
        return None  # purged after the retention window
    try:
        return preview(row).subject
    except RenderFailed:
        return None


def suppressions_of(address: str) -> list[dict]:
    entry = suppression_for(address)
    if entry is None:
        return []
    return [{"reason": entry.reason, "detail": entry.detail, "since": _moment(entry.created_at)}]


def forget_mail(spellings: Collection[str], address_key: str) -> ForgottenMail:
    """Delete the reader's transactional mail; keep their campaign rows for the campaigns'
    figures with nothing that names them. What was still to go is cancelled."""
    addressed = _to_reader(spellings, address_key)
    deleted = db.session.execute(
        delete(_outbox).where(addressed, _outbox.c.campaign_id.is_(None)).returning(_outbox.c.id)
    ).all()
    anonymised = db.session.execute(
        update(_outbox)
        .where(addressed, _outbox.c.campaign_id.is_not(None))
        .values(
            to_addr=ERASED_RECIPIENT,
            subscriber_id=None,
            status=case((_outbox.c.status.in_((QUEUED, HELD)), CANCELLED), else_=_outbox.c.status),
            **_NO_CONTENT,
        )
        .returning(_outbox.c.id)
    ).all()
    return ForgottenMail(len(deleted), len(anonymised))


# SQL NULL, not JSON's null, in the JSON columns: "IS NULL" must find them.
_NO_CONTENT = {
    "context": null(),
    "subject": None,
    "text_body": None,
    "html_body": None,
    "headers": null(),
}


def purge_finished_mail(before: datetime, batch_size: int = PURGE_BATCH) -> int:
    """Clear what mail said and to whom, for rows finished (sent, failed, suppressed,
    cancelled) and queued before `before`; kind, status and dates stay for the figures.
    Returns how many rows it cleared; commits each batch."""
    cleared = 0
    after = 0
    holding_content = or_(
        _outbox.c.to_addr != ERASED_RECIPIENT,
        _outbox.c.context.is_not(None),
        _outbox.c.text_body.is_not(None),
    )
    while True:
        batch = (
            select(_outbox.c.id)
            .where(
                _outbox.c.id > after,
                _outbox.c.status.in_(FINISHED),
                _outbox.c.created_at < before,
                holding_content,
            )
            .order_by(_outbox.c.id)
            .limit(batch_size)
        )
        ids = list(db.session.scalars(batch))
        if not ids:
            db.session.commit()
            return cleared
        db.session.execute(
            update(_outbox)
            .where(_outbox.c.id.in_(ids), _outbox.c.status.in_(FINISHED))
            .values(to_addr=ERASED_RECIPIENT, **_NO_CONTENT)
        )
        db.session.commit()
        cleared += len(ids)
        after = ids[-1]
