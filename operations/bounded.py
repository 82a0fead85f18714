"""Waiting a bounded time for work that may hang (a frozen database or Redis).

A socket timeout does not bound everything: a PostgreSQL server that is stopped (SIGSTOP) still
accepts the TCP connection and then never answers, and statement_timeout is enforced by that
same server. So a check runs on a thread of its own and the caller waits at most so long. While
one run is still going, later callers wait on that same run instead of starting another: a hung
server costs one thread, however often a load balancer asks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Result = TypeVar("Result")


class _Run(Generic[Result]):
    def __init__(self, work: Callable[[], Result]) -> None:
        self.done = threading.Event()
        self.result: Result | None = None
        self.error: BaseException | None = None
        self._work = work

    def __call__(self) -> None:
        try:
            self.result = self._work()
        except BaseException as error:  # handed to whoever waits, never lost on the thread
            self.error = error
        finally:
            self.done.set()


class TimedOut(Exception):
    pass


class BoundedCall(Generic[Result]):
    """work() on a daemon thread; call(seconds) returns its result or raises (TimedOut or the
    error work raised). start() then wait() lets several calls overlap."""

    def __init__(self, name: str, work: Callable[[], Result]) -> None:
        self.name = name
        self.work = work
        self._lock = threading.Lock()
        self._running: _Run[Result] | None = None

    def call(self, seconds: float) -> Result:
        return self.wait(self.start(), seconds)

    def start(self) -> _Run[Result]:
        """The run going on now, or a new one."""
        with self._lock:
            run = self._running
            if run is None or run.done.is_set():
                run = self._running = _Run(self.work)
                threading.Thread(target=run, name=f"bounded-{self.name}", daemon=True).start()
        return run

    def wait(self, run: _Run[Result], seconds: float) -> Result:
        if not run.done.wait(max(seconds, 0)):
            raise TimedOut(f"{self.name} gave no answer within {seconds:g} s")
        if run.error is not None:
            raise run.error
        return run.result  # type: ignore[return-value]
