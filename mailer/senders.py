"""Several SMTP connections at once: one thread each, all taking messages from one line.

The worker puts rendered messages in; each sender thread takes the next one, hands it to its
own transport (telling it which message follows, so SMTP can pipeline) and records the
outcome. One connection starts; the others open once it has delivered a message, so a server
that is down costs one message one attempt, not one per connection.

A sender stops taking messages when the worker is told to stop, when the server is found
unavailable (down, refusing our MAIL FROM, or TEMPORARY_FAILURES_BEFORE_PAUSE refusals in a
row) or when outcomes cannot be written; what it had not tried goes back untried.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from database import utcnow
from mailer.message import Mail
from mailer.models import FAILED, SENT
from mailer.rate_limit import RateLimiter
from mailer.recorder import RETRY, DatabaseUnavailable, Outcome, OutcomeRecorder
from mailer.transports.base import (
    PermanentFailure,
    RecipientRefused,
    ServerUnavailable,
    TemporaryFailure,
    Transport,
)

log = logging.getLogger(__name__)

# This many 4xx answers in a row say more about the server than about the messages.
TEMPORARY_FAILURES_BEFORE_PAUSE = 10
PROBLEMS_KEPT = 50


@dataclass
class PassResult:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    suppressed: int = 0
    server_unavailable: str | None = None
    retry_at: datetime | None = None  # when what the down server left untried comes due
    problems: list[str] = field(default_factory=list)

    def did_work(self) -> bool:
        return bool(self.sent or self.retry or self.failed or self.suppressed)

    def summary(self) -> str:
        text = f"sent {self.sent}, retry {self.retry}, failed {self.failed}"
        return f"{text}, not sent (suppressed) {self.suppressed}" if self.suppressed else text

    def problem(self, text: str) -> None:
        if len(self.problems) < PROBLEMS_KEPT:
            self.problems.append(text)


class SenderPool:
    def __init__(
        self,
        make_transport: Callable[[], Transport],
        *,
        connections: int,
        recorder: OutcomeRecorder,
        retry_policy: Callable[[Mail, str], Outcome],
        result: PassResult,
        rate_limiter: RateLimiter | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.make_transport = make_transport
        self.connections = max(1, connections)
        self.recorder = recorder
        self.retry_policy = retry_policy
        self.result = result
        self.rate_limiter = rate_limiter
        self.should_stop = should_stop
        lock = threading.Lock()  # guards everything below
        self._changed = threading.Condition(lock)  # the main thread waits here for room
        self._has_work = threading.Condition(lock)  # idle senders wait here
        self._room_at = 0  # the main thread wants to hear when no more than this wait
        self._waiting: deque[Mail] = deque()
        self._untried: list[Mail] = []
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._halted: str | None = None
        self._database_down: str | None = None
        self._temporary_streak = 0
        self._delivered_once = False

    # --- the worker's side ---------------------------------------------------------------

    def submit(self, mails: list[Mail]) -> None:
        with self._changed:
            self._waiting.extend(mails)
            self._has_work.notify(len(mails))
            if not self._threads:
                self._start_sender()
            elif self._delivered_once:
                self._grow()

    def waiting(self) -> int:
        with self._changed:
            return len(self._waiting)

    def wait_for_room(self, room: int) -> None:
        """Block while more than `room` messages wait, unless the pool has stopped."""
        with self._changed:
            self._room_at = room
            while len(self._waiting) > room and not self._halted:
                self._changed.wait(timeout=0.5)

    @property
    def halted(self) -> str | None:
        return self._halted

    @property
    def database_down(self) -> str | None:
        return self._database_down

    def finish(self) -> list[Mail]:
        """No more messages: let the senders finish (or stop); returns what was never tried."""
        with self._changed:
            self._closed = True
            self._has_work.notify_all()
        while True:  # a sender may start another until the last one ends
            with self._changed:
                running = [thread for thread in self._threads if thread.is_alive()]
            if not running:
                break
            for thread in running:
                thread.join()
        with self._changed:
            untried = self._untried + list(self._waiting)
            self._waiting.clear()
            self._untried = []
        return untried

    def halt(self, reason: str) -> None:
        with self._changed:
            if self._halted is None:
                self._halted = reason
            self._changed.notify_all()
            self._has_work.notify_all()

    # --- the sender threads --------------------------------------------------------------

    def _start_sender(self) -> None:
        thread = threading.Thread(
            target=self._run_sender, name=f"outbox-smtp-{len(self._threads) + 1}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _grow(self) -> None:
        while len(self._threads) < min(self.connections, len(self._waiting) + 1):
            self._start_sender()

    def _take(self, *, block: bool) -> Mail | None:
        with self._changed:
            while block and not self._waiting and not self._closed and not self._halted:
                self._has_work.wait()
            if self._halted or not self._waiting:
                return None
            if len(self._waiting) == self._room_at + 1:
                self._changed.notify()  # room for the main thread's next batch
            return self._waiting.popleft()

    def _give_back(self, *mails: Mail | None) -> None:
        with self._changed:
            self._untried.extend(mail for mail in mails if mail is not None)

    def _run_sender(self) -> None:
        transport = self.make_transport()
        previous = _SentTicket(self.recorder)
        try:
            mail = self._take(block=True)
            while mail is not None:
                if self._halted or self.should_stop():
                    self.halt(self._halted or "stopping")
                    self._give_back(mail)
                    break
                if self.rate_limiter is not None:
                    self.rate_limiter.wait()
                then = self._take(block=False)
                if not self._deliver(transport, mail, then, previous):
                    self._give_back(then)
                    break
                mail = then if then is not None else self._take(block=True)
        except BaseException:
            log.exception("an outbox sender thread stopped")
            self.halt("a sender thread failed")
            raise
        finally:
            transport.close()

    def _deliver(
        self, transport: Transport, mail: Mail, then: Mail | None, previous: _SentTicket
    ) -> bool:
        """Send one message and record what happened; False when this sender must stop."""
        try:
            # The server may accept this message only once the last one it accepted on this
            # connection is written as sent.
            transport.send(mail, then, previous)
        except DatabaseUnavailable as unavailable:  # this one was abandoned before its "."
            self._give_back(mail)
            self._database_unavailable(unavailable)
            return False
        except ServerUnavailable as error:
            self._record(self.retry_policy(mail, str(error)), mail, str(error))
            self.halt(str(error))
            with self._changed:
                self.result.server_unavailable = self.result.server_unavailable or str(error)
            return False
        except TemporaryFailure as error:
            self._record(self.retry_policy(mail, str(error)), mail, str(error))
            with self._changed:
                self._temporary_streak += 1
                streak = self._temporary_streak
            if streak >= TEMPORARY_FAILURES_BEFORE_PAUSE:
                reason = f"{streak} messages in a row refused for now, last: {error}"
                with self._changed:
                    self.result.server_unavailable = self.result.server_unavailable or reason
                self.halt(reason)
                return False
            return True
        except PermanentFailure as error:
            refused = isinstance(error, RecipientRefused)
            outcome = Outcome(
                mail.id,
                FAILED,
                attempts=mail.attempts + 1,
                error=str(error),
                bounced=refused,
                refused_address=mail.to_addr if refused else None,
            )
            with self._changed:
                self._temporary_streak = 0
            return self._record(outcome, mail, str(error))
        except Exception as error:  # an unforeseen error must cost one attempt, never the row
            log.exception("outbox message %s could not be sent", mail.id)
            return self._record(self.retry_policy(mail, repr(error)), mail, repr(error))
        previous.ticket = self.recorder.record(Outcome(mail.id, SENT, attempts=mail.attempts + 1))
        self._count(SENT, mail, "", None)
        with self._changed:
            self._temporary_streak = 0
            if not self._delivered_once:
                self._delivered_once = True
                self._grow()
        return True

    def _record(self, outcome: Outcome, mail: Mail, error: str) -> bool:
        self.recorder.record(outcome)
        self._count(outcome.status, mail, error, outcome.due_at)
        return True

    def _database_unavailable(self, unavailable: DatabaseUnavailable) -> None:
        with self._changed:
            self._database_down = str(unavailable)
        self.halt(f"database unavailable: {unavailable}")

    def _count(self, status: str, mail: Mail, error: str, due_at: datetime | None) -> None:
        with self._changed:
            result = self.result
            if status == SENT:
                result.sent += 1
            elif status == RETRY:
                result.retry += 1
                due = due_at or utcnow()
                result.retry_at = max(result.retry_at or due, due)
                result.problem(
                    f"#{mail.id} to {mail.to_addr} retries at {due:%H:%M:%S} UTC: {error}"
                )
            else:
                result.failed += 1
                result.problem(f"#{mail.id} to {mail.to_addr} failed: {error}")


class _SentTicket:
    """The last message a connection had accepted: written as sent before the next may be."""

    def __init__(self, recorder: OutcomeRecorder) -> None:
        self.recorder = recorder
        self.ticket = 0

    def is_open(self) -> bool:
        return self.recorder.written_up_to(self.ticket)

    def wait(self) -> None:
        if self.ticket:
            self.recorder.wait_written(self.ticket)
