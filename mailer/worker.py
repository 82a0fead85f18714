"""The outbox worker: claims due mail from the outbox queue and hands it to a transport.

Each message the transport accepts is recorded as sent before the next one is handed over, so
stopping or crashing never makes a delivered message go again (the one exception is described
in mailer/outbox_queue.py). A temporary refusal costs that message one attempt and a back-off;
a server that is down costs one message one attempt and ends the pass, the rest of the batch
handed back to the queue untried.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

import metrics
from database import utcnow
from extensions import db
from mailer.message import Mail
from mailer.outbox_queue import LEASE, OutboxQueue, open_outbox_queue, retry_delay
from mailer.pass_hooks import run_pass_hooks
from mailer.services import from_identity
from mailer.transports import make_transport
from mailer.transports.base import (
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
    Transport,
)

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 200
FIRST_PAUSE_SECONDS = 30
LONGEST_PAUSE_SECONDS = 300
# This many 4xx answers in a row say more about the server than about the messages.
TEMPORARY_FAILURES_BEFORE_PAUSE = 10


@dataclass
class PassResult:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    server_unavailable: str | None = None
    problems: list[str] = field(default_factory=list)

    def did_work(self) -> bool:
        return bool(self.sent or self.retry or self.failed)

    def summary(self) -> str:
        return f"sent {self.sent}, retry {self.retry}, failed {self.failed}"


def configured_worker(
    *, batch_size: int = DEFAULT_BATCH_SIZE, should_stop: Callable[[], bool] = lambda: False
) -> OutboxWorker:
    """A worker for SMTP_URL, MAIL_FROM and OUTBOX_MAX_ATTEMPTS (needs an app context).

    Raises SmtpUrlError when SMTP_URL names no transport.
    """
    config = current_app.config
    return OutboxWorker(
        make_transport(config["SMTP_URL"], from_identity()),
        batch_size=batch_size,
        max_attempts=config["OUTBOX_MAX_ATTEMPTS"],
        should_stop=should_stop,
    )


def deliver_due(*, batch_size: int = DEFAULT_BATCH_SIZE) -> PassResult:
    """Send everything due now through SMTP_URL, as `outbox work --once` does (app context).

    Uses a connection of its own: the caller's db.session is neither committed nor touched.
    """
    return configured_worker(batch_size=batch_size).run_pass()


class OutboxWorker:
    """Takes batches from the outbox queue and hands each message to one transport."""

    def __init__(
        self,
        transport: Transport,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_attempts: int = 12,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.transport = transport
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.should_stop = should_stop

    def run_pass(self) -> PassResult:
        """Drain what is due, batch after batch, on one connection; stop if the server is down."""
        run_pass_hooks()
        with open_outbox_queue() as queue:
            return _DeliveryPass(self, queue).run()


class _DeliveryPass:
    """One pass of the worker over the queue; counts what happened in its PassResult."""

    def __init__(self, worker: OutboxWorker, queue: OutboxQueue) -> None:
        self.worker = worker
        self.queue = queue
        self.result = PassResult()
        self.temporary_streak = 0

    def run(self) -> PassResult:
        if not self.queue.has_due():  # an idle poll stays a read; claiming is a write
            return self.result
        try:
            while not self.worker.should_stop():
                batch = self.queue.claim_due(self.worker.batch_size)
                if not batch:
                    break
                self._hand_over_batch(batch)
                if self.result.server_unavailable:
                    break
        finally:
            self.worker.transport.close()
        return self.result

    def _hand_over_batch(self, batch: list[Mail]) -> None:
        """Hand each claimed message over in turn; what is left untried goes back to the queue.

        Past half the lease the rest go back too: their lease must not run out while they are
        still ours, or another worker could claim and send them as well.
        """
        claimed_at = utcnow()
        untried = list(batch)
        try:
            while untried:
                if self.worker.should_stop() or utcnow() - claimed_at > LEASE / 2:
                    self.queue.release(mail.id for mail in untried)
                    return
                mail = untried.pop(0)
                retry_at = self._hand_over(mail)
                if self.result.server_unavailable:
                    # Nothing else can go now: the rest wait with the one that found the server
                    # down, without spending one of their own attempts on it.
                    self.queue.release((later.id for later in untried), at=retry_at)
                    return
        except BaseException:
            self._release_quietly(untried)
            raise

    def _hand_over(self, mail: Mail) -> datetime:
        """Give one message to the transport and record what happened; returns when it is due."""
        try:
            self.worker.transport.send(mail)
        except ServerUnavailable as error:
            self.result.server_unavailable = str(error)
            return self._retry_or_fail(mail, error)
        except TemporaryFailure as error:
            self.temporary_streak += 1
            if self.temporary_streak >= TEMPORARY_FAILURES_BEFORE_PAUSE:
                self.result.server_unavailable = (
                    f"{self.temporary_streak} messages in a row refused for now, last: {error}"
                )
            return self._retry_or_fail(mail, error)
        except PermanentFailure as error:
            self.temporary_streak = 0
            self.queue.mark_failed(mail, str(error))
            metrics.OUTBOX_FAILURES.labels(outcome="failed").inc()
            self.result.failed += 1
            self.result.problems.append(f"#{mail.id} to {mail.to_addr} failed: {error}")
            return utcnow()
        except Exception as error:  # an unforeseen error must cost one attempt, never the row
            log.exception("outbox message %s could not be sent", mail.id)
            return self._retry_or_fail(mail, error)
        self.queue.mark_sent(mail)
        metrics.OUTBOX_DELIVERIES.inc()
        self.temporary_streak = 0
        self.result.sent += 1
        return utcnow()

    def _retry_or_fail(self, mail: Mail, error: Exception) -> datetime:
        reason = str(error) or type(error).__name__
        attempts = mail.attempts + 1
        if attempts >= self.worker.max_attempts:
            self.queue.mark_failed(mail, f"gave up after {attempts} attempts: {reason}")
            metrics.OUTBOX_FAILURES.labels(outcome="failed").inc()
            self.result.failed += 1
            self.result.problems.append(f"#{mail.id} to {mail.to_addr} failed for good: {reason}")
            return utcnow() + retry_delay(1)
        retry_at = self.queue.mark_retry(mail, reason)
        metrics.OUTBOX_FAILURES.labels(outcome="retry").inc()
        self.result.retry += 1
        self.result.problems.append(
            f"#{mail.id} to {mail.to_addr} retries at {retry_at:%H:%M:%S} UTC: {reason}"
        )
        return retry_at

    def _release_quietly(self, untried: list[Mail]) -> None:
        try:
            self.queue.release(mail.id for mail in untried)
        except SQLAlchemyError:
            log.warning("could not hand back claimed outbox rows; they come due after the lease")


def run_forever(
    worker: OutboxWorker,
    *,
    stop: threading.Event,
    report: Callable[[str], None],
    poll_interval: float = 1.0,
) -> None:
    """Pass after pass until `stop` is set; a down server or database pauses it, never ends it."""
    outages = 0
    while not stop.is_set():
        try:
            result = worker.run_pass()
        except SQLAlchemyError as error:
            report(f"database error, trying again in 5 s: {first_line(error)}")
            stop.wait(5)
            continue
        finally:
            db.session.remove()
        if result.did_work():
            report(result.summary())
            for problem in result.problems[:10]:
                report(f"  {problem}")
        if result.server_unavailable:
            outages += 1
            pause = min(FIRST_PAUSE_SECONDS * 2 ** (outages - 1), LONGEST_PAUSE_SECONDS)
            report(f"SMTP server unavailable, pausing {pause} s: {result.server_unavailable}")
            stop.wait(pause)
        else:
            outages = 0
            stop.wait(poll_interval)


def first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
