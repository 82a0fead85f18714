"""How long we keep what: the purge behind `maintenance purge` and `outbox work`'s daily job.

- Never-confirmed signups older than PENDING_RETENTION_DAYS go, with their consent records:
  consent that was never given is no reason to keep an address.
- Finished mail (sent, failed, suppressed, cancelled) queued more than OUTBOX_RETENTION_DAYS
  ago loses what it said and to whom (the row's values, any stored body, the recipient); its
  kind, status and dates stay for the campaigns' figures.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from flask import current_app

from database import utcnow
from mailer.reader_data import purge_finished_mail
from metrics import RETENTION_PURGED
from newsletters.reader_data import purge_never_confirmed

log = logging.getLogger(__name__)

DAILY_JOB = "privacy-retention-purge"


@dataclass(frozen=True)
class Purged:
    unconfirmed_subscribers: int
    consent_records: int
    mail_cleared: int

    def summary(self) -> str:
        return (
            f"deleted {self.unconfirmed_subscribers} never-confirmed subscribers with"
            f" {self.consent_records} consent records; cleared {self.mail_cleared} old messages"
        )


def purge(now: datetime | None = None) -> Purged:
    """Apply both retention periods as of `now`; commits as it goes (batches)."""
    now = now or utcnow()
    config = current_app.config
    pending_before = now - timedelta(days=int(config["PENDING_RETENTION_DAYS"]))
    mail_before = now - timedelta(days=int(config["OUTBOX_RETENTION_DAYS"]))
    pending = purge_never_confirmed(pending_before)
    purged = Purged(pending.subscribers, pending.consents, purge_finished_mail(mail_before))
    _count(purged)
    return purged


def _count(purged: Purged) -> None:
    """Counted for /metrics and logged, from `outbox work` as from the command."""
    for kind, rows in (
        ("unconfirmed_subscribers", purged.unconfirmed_subscribers),
        ("consent_records", purged.consent_records),
        ("mail", purged.mail_cleared),
    ):
        RETENTION_PURGED.labels(kind=kind).inc(rows)
    log.info("retention purge: %s", purged.summary(), extra={"purged": asdict(purged)})


def daily_purge() -> None:
    """The job `outbox work` runs once a day (one worker process of however many)."""
    purge()
