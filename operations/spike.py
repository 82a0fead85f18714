"""The signup-spike alarm: far more signups than usual for this time of day mails the admins.

"Signups" are opt-ins that asked for a confirmation mail (consent records from the form, the
embed and the API; imports are not signups). The last WINDOW is compared with the same WINDOW
of the day on each of the previous BASELINE_DAYS days: the usual rate is their mean, so an
outlet's own daily rhythm (a morning newsletter's readers, a quiet night) is already in it. The
alarm holds when recent > SPIKE_MULTIPLE × usual and recent >= SPIKE_FLOOR; the floor keeps a
handful of signups on a quiet night from counting as a spike.

`outbox work` checks once a minute (a pass hook, so no signup pays for a query), in whichever
of its processes gets there; the admins get one mail an hour at most, claimed by one
conditional UPDATE so several workers send one. The staff dashboard reads the same figures
when it is shown (signup_spike(), a template global).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from database import upsert, utcnow
from extensions import db
from mailer.services import queue_mail
from newsletters.models import SOURCES, Consent
from operations.models import AlarmNotice
from staff.models import ADMIN, StaffUser

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=10)
BASELINE_DAYS = 7
NOTIFY_AT_MOST_EVERY = timedelta(hours=1)
CHECK_EVERY_SECONDS = 60.0
ALARM = "signup_spike"


@dataclass(frozen=True)
class SignupRate:
    recent: int  # signups in the last WINDOW
    usual: float  # mean signups in the same WINDOW of the day over the last BASELINE_DAYS
    multiple: float
    floor: int

    @property
    def spiking(self) -> bool:
        return self.recent >= self.floor and self.recent > self.multiple * self.usual

    @property
    def window_minutes(self) -> int:
        return int(WINDOW.total_seconds() // 60)


def _between(start: datetime, end: datetime):
    return and_(Consent.signed_up_at > start, Consent.signed_up_at <= end)


def signup_rate(now: datetime | None = None) -> SignupRate:
    """One query: the last WINDOW and the same WINDOW on each of the previous days."""
    now = now or utcnow()
    windows = [
        _between(now - timedelta(days=day) - WINDOW, now - timedelta(days=day))
        for day in range(BASELINE_DAYS + 1)
    ]
    counts = [func.coalesce(func.sum(case((window, 1), else_=0)), 0) for window in windows]
    recent, *previous = db.session.execute(
        select(*counts).where(Consent.source.in_(SOURCES), or_(*windows))
    ).one()
    config = current_app.config
    return SignupRate(
        recent=int(recent),
        usual=sum(int(count) for count in previous) / BASELINE_DAYS,
        multiple=float(config["SPIKE_MULTIPLE"]),
        floor=int(config["SPIKE_FLOOR"]),
    )


def signup_spike() -> SignupRate | None:
    """The figures while signups spike, else None (the staff dashboard's banner)."""
    rate = signup_rate()
    return rate if rate.spiking else None


def check_signup_spike(now: datetime | None = None) -> bool:
    """Mail the admins if signups spike and no alarm mail went out in the last hour. Commits.

    True when this call queued the mail.
    """
    now = now or utcnow()
    rate = signup_rate(now)
    if not rate.spiking or not _claim_notice(now):
        db.session.rollback()
        return False
    dashboard_url = current_app.config["BASE_URL"] + "/staff/"
    for address in _admin_addresses():
        queue_mail(
            to=address,
            template="signup_spike",
            context={
                "recent": rate.recent,
                "usual": round(rate.usual, 1),
                "multiple": f"{rate.multiple:g}",
                "window_minutes": rate.window_minutes,
                "baseline_days": BASELINE_DAYS,
                "dashboard_url": dashboard_url,
            },
        )
    db.session.commit()
    return True


def _claim_notice(now: datetime) -> bool:
    """Take this hour's notice: of several workers at once, exactly one gets True."""
    db.session.execute(
        upsert(AlarmNotice.__table__)
        .values(name=ALARM, notified_at=None)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    claimed = db.session.execute(
        update(AlarmNotice)
        .where(
            AlarmNotice.name == ALARM,
            or_(
                AlarmNotice.notified_at.is_(None),
                AlarmNotice.notified_at <= now - NOTIFY_AT_MOST_EVERY,
            ),
        )
        .values(notified_at=now)
        .returning(AlarmNotice.name)
        .execution_options(synchronize_session=False)
    )
    return claimed.first() is not None


def _admin_addresses() -> list[str]:
    query = select(StaffUser.email).where(StaffUser.role == ADMIN, StaffUser.active.is_(True))
    return list(db.session.scalars(query.order_by(StaffUser.id)))


class EveryMinute:
    """The pass hook: `outbox work` passes run every second; the check runs once a minute.

    The alarm is second to the mail: a check that fails (the database away, a migration not
    run) is logged and the pass goes on delivering.
    """

    def __init__(self, check=check_signup_spike, seconds: float = CHECK_EVERY_SECONDS) -> None:
        self.check = check
        self.seconds = seconds
        self._next = 0.0

    def __call__(self) -> None:
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.seconds
        try:
            self.check()
        except SQLAlchemyError as error:
            db.session.rollback()
            log.warning("signup-spike check failed: %s", str(error).strip().splitlines()[0])
