"""A campaign's rows in the outbox: queued in one statement, paused, resumed, cancelled, counted.

The campaigns package owns campaigns; the mailer owns their rows here. Every function writes
in the caller's transaction and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Integer, Select, String, case, func, literal, select, update

from database import UTCDateTime, upsert, utcnow
from extensions import db
from mailer.models import (
    CANCELLED,
    FAILED,
    HELD,
    QUEUED,
    SENT,
    STATUSES,
    OutboxMessage,
)
from mailer.suppression_models import Suppression

_outbox = OutboxMessage.__table__
_suppressions = Suppression.__table__


@dataclass(frozen=True)
class DeliveryFigures:
    """A campaign's outcome for staff: how many it was queued for and what became of them."""

    recipients: int  # rows queued for it, whatever became of them
    delivered: int  # accepted by the receiving server and not bounced since
    failed: int  # refused for good, or given up on after every attempt
    bounced: int  # refused with a 5xx when sent, or reported bounced afterwards


def queue_for_recipients(
    kind: str, campaign_id: int, recipients_select: Select, *, at: datetime | None = None
) -> int:
    """Queue one row per recipient in one INSERT … SELECT; returns how many it queued.

    `recipients_select` yields columns labelled subscriber_id, to_addr and language, and may
    add address_key (subscribers.email_key): suppressed addresses are skipped in SQL by that
    key (else by lower(to_addr)), and the worker checks again when it sends. Running it twice
    for one campaign queues nobody twice (UNIQUE campaign_id, subscriber_id). `at` is when
    the rows come due (now when not given).
    """
    recipients = recipients_select.subquery("recipients")
    columns = recipients.c
    key = columns.address_key if "address_key" in columns else func.lower(columns.to_addr)
    suppressed = select(_suppressions.c.id).where(_suppressions.c.address_key == key).exists()
    now = utcnow()
    rows = select(
        literal(kind, String()).label("kind"),
        columns.to_addr,
        columns.language,
        literal(campaign_id, BigInteger()).label("campaign_id"),
        columns.subscriber_id,
        literal(QUEUED, String()).label("status"),
        literal(0, Integer()).label("attempts"),
        literal(at or now, UTCDateTime()).label("next_attempt_at"),
        literal(now, UTCDateTime()).label("created_at"),
    ).where(~suppressed)
    names = [
        "kind",
        "to_addr",
        "language",
        "campaign_id",
        "subscriber_id",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    ]
    statement = (
        upsert(_outbox)
        .from_select(names, rows)
        .on_conflict_do_nothing(index_elements=["campaign_id", "subscriber_id"])
        .execution_options(preserve_rowcount=True)  # an INSERT's count is not kept otherwise
    )
    return db.session.execute(statement).rowcount


def hold_campaign(campaign_id: int) -> int:
    """Pause: its queued rows wait as `held` (a message already in a worker's hands still
    goes); returns how many were held."""
    return _move(campaign_id, (QUEUED,), HELD)


def release_campaign(campaign_id: int) -> int:
    """Resume a paused campaign: its held rows are queued again, due as they were."""
    return _move(campaign_id, (HELD,), QUEUED)


def cancel_campaign(campaign_id: int) -> int:
    """Stop what is not yet sent (queued or held rows become `cancelled`); returns how many."""
    return _move(campaign_id, (QUEUED, HELD), CANCELLED)


def campaign_counts(campaign_id: int) -> dict[str, int]:
    """Rows of the campaign by status: queued, sent, failed, suppressed, held, cancelled."""
    rows = db.session.execute(
        select(_outbox.c.status, func.count())
        .where(_outbox.c.campaign_id == campaign_id)
        .group_by(_outbox.c.status)
    )
    return dict.fromkeys(STATUSES, 0) | {status: count for status, count in rows}


def campaign_delivery(campaign_id: int) -> DeliveryFigures:
    """Recipients, delivered, failed and bounced, from the campaign's rows in one query."""
    bounced = _outbox.c.bounced_at.is_not(None)
    row = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case(((_outbox.c.status == SENT) & ~bounced, 1), else_=0)), 0),
            func.coalesce(func.sum(case((_outbox.c.status == FAILED, 1), else_=0)), 0),
            func.coalesce(func.sum(case((bounced, 1), else_=0)), 0),
        ).where(_outbox.c.campaign_id == campaign_id)
    ).one()
    return DeliveryFigures(*(int(value) for value in row))


BOUNCE_WINDOW = timedelta(days=30)


def record_bounce(address: str) -> bool:
    """A delivery report says mail to `address` bounced: count it against the newest campaign
    message sent there in the last 30 days (it was accepted, then returned). True if one was."""
    newest = (
        select(_outbox.c.id)
        .where(
            func.lower(_outbox.c.to_addr) == func.lower(address),  # ix_outbox_address_key
            _outbox.c.status == SENT,
            _outbox.c.campaign_id.is_not(None),
            _outbox.c.bounced_at.is_(None),
            _outbox.c.sent_at >= utcnow() - BOUNCE_WINDOW,
        )
        .order_by(_outbox.c.sent_at.desc(), _outbox.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    statement = update(_outbox).where(_outbox.c.id == newest).values(bounced_at=utcnow())
    return db.session.execute(statement).rowcount > 0


def _move(campaign_id: int, from_statuses: tuple[str, ...], to_status: str) -> int:
    statement = (
        update(_outbox)
        .where(_outbox.c.campaign_id == campaign_id, _outbox.c.status.in_(from_statuses))
        .values(status=to_status)
    )
    return db.session.execute(statement).rowcount
