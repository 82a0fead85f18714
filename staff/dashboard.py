"""Everything the dashboard page shows, gathered in one call."""

from __future__ import annotations

from dataclasses import dataclass

from database import utcnow
from membership.goal import GoalProgress, addresses_counted_more_than_once, goal_progress
from staff import charts, stats

GROWTH_DAY_CHOICES = (30, 90, 180, 365)
DEFAULT_GROWTH_DAYS = 90


@dataclass(frozen=True)
class Dashboard:
    progress: GoalProgress
    counted_more_than_once: int  # addresses held by more than one member customer
    days: int
    day_choices: tuple[int, ...]
    series: list[stats.GrowthDay]
    chart: charts.GrowthChart
    projection: stats.Projection
    week: stats.Movement
    revenue: stats.RecurringRevenue
    contributions: list[stats.ContributionTotal]


def dashboard(days: int | None) -> Dashboard:
    """The figures for the last `days` days (one of GROWTH_DAY_CHOICES, else the default)."""
    if days not in GROWTH_DAY_CHOICES:
        days = DEFAULT_GROWTH_DAYS
    progress = goal_progress()
    today = utcnow().date()
    series = stats.member_growth(days, progress.members, today)
    return Dashboard(
        progress=progress,
        counted_more_than_once=len(addresses_counted_more_than_once()),
        days=days,
        day_choices=GROWTH_DAY_CHOICES,
        series=series,
        chart=charts.growth_chart(series),
        projection=stats.project_goal(progress, today),
        week=stats.movement_this_week(today),
        revenue=stats.monthly_recurring_revenue(),
        contributions=stats.contribution_totals(),
    )
