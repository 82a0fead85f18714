"""Settings staff change at run time: the membership goal."""

from __future__ import annotations

from database import upsert, utcnow
from extensions import db
from membership.goal import GOAL_SETTING
from membership.models import AppSetting

MAX_GOAL = 10_000_000


def set_goal(goal: int) -> None:
    """Stores the goal (the caller commits, then calls forget_cached_progress())."""
    if not 1 <= goal <= MAX_GOAL:
        raise ValueError(f"The goal must be between 1 and {MAX_GOAL:,}.")
    now = utcnow()
    statement = upsert(AppSetting.__table__).values(
        key=GOAL_SETTING, value=str(goal), updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["key"], set_={"value": str(goal), "updated_at": now}
    )
    db.session.execute(statement)
