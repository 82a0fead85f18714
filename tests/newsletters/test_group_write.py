"""Writes from several threads written together: who waits, who writes, who gets what."""

import threading
import traceback
from pathlib import Path

import pytest

from newsletters.group_write import GroupWriter
from tests.newsletters.helpers import wait_until_queued


class HeldWrites:
    """A write_batch that records each batch and holds the first until released; the first
    then raises `first_raises` if given, and those after it `then_raises`."""

    def __init__(
        self,
        outcome=str.upper,
        first_raises: BaseException | None = None,
        then_raises: BaseException | None = None,
    ):
        self.batches: list[list] = []
        self.first_started = threading.Event()
        self.release_first = threading.Event()
        self.outcome = outcome
        self.first_raises = first_raises
        self.then_raises = then_raises

    def __call__(self, batch):
        self.batches.append(list(batch))
        if len(self.batches) == 1:
            self.first_started.set()
            assert self.release_first.wait(5)
            if self.first_raises is not None:
                raise self.first_raises
        elif self.then_raises is not None:
            raise self.then_raises
        return [self.outcome(item) for item in batch]


def in_threads(writer, items):
    """Starts a thread a write; returns the threads and what each got (result or error)."""
    got = {}

    def write(item):
        try:
            got[item] = writer.write(item)
        except BaseException as error:  # noqa: BLE001 (what the caller would see)
            got[item] = error

    threads = [threading.Thread(target=write, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    return threads, got


def first_alone_then_together(writer, writes: HeldWrites, others: list[str]) -> dict:
    """ "a" is written first and held there while `others` arrive; what each write got."""
    first, got = in_threads(writer, ["a"])
    assert writes.first_started.wait(5)
    rest, got_rest = in_threads(writer, others)
    wait_until_queued(lambda: writer, len(others))
    writes.release_first.set()
    for thread in first + rest:
        thread.join(5)
        assert not thread.is_alive()
    return got | got_rest


def test_a_write_alone_goes_at_once_in_a_batch_of_its_own():
    batches = []
    writer = GroupWriter(lambda batch: batches.append(list(batch)) or [item * 2 for item in batch])
    assert writer.write(21) == 42
    assert writer.write(4) == 8
    assert batches == [[21], [4]]


def test_writes_arriving_while_a_batch_is_written_go_together_in_the_next():
    writes = HeldWrites()
    writer = GroupWriter(writes)
    got = first_alone_then_together(writer, writes, ["b", "c", "d"])
    assert writes.batches[0] == ["a"]
    assert sorted(writes.batches[1]) == ["b", "c", "d"]  # one batch, one round trip
    assert len(writes.batches) == 2
    assert got == {"a": "A", "b": "B", "c": "C", "d": "D"}  # each its own
    assert writer.write("e") == "E"  # and the writer is free again


def test_an_items_own_error_is_raised_in_its_thread_only():
    def outcome(item):
        return ValueError(f"bad {item}") if item == "c" else item.upper()

    writes = HeldWrites(outcome)
    got = first_alone_then_together(GroupWriter(writes), writes, ["b", "c", "d"])
    assert got["b"] == "B" and got["d"] == "D"
    assert isinstance(got["c"], ValueError) and str(got["c"]) == "bad c"


def test_a_batch_that_fails_fails_each_of_its_writes_and_the_next_batch_still_goes():
    writes = HeldWrites(first_raises=ConnectionError("the database went away"))
    got = first_alone_then_together(GroupWriter(writes), writes, ["b", "c"])
    assert isinstance(got.pop("a"), ConnectionError)
    assert got == {"b": "B", "c": "C"}  # led by the first of them once the failed one ended


def test_each_write_of_a_failed_batch_gets_an_error_of_its_own_with_its_own_frames():
    writes = HeldWrites(then_raises=ConnectionError("server closed the connection"))
    got = first_alone_then_together(GroupWriter(writes), writes, ["b", "c", "d"])

    errors = [got[item] for item in "bcd"]
    assert all(isinstance(error, ConnectionError) for error in errors)
    assert {str(error) for error in errors} == {"server closed the connection"}
    assert len({id(error) for error in errors}) == 3
    for error in errors:
        # What a log prints: the thread's own frames, then where the batch failed; no frame of
        # another thread's request (one GroupWriter.write), however far its error went.
        chain = [error] + ([error.__cause__] if error.__cause__ is not None else [])
        frames = [f for each in chain for f in traceback.extract_tb(each.__traceback__)]
        assert [f.name for f in frames if Path(f.filename).name == "group_write.py"] == [
            "write",
            "_lead",
        ]


def test_a_leading_thread_stopped_mid_batch_leaves_no_write_waiting_for_ever():
    writes = HeldWrites(first_raises=SystemExit())  # the leading thread is being stopped
    writer = GroupWriter(writes)
    got = first_alone_then_together(writer, writes, ["b"])
    assert isinstance(got.pop("a"), SystemExit)  # in its own thread only
    assert got == {"b": "B"}  # the next batch went on
    assert writer.write("c") == "C"


def test_a_batch_with_a_wrong_number_of_outcomes_is_an_error_for_each_write():
    calls = []

    def write_batch(batch):
        calls.append(batch)
        return [] if len(calls) == 1 else [item.upper() for item in batch]

    writer = GroupWriter(write_batch)
    with pytest.raises(RuntimeError, match="0 outcomes for 1 writes"):
        writer.write("a")
    assert writer.write("b") == "B"  # the failure left the writer free
