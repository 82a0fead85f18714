"""Newsletter rules: the one signup service behind the form, the embed and the JSON API.

Signup is double opt-in. The database, not Python, decides who is new: the subscriber row is
an INSERT … ON CONFLICT on the normalised address (which also locks that row until the commit,
so concurrent signups of one address queue up behind each other), and the right to send a
confirmation is claimed with one conditional UPDATE … RETURNING. Only signup_and_commit()
commits (a signup that is its request's whole transaction); otherwise the caller commits once.
Nothing here sends mail; it queues it in the outbox.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from flask import current_app
from sqlalchemy import case, func, or_, select, update

import metrics
from addresses import email_key, normalise_email
from database import (
    SLUG_PATTERN,
    dialect_name,
    session_in_transaction,
    upsert_for,
    utcnow,
)
from extensions import db
from i18n import current_language
from mailer.services import queue_mail
from newsletters import links
from newsletters.catalogue import OpenList, open_lists
from newsletters.consent import (
    FORM_WORDING,
    ConsentSource,
    consent_values,
    record_consent,
    slugs_key,
)
from newsletters.models import (
    CONFIRMED,
    PENDING,
    SOURCES,
    UNSUBSCRIBED,
    Consent,
    Newsletter,
    Subscriber,
    Subscription,
)
from newsletters.signup_statement import signup_parameters
from newsletters.signup_writes import signup_statements

# Minimum time between two identical confirmation mails (same address, same lists). A reader
# double-clicking, or ten concurrent requests, gets one mail; asking for another list does not
# wait. The daily cap (CONFIRMATIONS_PER_DAY) applies to all of them.
DEFAULT_CONFIRMATION_GAP_SECONDS = 60


class UnknownNewsletter(ValueError):
    pass


@dataclass(frozen=True)
class SignupRequest:
    email: str
    slugs: list[str]
    source: str  # page, embed or api
    source_url: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    wording: str = FORM_WORDING
    language: str | None = None  # the reader's, when the request showed one (i18n.reader_language)

    @property
    def consent(self) -> ConsentSource:
        return ConsentSource(self.source, self.wording, self.source_url, self.ip, self.user_agent)


@dataclass(frozen=True)
class SignupOutcome:
    """What happened; the HTTP answer never shows it (new, pending and confirmed look alike)."""

    subscriber_id: int
    confirmation_queued: bool
    already_subscribed: bool


# --- addresses and lists ------------------------------------------------------------------


def public_lists() -> list[OpenList]:
    return list(open_lists())


def lists_named(slugs: Sequence[str] | None) -> list[Newsletter]:
    """The lists a link names, in its order, archived ones too; None names every list."""
    if slugs is None:
        return list(db.session.scalars(select(Newsletter).order_by(Newsletter.id)))
    if not slugs:
        return []
    found = db.session.scalars(select(Newsletter).where(Newsletter.slug.in_(slugs)))
    return sorted(found, key=lambda newsletter: list(slugs).index(newsletter.slug))


def lists_for_signup(slugs: list[str]) -> list[OpenList]:
    """The named open lists (every one must exist), or the default lists when none are named."""
    wanted = list(dict.fromkeys(slugs))
    malformed = [slug for slug in wanted if not re.fullmatch(SLUG_PATTERN, slug)]
    if malformed:  # never a query with a NUL byte or a kilobyte of junk in it
        raise UnknownNewsletter(", ".join(slug[:64] for slug in malformed[:3]))
    lists = open_lists()
    if wanted:
        by_slug = {newsletter.slug: newsletter for newsletter in lists}
        missing = [slug for slug in wanted if slug not in by_slug]
        if missing:
            raise UnknownNewsletter(", ".join(sorted(missing)))
        return [by_slug[slug] for slug in wanted]
    defaults = [newsletter for newsletter in lists if newsletter.is_default]
    if not defaults:
        raise UnknownNewsletter("no default newsletter is set up")
    return defaults


# --- statements on the signup path -------------------------------------------------------
# Built once and executed with parameters, so SQLAlchemy reuses one compiled form instead of
# building, keying and compiling a fresh statement on every signup.


@cache
def _subscriber_upsert(dialect: str):
    """New rows count today's first confirmation; on a conflict the no-op update locks the row."""
    table = Subscriber.__table__
    statement = upsert_for(dialect, table)
    # A signup that shows a language makes it the reader's; one that shows none keeps theirs.
    return statement.on_conflict_do_update(
        index_elements=[table.c.email_key],
        set_={
            "email_key": statement.excluded.email_key,
            "language": func.coalesce(statement.excluded.language, table.c.language),
        },
    ).returning(table.c.id, table.c.created_at, table.c.language)


@cache
def _subscriptions_upsert(dialect: str):
    table = Subscription.__table__
    statement = upsert_for(dialect, table)
    rejoining = table.c.status == UNSUBSCRIBED
    return statement.on_conflict_do_update(
        index_elements=[table.c.subscriber_id, table.c.newsletter_id],
        set_={
            "status": case((rejoining, PENDING), else_=table.c.status),
            "updated_at": case(
                (rejoining, statement.excluded.updated_at), else_=table.c.updated_at
            ),
        },
    ).returning(table.c.newsletter_id, table.c.status)


# --- signup -------------------------------------------------------------------------------


def signup_and_commit(request: SignupRequest) -> SignupOutcome:
    """The signup as its request's whole transaction, committed when this returns: on
    PostgreSQL a new address's one statement commits itself (no BEGIN, no COMMIT), and a
    known one's commit on the pool connection it took (signup_writes.py); the session then
    holds no transaction, and committing it would begin and end an empty one."""
    outcome = signup(request, alone=True)
    if session_in_transaction():
        db.session.commit()
    return outcome


def signup(request: SignupRequest, *, alone: bool = False) -> SignupOutcome:
    """alone: the caller commits at once and wrote nothing before (signup_and_commit)."""
    if request.source not in SOURCES:
        raise ValueError(f"unknown source {request.source!r}")
    address = normalise_email(request.email)
    newsletters = lists_for_signup(request.slugs)
    metrics.SIGNUPS.labels(source=request.source).inc()
    if dialect_name() == "postgresql":
        parameters = signup_parameters(
            address,
            newsletters,
            consent_values(request.consent),
            now=utcnow(),
            language=request.language,
            mail_language=current_language(),
        )
        subscriber_id, queued, already = signup_statements(parameters, alone=alone)
        return SignupOutcome(subscriber_id, queued, already)
    subscriber_id, created, language = _upsert_subscriber(address, request.language)
    statuses = upsert_subscriptions(subscriber_id, newsletters)

    waiting = [newsletter for newsletter in newsletters if statuses[newsletter.id] == PENDING]
    if not waiting:
        noticed = _claim_already_subscribed_notice(subscriber_id)
        if noticed:
            queue_mail(
                to=address,
                template="already_subscribed",
                context={
                    "email": address,
                    "newsletters": newsletters,
                    "preferences_url": links.preferences_url(subscriber_id),
                },
                language=language,
            )
        return SignupOutcome(subscriber_id, confirmation_queued=False, already_subscribed=True)

    slugs = slugs_key(waiting)
    if not created and not claim_confirmation(subscriber_id, slugs):
        return SignupOutcome(subscriber_id, confirmation_queued=False, already_subscribed=False)
    consent_id = record_consent(subscriber_id, waiting, request.consent)
    queue_confirmation(address, subscriber_id, waiting, consent_id, language)
    return SignupOutcome(subscriber_id, confirmation_queued=True, already_subscribed=False)


def _upsert_subscriber(address: str, language: str | None) -> tuple[int, bool, str | None]:
    """The subscriber's id, whether this request created the row, and their mail language.

    A new row is written with today's first confirmation already counted, which saves the
    claim's UPDATE on the common path. On a conflict the no-op update locks the existing row
    until the commit (PostgreSQL), so concurrent signups of one address run one after another.
    The row is ours when it carries the exact creation time we wrote (microseconds).
    """
    now = utcnow()
    parameters = {
        "email": address,
        "email_key": email_key(address),
        "created_at": now,
        "confirmations_day": now.date(),
        "confirmations_sent": 1,
        "language": language,
    }
    row = db.session.execute(_subscriber_upsert(dialect_name()), parameters).one()
    return row.id, row.created_at == now, row.language


def upsert_subscriptions(
    subscriber_id: int, newsletters: Sequence[OpenList | Newsletter]
) -> dict[int, str]:
    """Each list's status after the signup: new and unsubscribed become pending, others stay."""
    now = utcnow()
    rows = [
        {
            "subscriber_id": subscriber_id,
            "newsletter_id": newsletter.id,
            "status": PENDING,
            "created_at": now,
            "updated_at": now,
        }
        for newsletter in newsletters
    ]
    statement = _subscriptions_upsert(dialect_name())
    return {row.newsletter_id: row.status for row in db.session.execute(statement, rows)}


def claim_confirmation(subscriber_id: int, slugs: str) -> bool:
    """Take one of today's confirmation mails for this address, if any is left.

    One conditional UPDATE … RETURNING: of several concurrent requests for one address only the
    ones that find the counter under the cap, and no opt-in for the same lists in the last
    minute, win. The signup's upsert holds the subscriber row's lock, so on PostgreSQL they
    are decided one after another, each seeing what the one before committed.
    """
    config = current_app.config
    now = utcnow()
    today = now.date()
    gap = timedelta(
        seconds=config.get("CONFIRMATION_GAP_SECONDS", DEFAULT_CONFIRMATION_GAP_SECONDS)
    )
    recently_sent = (
        select(Consent.id)
        .where(
            Consent.subscriber_id == subscriber_id,
            Consent.newsletter_slugs == slugs,
            Consent.signed_up_at > now - gap,
        )
        .exists()
    )
    under_the_cap = or_(
        Subscriber.confirmations_day.is_(None),
        Subscriber.confirmations_day != today,
        Subscriber.confirmations_sent < int(config["CONFIRMATIONS_PER_DAY"]),
    )
    counted = case(
        (Subscriber.confirmations_day == today, Subscriber.confirmations_sent + 1), else_=1
    )
    return _claim(
        subscriber_id,
        [under_the_cap, ~recently_sent],
        {"confirmations_sent": counted, "confirmations_day": today},
    )


def _claim_already_subscribed_notice(subscriber_id: int) -> bool:
    now = utcnow()
    not_today = or_(
        Subscriber.already_subscribed_notice_at.is_(None),
        Subscriber.already_subscribed_notice_at <= now - timedelta(days=1),
    )
    return _claim(subscriber_id, [not_today], {"already_subscribed_notice_at": now})


def _claim(subscriber_id: int, conditions: list, values: dict) -> bool:
    """Update the subscriber only where the conditions hold: True when this request won."""
    statement = (
        update(Subscriber)
        .where(Subscriber.id == subscriber_id, *conditions)
        .values(**values)
        .returning(Subscriber.id)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(statement).first() is not None


def confirm_pending(subscriber_id: int, newsletter_ids: Sequence[int]) -> set[int]:
    """Of these lists, the reader's pending subscriptions become confirmed; the ids that did.

    One UPDATE … RETURNING: of two concurrent confirmations one sees the rows, the other none.
    """
    now = utcnow()
    changed = db.session.execute(
        update(Subscription)
        .where(
            Subscription.subscriber_id == subscriber_id,
            Subscription.newsletter_id.in_(newsletter_ids),
            Subscription.status == PENDING,
        )
        .values(status=CONFIRMED, confirmed_at=now, updated_at=now)
        .returning(Subscription.newsletter_id)
        .execution_options(synchronize_session=False)
    )
    return set(changed.scalars())


def queue_confirmation(
    address: str,
    subscriber_id: int,
    newsletters: Sequence[OpenList | Newsletter],
    consent_id: int | None,
    language: str | None = None,
) -> None:
    """`language`: the reader's kept language; None falls back to the request's (queue_mail)."""
    queue_mail(
        to=address,
        template="confirm",
        context={
            "email": address,
            "newsletters": newsletters,
            "confirm_url": links.confirm_url(
                subscriber_id, [newsletter.slug for newsletter in newsletters], consent_id
            ),
            "ttl_hours": int(current_app.config["CONFIRM_TTL_HOURS"]),
        },
        language=language,
    )
