"""Writes that reach the database together, written together (group commit).

A worker's threads each bring one write; while one thread's batch is with the database, the
writes arriving in the others wait in a queue. When the batch comes back, the first of the
waiting threads takes the whole queue as the next batch, and so on: under load each round trip
and each commit carries several writes; alone, a write goes at once, as before (it never waits
for company). newsletters/signup_writes.py uses it for new addresses' signups.

`write_batch` gets the batch's items in the order they came and returns one outcome an item:
its result, or the exception that item alone raises. An exception out of `write_batch` itself
is every item's. Whatever happens, the next waiting thread is woken to lead, so that no write
waits on one that failed.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from typing import Any


class _Waiting:
    __slots__ = ("item", "woken", "leads", "outcome")

    def __init__(self, item: Any) -> None:
        self.item = item
        self.woken = threading.Event()
        self.leads = False
        self.outcome: Any = None


def _errors_of_their_own(error: Exception, batch: list[_Waiting], me: _Waiting) -> list:
    """The batch's error for each of its writes: the leading thread's is the error itself, the
    others' are copies. One exception object raised in several threads gathers all their frames
    in its traceback, and a log would show each thread's error with the others' frames. Each
    copy is chained to a snapshot of the error as the batch failed, whose frames the leading
    thread's raising no longer changes. An error that cannot be copied is shared, as before."""
    cause = _copy_of(error) if len(batch) > 1 else None
    if cause is None:
        return [error] * len(batch)
    cause.with_traceback(error.__traceback__)
    cause.__cause__, cause.__context__ = error.__cause__, error.__context__
    cause.__suppress_context__ = error.__suppress_context__
    outcomes = []
    for waiting in batch:
        duplicate = None if waiting is me else _copy_of(error)
        if duplicate is not None:
            duplicate.__cause__ = cause
        outcomes.append(error if duplicate is None else duplicate)
    return outcomes


def _copy_of(error: Exception) -> Exception | None:
    try:
        duplicate = copy.copy(error)
    except Exception:  # noqa: BLE001 (then the error is shared)
        return None
    return None if duplicate is error or not isinstance(duplicate, Exception) else duplicate


class GroupWriter:
    def __init__(self, write_batch: Callable[[list], Sequence[Any]]) -> None:
        self._write_batch = write_batch
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._writing = False

    def write(self, item: Any) -> Any:
        """The item's result once its batch is written; raises what its write raised."""
        me = _Waiting(item)
        with self._lock:
            self._queue.append(me)
            if not self._writing:
                self._writing = True
                me.leads = True
        if not me.leads:
            me.woken.wait()  # its batch is written, or the batch before it is and it leads
        if me.leads:
            self._lead(me)
        if isinstance(me.outcome, BaseException):
            raise me.outcome
        return me.outcome

    def _lead(self, me: _Waiting) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            outcomes = list(self._write_batch([waiting.item for waiting in batch]))
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} writes")
        except Exception as error:  # every item's, raised in its own thread
            outcomes = [error] * len(batch)  # should copying it fail, the threads share it
            outcomes = _errors_of_their_own(error, batch, me)
        except BaseException:  # the leading thread is stopped: the others must not hang
            outcomes = [RuntimeError("the thread writing this batch was stopped") for _ in batch]
            raise
        finally:
            for waiting, outcome in zip(batch, outcomes, strict=True):
                waiting.outcome = outcome
            self._hand_on(batch, me)

    def _hand_on(self, batch: list[_Waiting], me: _Waiting) -> None:
        """Wakes the batch's other threads, and the first one waiting since, to lead."""
        with self._lock:
            following = self._queue[0] if self._queue else None
            if following is None:
                self._writing = False
            else:
                following.leads = True
        for waiting in batch:
            if waiting is not me:
                waiting.woken.set()
        if following is not None:
            following.woken.set()
