"""Lists as staff see them: audience counts, confirmation rate, signups by source.

Creating, changing and archiving a list is newsletters.lists' job (one set of rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, literal, select

from extensions import db
from newsletters.models import (
    CONFIRMED,
    PENDING,
    SOURCES,
    UNSUBSCRIBED,
    Consent,
    Newsletter,
    Subscription,
)
from staff.sqltime import as_date, monday_of, start_of_day, week_of

SIGNUP_WEEKS = 8


@dataclass
class ListStats:
    newsletter: Newsletter
    confirmed: int = 0
    pending: int = 0
    unsubscribed: int = 0
    ever_confirmed: int = 0

    @property
    def signups(self) -> int:
        return self.confirmed + self.pending + self.unsubscribed

    @property
    def confirmation_rate(self) -> float | None:
        """Share of signups that were ever confirmed (those who left later included)."""
        if not self.signups:
            return None
        return self.ever_confirmed / self.signups


def _counts_by_list(newsletter_id: int | None = None) -> dict[int, dict[str, tuple[int, int]]]:
    query = select(
        Subscription.newsletter_id,
        Subscription.status,
        func.count(Subscription.id),
        func.count(Subscription.confirmed_at),
    ).group_by(Subscription.newsletter_id, Subscription.status)
    if newsletter_id is not None:
        query = query.where(Subscription.newsletter_id == newsletter_id)
    counts: dict[int, dict[str, tuple[int, int]]] = {}
    for list_id, status, total, with_confirmation in db.session.execute(query):
        counts.setdefault(list_id, {})[status] = (int(total), int(with_confirmation))
    return counts


def _stats_for(newsletter: Newsletter, counts: dict[str, tuple[int, int]]) -> ListStats:
    confirmed = counts.get(CONFIRMED, (0, 0))[0]
    left, left_after_confirming = counts.get(UNSUBSCRIBED, (0, 0))
    return ListStats(
        newsletter=newsletter,
        confirmed=confirmed,
        pending=counts.get(PENDING, (0, 0))[0],
        unsubscribed=left,
        ever_confirmed=confirmed + left_after_confirming,
    )


def list_overview(include_archived: bool = True) -> list[ListStats]:
    query = select(Newsletter).order_by(Newsletter.archived, Newsletter.name)
    if not include_archived:
        query = query.where(Newsletter.archived.is_(False))
    counts = _counts_by_list()
    return [_stats_for(item, counts.get(item.id, {})) for item in db.session.scalars(query)]


def list_stats(newsletter: Newsletter) -> ListStats:
    return _stats_for(newsletter, _counts_by_list(newsletter.id).get(newsletter.id, {}))


@dataclass
class WeekOfSignups:
    week: date  # the Monday
    by_source: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))

    @property
    def total(self) -> int:
        return sum(self.by_source.values())


def signups_by_source(today: date, weeks: int = SIGNUP_WEEKS, slug: str | None = None):
    """Opt-in requests per week and source (page, embed, API), oldest week first."""
    first_week = monday_of(today) - timedelta(weeks=weeks - 1)
    week = week_of(Consent.signed_up_at).label("week")
    query = (
        select(week, Consent.source, func.count(Consent.id))
        .where(Consent.signed_up_at >= start_of_day(first_week))
        .group_by(week, Consent.source)
    )
    if slug is not None:
        padded = literal(" ") + Consent.newsletter_slugs + literal(" ")
        query = query.where(padded.contains(f" {slug} ", autoescape=True))
    series = {
        first_week + timedelta(weeks=n): WeekOfSignups(first_week + timedelta(weeks=n))
        for n in range(weeks)
    }
    for week_start, source, count in db.session.execute(query):
        bucket = series.get(as_date(week_start))
        if bucket is not None:
            bucket.by_source[source] = bucket.by_source.get(source, 0) + int(count)
    return list(series.values())
