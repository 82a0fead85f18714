"""The outbox worker: claims due rows, renders them, and sends them over several connections.

A pass drains what is due: the main thread claims a batch (one UPDATE … RETURNING, SKIP LOCKED
on PostgreSQL), drops the rows nobody wants any more (mailer/recipients.py), renders the rest
(mailer/rendering.py) and hands them to the sender threads (mailer/senders.py), claiming the
next batch while they send. Each outcome is written by one recorder thread
(mailer/recorder.py); a message the server accepted is recorded as sent before its
connection lets the server accept another.

Back-off, as operators see it:
- A message refused for now (4xx) or cut off mid-transfer waits OUTBOX_RETRY_SECONDS (30 s)
  after its first attempt, then twice as long after each further attempt (1 min, 2 min, 4 min,
  …) up to an hour, each delay spread by ±20 % so retries do not move in step; after
  OUTBOX_MAX_ATTEMPTS (12, about five and a half hours in all) it is failed.
- An SMTP server that cannot be reached, refuses our MAIL FROM or answers 4xx to ten messages
  in a row costs one message one attempt; the rest of the batch is handed back untried, due
  with that message, and the worker pauses OUTBOX_RETRY_SECONDS, then twice as long at each
  further outage in a row, up to 5 minutes, and starts again at the first pass that works. A
  20-second outage therefore delays mail by about 30 seconds and loses none.
- A database that cannot be reached: the worker logs one line per failed attempt, keeps what
  it knows (messages accepted but not yet recorded, rows claimed but not tried) in memory,
  and tries again after 1 s, 2 s, 4 s, … up to 30 s. Once the database answers it writes those
  first, hands back the rows of a claim whose answer was lost with the connection, then goes
  on; no restart is needed.
The one duplicate an outbox cannot rule out: a worker killed (kill -9, power) between the
server's "250 accepted" and the commit saying so. That message goes again after the lease
(OUTBOX_LEASE_SECONDS, 60 s) under the same Message-ID; at most one per open connection.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from database import utcnow
from extensions import db
from mailer.daily_jobs import run_due_daily_jobs
from mailer.message import Mail
from mailer.models import FAILED, SUPPRESSED
from mailer.outbox_queue import LEASE, OutboxQueue, open_outbox_queue, retry_delay
from mailer.pass_hooks import run_pass_hooks
from mailer.rate_limit import rate_limiter
from mailer.recipients import unwanted
from mailer.recorder import RELEASE, RETRY, DatabaseUnavailable, Outcome, OutcomeRecorder
from mailer.rendering import QueuedMail, RenderFailed, render_rows
from mailer.senders import TEMPORARY_FAILURES_BEFORE_PAUSE, PassResult, SenderPool
from mailer.services import from_identity
from mailer.smtp_url import transport_kind
from mailer.transports import make_transport
from mailer.transports.base import Transport

log = logging.getLogger(__name__)

__all__ = ["TEMPORARY_FAILURES_BEFORE_PAUSE", "OutboxWorker", "PassResult", "deliver_due"]

DEFAULT_BATCH_SIZE = 200
LONGEST_PAUSE_SECONDS = 300
FIRST_DATABASE_PAUSE_SECONDS = 1
LONGEST_DATABASE_PAUSE_SECONDS = 30
DAILY_JOBS_EVERY_SECONDS = 60
SWITCH_INTERVAL_SECONDS = 0.0005


def configured_worker(
    *, batch_size: int = DEFAULT_BATCH_SIZE, should_stop: Callable[[], bool] = lambda: False
) -> OutboxWorker:
    """A worker as the settings describe it (needs an app context).

    Raises SmtpUrlError when SMTP_URL names no transport.
    """
    config = current_app.config
    smtp_url, mail_from = config["SMTP_URL"], from_identity()
    make_transport(smtp_url, mail_from)  # SMTP_URL understood, or SmtpUrlError now
    return OutboxWorker(
        lambda: make_transport(smtp_url, mail_from),
        connections=config["OUTBOX_SMTP_CONNECTIONS"] if transport_kind(smtp_url) == "smtp" else 1,
        batch_size=batch_size,
        max_attempts=config["OUTBOX_MAX_ATTEMPTS"],
        lease=timedelta(seconds=config["OUTBOX_LEASE_SECONDS"]),
        rate_limit=config["OUTBOX_RATE_LIMIT"],
        first_retry_seconds=config["OUTBOX_RETRY_SECONDS"],
        should_stop=should_stop,
    )


def deliver_due(*, batch_size: int = DEFAULT_BATCH_SIZE) -> PassResult:
    """Send everything due now, as `outbox work --once` does (app context).

    Uses connections of its own: the caller's db.session is neither committed nor touched.
    """
    return configured_worker(batch_size=batch_size).run_pass()


class OutboxWorker:
    """Pass after pass over the queue; keeps what it could not write between passes."""

    def __init__(
        self,
        transport_factory: Callable[[], Transport],
        *,
        connections: int = 1,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_attempts: int = 12,
        lease: timedelta = LEASE,
        rate_limit: float = 0,
        first_retry_seconds: float = 30,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.transport_factory = transport_factory
        self.connections = connections
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.lease = lease
        self.rate_limiter = rate_limiter(rate_limit)
        self.first_retry_seconds = first_retry_seconds
        self.should_stop = should_stop
        self._recorder: OutcomeRecorder | None = None
        self._unanswered_claims: list[datetime] = []  # their leases' ends (claim_due)

    def run_pass(self) -> PassResult:
        """Drain what is due; DatabaseUnavailable or SQLAlchemyError when the database fails.

        What an earlier pass could not write (accepted messages, rows to hand back) is written
        before anything is claimed.
        """
        if self._recorder is None:
            self._recorder = OutcomeRecorder(current_app._get_current_object(), self.lease)
            # Senders wake for every SMTP reply; with Python's default 5 ms switch interval each
            # wake-up waits behind the thread rendering the next batch.
            sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_SECONDS))
        recorder = self._recorder
        recorder.start()
        try:
            recorder.flush()
            run_pass_hooks()  # scheduled campaigns queue their readers before the claim
            with open_outbox_queue() as queue:
                self._hand_back_unanswered_claims(queue)
                result = self._drain(queue, recorder)
        finally:
            recorder.stop()
        recorder.flush()
        return result

    def _hand_back_unanswered_claims(self, queue: OutboxQueue) -> None:
        """A claim that failed may still have run: its answer lost with the connection. Its rows
        would wait out the lease unsent; they are handed back before anything else is claimed."""
        while self._unanswered_claims:
            queue.hand_back_claimed_until(self._unanswered_claims[0])
            del self._unanswered_claims[0]

    def retry_outcome(self, mail: Mail | QueuedMail, reason: str) -> Outcome:
        """One attempt spent: due again after the back-off, or failed after the last one."""
        attempts = mail.attempts + 1
        if attempts >= self.max_attempts:
            return Outcome(
                mail.id, FAILED, attempts, error=f"gave up after {attempts} attempts: {reason}"
            )
        due = utcnow() + retry_delay(attempts, first=self.first_retry_seconds)
        return Outcome(mail.id, RETRY, attempts, due_at=due, error=reason)

    def _drain(self, queue: OutboxQueue, recorder: OutcomeRecorder) -> PassResult:
        result = PassResult()
        if not queue.has_due():  # an idle poll stays a read; claiming is a write
            return result
        pool = SenderPool(
            self.transport_factory,
            connections=self.connections,
            recorder=recorder,
            retry_policy=self.retry_outcome,
            result=result,
            rate_limiter=self.rate_limiter,
            should_stop=self.should_stop,
        )
        in_hand: list[QueuedMail] = []  # claimed, not yet with the senders
        try:
            while not self.should_stop() and not pool.halted:
                pool.wait_for_room(self.batch_size)
                if pool.halted or self.should_stop():
                    break
                try:
                    in_hand = queue.claim_due(self.batch_size, lease=self.lease)
                except SQLAlchemyError:
                    self._unanswered_claims.append(queue.last_claim_until)
                    raise
                if not in_hand:
                    break
                recorder.hold(row.id for row in in_hand)
                ready = self._prepare(in_hand, recorder, result)
                in_hand = []
                pool.submit(ready)
        finally:
            untried = [*pool.finish(), *in_hand]
            due = result.retry_at if result.server_unavailable else None
            recorder.record_all(Outcome(mail.id, RELEASE, due_at=due) for mail in untried)
        if pool.database_down:
            raise DatabaseUnavailable(pool.database_down)
        return result

    def _prepare(
        self, claimed: list[QueuedMail], recorder: OutcomeRecorder, result: PassResult
    ) -> list[Mail]:
        """Drop rows nobody wants any more, render the rest; a row that cannot be rendered fails."""
        try:
            skipped = unwanted(claimed)
        except SQLAlchemyError:
            raise
        except Exception as error:  # a registered filter's bug: the rows wait, one attempt spent
            log.warning("recipient check failed: %s", error)
            recorder.record_all(
                self.retry_outcome(row, f"recipient check: {error}") for row in claimed
            )
            result.retry += len(claimed)
            return []
        finally:
            db.session.remove()  # the filters read through db.session: no transaction left open
        recorder.record_all(Outcome(i, SUPPRESSED, error=why) for i, why in skipped.items())
        result.suppressed += len(skipped)
        wanted = [row for row in claimed if row.id not in skipped]
        try:
            rendered = render_rows(wanted)
        finally:
            db.session.remove()
        ready = []
        for row, mail in zip(wanted, rendered, strict=True):
            if isinstance(mail, RenderFailed):
                recorder.record(Outcome(row.id, FAILED, row.attempts + 1, error=str(mail)))
                result.failed += 1
                result.problem(f"#{row.id} to {row.to_addr} failed: {mail}")
            else:
                ready.append(mail)
        return ready


def run_forever(
    worker: OutboxWorker,
    *,
    stop: threading.Event,
    report: Callable[[str], None],
    poll_interval: float = 1.0,
) -> None:
    """Pass after pass until `stop` is set; a down server or database pauses it, never ends it."""
    outages = 0
    database_failures = 0
    daily_jobs_at = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() >= daily_jobs_at:
                run_due_daily_jobs(report)
                daily_jobs_at = time.monotonic() + DAILY_JOBS_EVERY_SECONDS
            result = worker.run_pass()
        except (SQLAlchemyError, DatabaseUnavailable) as error:
            database_failures += 1
            pause = min(
                FIRST_DATABASE_PAUSE_SECONDS * 2 ** (database_failures - 1),
                LONGEST_DATABASE_PAUSE_SECONDS,
            )
            report(f"database unavailable, trying again in {pause} s: {first_line(error)}")
            stop.wait(pause)
            continue
        finally:
            db.session.remove()
        if database_failures:
            report("database reachable again")
            database_failures = 0
        if result.did_work():
            report(result.summary())
            for problem in result.problems[:10]:
                report(f"  {problem}")
        if result.server_unavailable:
            outages += 1
            pause = min(worker.first_retry_seconds * 2 ** (outages - 1), LONGEST_PAUSE_SECONDS)
            report(f"SMTP server unavailable, pausing {pause:g} s: {result.server_unavailable}")
            stop.wait(pause)
        else:
            outages = 0
            stop.wait(poll_interval)


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
