"""Jobs that `outbox work` runs once a day, whichever of its processes gets there first.

register_daily_job(name, fn) at app creation; every worker process looks at start and then
every few minutes. A job runs when its row in outbox_daily_jobs is claimed for today (UTC) by
one conditional UPDATE: however many workers look at once, one wins the day and the others see
it taken. A job that raises is logged and not tried again until the next day (an operator can
run its command by hand meanwhile).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app
from sqlalchemy import or_, select, update

from database import upsert, utcnow
from extensions import db
from mailer.models import DailyJob

log = logging.getLogger(__name__)

_jobs_table = DailyJob.__table__
_jobs: dict[str, Callable[[], object]] = {}


def _seen_for_day() -> dict[str, str]:
    """Name -> the day this process last found the job done or ran it. Kept on the app, so
    a second app in one process (tests, a second database) looks at its own database."""
    return current_app.extensions.setdefault("daily_jobs_seen", {})


def register_daily_job(name: str, job: Callable[[], object]) -> None:
    """Run job() once a day across all `outbox work` processes (inside an app context)."""
    if len(name) > 100:
        raise ValueError("a daily job's name has at most 100 characters")
    _jobs[name] = job


def run_due_daily_jobs(report: Callable[[str], None] = log.info) -> list[str]:
    """Run each registered job not yet run today by any worker; returns the names it ran."""
    today = utcnow().date().isoformat()
    seen = _seen_for_day()
    ran = []
    for name, job in list(_jobs.items()):
        if seen.get(name) == today:
            continue
        claimed = _claim(name, today)
        seen[name] = today
        if not claimed:
            continue
        ran.append(name)
        error = None
        try:
            job()
            db.session.commit()
        except Exception as failure:  # one job's failure must not stop the mail
            db.session.rollback()
            error = f"{type(failure).__name__}: {failure}"[:1000]
            report(f"daily job {name} failed: {error}")
        _finish(name, error)
        if error is None:
            report(f"daily job {name} done")
    return ran


def _claim(name: str, today: str) -> bool:
    try:
        db.session.execute(
            upsert(_jobs_table)
            .values(name=name, last_day=None)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        claimed = db.session.execute(
            update(_jobs_table)
            .where(
                _jobs_table.c.name == name,
                or_(_jobs_table.c.last_day.is_(None), _jobs_table.c.last_day != today),
            )
            .values(last_day=today, started_at=utcnow(), finished_at=None, last_error=None)
            .returning(_jobs_table.c.name)
        ).first()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return claimed is not None


def _finish(name: str, error: str | None) -> None:
    db.session.execute(
        update(_jobs_table)
        .where(_jobs_table.c.name == name)
        .values(finished_at=utcnow(), last_error=error)
    )
    db.session.commit()


def last_runs() -> dict[str, str | None]:
    """Each job's last day (for operators and tests)."""
    return dict(db.session.execute(select(_jobs_table.c.name, _jobs_table.c.last_day)).all())
