"""OUTBOX_RATE_LIMIT: at most this many messages a second from one worker process (0: no limit).

Real providers throttle (Amazon SES starts new accounts at 14 a second); a worker that keeps
to their rate is not answered with 4xx and back-offs. The limit is per `outbox work` process:
with several, give each its share.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Spaces messages evenly across every sender thread of a process (a leaky bucket)."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError("a rate limit is a positive number of messages a second")
        self.interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0

    def wait(self) -> None:
        """Return when the next message may go; each caller gets a slot of its own."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


def rate_limiter(per_second: float) -> RateLimiter | None:
    return RateLimiter(per_second) if per_second > 0 else None
