"""CSV exports of personal data, streamed in constant memory.

Rows come from a server-side cursor (yield_per) a chunk at a time and leave as CSV text a chunk
at a time, so a list of a million readers costs no more memory than one of a thousand.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import literal, select

from extensions import db
from membership.models import MemberSubscription, Tier
from newsletters.models import Consent, Newsletter, Subscriber, Subscription

CHUNK_ROWS = 1000
# A cell a spreadsheet would read as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

SUBSCRIBER_COLUMNS = [
    "email",
    "status",
    "subscribed_at",
    "confirmed_at",
    "unsubscribed_at",
    "consent_source",
    "consent_source_url",
    "consent_ip",
    "consent_user_agent",
    "consent_wording",
    "consent_signed_up_at",
    "consent_confirmed_at",
]
MEMBER_COLUMNS = [
    "customer_id",
    "email",
    "tier",
    "amount",
    "currency",
    "interval",
    "status",
    "started_at",
    "current_period_end",
    "cancel_at",
    "canceled_at",
    "ended_at",
    "stripe_subscription_id",
]


def safe_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    # Spreadsheets also read a full-width ＝ as = and skip leading spaces before a formula.
    as_read = unicodedata.normalize("NFKC", text).lstrip()
    if text.startswith(FORMULA_STARTS) or as_read.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _csv_chunks(header: list[str], statement) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    result = db.session.execute(statement, execution_options={"yield_per": CHUNK_ROWS})
    try:
        for rows in result.partitions():
            for row in rows:
                writer.writerow([safe_cell(value) for value in row])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    finally:
        result.close()
    if buffer.tell():
        yield buffer.getvalue()


def _latest_consent_for(slug: str):
    """The newest opt-in of this subscriber that named the list."""
    padded = literal(" ") + Consent.newsletter_slugs + literal(" ")
    return (
        select(Consent.id)
        .where(
            Consent.subscriber_id == Subscriber.id,
            padded.contains(f" {slug} ", autoescape=True),
        )
        .order_by(Consent.signed_up_at.desc(), Consent.id.desc())
        .limit(1)
        .correlate(Subscriber)
        .scalar_subquery()
    )


def list_subscribers_csv(newsletter: Newsletter) -> Iterator[str]:
    statement = (
        select(
            Subscriber.email,
            Subscription.status,
            Subscription.created_at,
            Subscription.confirmed_at,
            Subscription.unsubscribed_at,
            Consent.source,
            Consent.source_url,
            Consent.ip,
            Consent.user_agent,
            Consent.wording,
            Consent.signed_up_at,
            Consent.confirmed_at,
        )
        .join(Subscriber, Subscription.subscriber_id == Subscriber.id)
        .outerjoin(Consent, Consent.id == _latest_consent_for(newsletter.slug))
        .where(Subscription.newsletter_id == newsletter.id)
        .order_by(Subscription.id)
    )
    return _csv_chunks(SUBSCRIBER_COLUMNS, statement)


def members_csv() -> Iterator[str]:
    statement = (
        select(
            MemberSubscription.customer_id,
            MemberSubscription.email,
            Tier.slug,
            Tier.amount,
            Tier.currency,
            Tier.interval,
            MemberSubscription.status,
            MemberSubscription.started_at,
            MemberSubscription.current_period_end,
            MemberSubscription.cancel_at,
            MemberSubscription.canceled_at,
            MemberSubscription.ended_at,
            MemberSubscription.stripe_subscription_id,
        )
        .outerjoin(Tier, MemberSubscription.tier_id == Tier.id)
        .order_by(MemberSubscription.id)
    )
    return _csv_chunks(MEMBER_COLUMNS, statement)
