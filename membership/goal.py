"""The members count: the one definition of "member", and the goal it is measured against.

/api/goal, the membership page, the article banner, the widget, the SVG badge and the staff
dashboard all call goal_progress(); nothing else counts members.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import distinct, func, select

from database import utcnow
from extensions import db
from membership.models import COUNTING_STATUSES, AppSetting, MemberSubscription

GOAL_SETTING = "membership_goal"


@dataclass(frozen=True)
class GoalProgress:
    members: int
    goal: int
    updated_at: datetime

    @property
    def percent(self) -> float:
        if self.goal <= 0:
            return 100.0
        return round(min(100.0, self.members * 100.0 / self.goal), 2)

    @property
    def remaining(self) -> int:
        return max(0, self.goal - self.members)

    def as_json(self) -> dict:
        return {
            "members": self.members,
            "goal": self.goal,
            "percent": self.percent,
            "updated_at": self.updated_at.isoformat().replace("+00:00", "Z"),
        }


def count_members() -> int:
    """Distinct Stripe customers with a subscription to one of our tiers that counts."""
    query = select(func.count(distinct(MemberSubscription.customer_id))).where(
        MemberSubscription.status.in_(COUNTING_STATUSES),
        MemberSubscription.tier_id.is_not(None),
        MemberSubscription.deleted.is_(False),
    )
    return db.session.execute(query).scalar_one()


def current_goal() -> int:
    stored = db.session.get(AppSetting, GOAL_SETTING)
    if stored is not None:
        try:
            return int(stored.value)
        except ValueError:
            pass
    return int(current_app.config["MEMBERSHIP_GOAL"])


class _Cache:
    """A few seconds of memory per process so a busy banner does not count on every request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: GoalProgress | None = None
        self.expires = 0.0
        self.key: object = None

    def clear(self) -> None:
        with self.lock:
            self.value = None
            self.expires = 0.0


_cache = _Cache()


def goal_progress() -> GoalProgress:
    ttl = float(current_app.config.get("GOAL_CACHE_SECONDS", 2))
    key = (id(current_app._get_current_object()), current_app.config["SQLALCHEMY_DATABASE_URI"])
    now = time.monotonic()
    with _cache.lock:
        if _cache.value is not None and _cache.key == key and now < _cache.expires:
            return _cache.value
    progress = GoalProgress(members=count_members(), goal=current_goal(), updated_at=utcnow())
    with _cache.lock:
        _cache.value, _cache.key, _cache.expires = progress, key, now + ttl
    return progress


def forget_cached_progress() -> None:
    """Called after this process changes membership, so its own next answer is fresh."""
    _cache.clear()
