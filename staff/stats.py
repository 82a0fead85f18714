"""The dashboard's figures, each one aggregate query (GROUP BY), never every row in Python.

The member count itself comes from membership.goal.goal_progress(), the one definition of a
member; the history (joins, cancellations, pace) comes from MemberEvent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import case, func, select

from extensions import db
from membership.goal import COUNTS_AS_MEMBER, GoalProgress
from membership.models import Contribution, MemberEvent, MemberSubscription, Tier
from staff.sqltime import as_date, day_of, monday_of, start_of_day

PACE_WINDOW_DAYS = 30
# Beyond this a date means nothing to anyone (and far enough out it overflows `date`).
PROJECTION_HORIZON_DAYS = 100 * 365
# How many months a price covers, to turn any tier into a monthly figure.
MONTHS_PER_INTERVAL = {"month": 1, "year": 12, "week": 12 / 52, "day": 12 / 365}

_joins = func.coalesce(
    func.sum(case((MemberEvent.member_delta > 0, MemberEvent.member_delta), else_=0)), 0
)
_cancellations = func.coalesce(
    func.sum(case((MemberEvent.member_delta < 0, -MemberEvent.member_delta), else_=0)), 0
)


@dataclass(frozen=True)
class GrowthDay:
    day: date
    joins: int
    cancellations: int
    members: int  # at the end of the day

    @property
    def net(self) -> int:
        return self.joins - self.cancellations


def member_growth(days: int, members_now: int, today: date) -> list[GrowthDay]:
    """Daily joins and cancellations over the last `days` days, with the member count each day.

    The count is walked back from members_now (goal_progress()), so the line ends on the very
    figure the dashboard and /api/goal show.
    """
    first_day = today - timedelta(days=days - 1)
    day = day_of(MemberEvent.occurred_at).label("day")
    rows = db.session.execute(
        select(day, _joins.label("joins"), _cancellations.label("cancellations"))
        .where(
            MemberEvent.occurred_at >= start_of_day(first_day),
            MemberEvent.occurred_at < start_of_day(today + timedelta(days=1)),
        )
        .group_by(day)
    ).all()
    per_day = {as_date(row.day): (int(row.joins), int(row.cancellations)) for row in rows}
    series: list[GrowthDay] = []
    members = members_now
    for offset in range(days):
        current = today - timedelta(days=offset)
        joins, cancellations = per_day.get(current, (0, 0))
        series.append(GrowthDay(current, joins, cancellations, members))
        members -= joins - cancellations
    series.reverse()
    return series


@dataclass(frozen=True)
class Movement:
    joins: int
    cancellations: int

    @property
    def net(self) -> int:
        return self.joins - self.cancellations


def movement_since(day: date, today: date) -> Movement:
    row = db.session.execute(
        select(_joins, _cancellations).where(
            MemberEvent.occurred_at >= start_of_day(day),
            MemberEvent.occurred_at < start_of_day(today + timedelta(days=1)),
        )
    ).one()
    return Movement(int(row[0]), int(row[1]))


def movement_this_week(today: date) -> Movement:
    return movement_since(monday_of(today), today)


@dataclass(frozen=True)
class Projection:
    pace_per_day: float  # net members per day over the window
    window_days: int
    reached: bool
    reach_on: date | None  # None when reached, the pace is not positive, or too far away
    beyond_horizon: bool = False

    @property
    def pace_per_week(self) -> float:
        return self.pace_per_day * 7


def project_goal(progress: GoalProgress, today: date, window_days: int = PACE_WINDOW_DAYS):
    """When the goal is reached if the last window's net pace goes on."""
    recent = movement_since(today - timedelta(days=window_days - 1), today)
    pace = recent.net / window_days
    if progress.remaining == 0:
        return Projection(pace, window_days, reached=True, reach_on=None)
    if pace <= 0:
        return Projection(pace, window_days, reached=False, reach_on=None)
    days_to_go = -(-progress.remaining * window_days // recent.net)  # ceiling, in integers
    if days_to_go > PROJECTION_HORIZON_DAYS:
        return Projection(pace, window_days, reached=False, reach_on=None, beyond_horizon=True)
    return Projection(pace, window_days, reached=False, reach_on=today + timedelta(days=days_to_go))


@dataclass(frozen=True)
class TierRevenue:
    name: str
    slug: str
    amount: int
    currency: str
    interval: str
    subscriptions: int
    monthly: int  # minor units per month


@dataclass
class RecurringRevenue:
    tiers: list[TierRevenue] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)  # currency -> minor units per month


def monthly_recurring_revenue() -> RecurringRevenue:
    """Counting subscriptions × their tier's price, as a monthly figure, per currency."""
    count = func.count(MemberSubscription.id).label("subscriptions")
    rows = db.session.execute(
        select(Tier.name, Tier.slug, Tier.amount, Tier.currency, Tier.interval, count)
        .join(Tier, MemberSubscription.tier_id == Tier.id)
        .where(COUNTS_AS_MEMBER)
        .group_by(Tier.id, Tier.name, Tier.slug, Tier.amount, Tier.currency, Tier.interval)
        .order_by(Tier.currency, Tier.amount)
    ).all()
    revenue = RecurringRevenue()
    for row in rows:
        per_month = row.amount * row.subscriptions / MONTHS_PER_INTERVAL.get(row.interval, 1)
        monthly = round(per_month)
        revenue.tiers.append(
            TierRevenue(
                row.name,
                row.slug,
                row.amount,
                row.currency,
                row.interval,
                row.subscriptions,
                monthly,
            )
        )
        revenue.totals[row.currency] = revenue.totals.get(row.currency, 0) + monthly
    return revenue


@dataclass(frozen=True)
class ContributionTotal:
    currency: str
    count: int
    total: int  # minor units


def contribution_totals() -> list[ContributionTotal]:
    rows = db.session.execute(
        select(Contribution.currency, func.count(Contribution.id), func.sum(Contribution.amount))
        .group_by(Contribution.currency)
        .order_by(Contribution.currency)
    ).all()
    return [
        ContributionTotal(currency, int(count), int(total or 0)) for currency, count, total in rows
    ]


def format_money(minor_units: int, currency: str) -> str:
    return f"{minor_units / 100:,.2f} {currency.upper()}"
