"""Writes from several threads written together: who waits, who writes, who gets what."""

import threading
import time

import pytest

from newsletters.group_write import GroupWriter


class HeldWrites:
    """A write_batch that records each batch and holds the first until released."""

    def __init__(self, outcome=lambda item: item.upper()):
        self.batches: list[list] = []
        self.first_started = threading.Event()
        self.release_first = threading.Event()
        self.outcome = outcome

    def __call__(self, batch):
        self.batches.append(list(batch))
        if len(self.batches) == 1:
            self.first_started.set()
            assert self.release_first.wait(5)
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


def wait_until_queued(writer, count):
    deadline = time.monotonic() + 5
    while len(writer._queue) < count:
        assert time.monotonic() < deadline, "the writes never queued"
        time.sleep(0.005)


def test_a_write_alone_goes_at_once_in_a_batch_of_its_own():
    batches = []
    writer = GroupWriter(lambda batch: batches.append(list(batch)) or [item * 2 for item in batch])
    assert writer.write(21) == 42
    assert writer.write(4) == 8
    assert batches == [[21], [4]]


def test_writes_arriving_while_a_batch_is_written_go_together_in_the_next():
    writes = HeldWrites()
    writer = GroupWriter(writes)
    first, got_first = in_threads(writer, ["a"])
    assert writes.first_started.wait(5)
    others, got = in_threads(writer, ["b", "c", "d"])
    wait_until_queued(writer, 3)
    writes.release_first.set()
    for thread in first + others:
        thread.join(5)
    assert writes.batches[0] == ["a"]
    assert sorted(writes.batches[1]) == ["b", "c", "d"]  # one batch, one round trip
    assert len(writes.batches) == 2
    assert got_first == {"a": "A"}
    assert got == {"b": "B", "c": "C", "d": "D"}  # each its own
    assert writer.write("e") == "E"  # and the writer is free again


def test_an_items_own_error_is_raised_in_its_thread_only():
    def outcome(item):
        return ValueError(f"bad {item}") if item == "c" else item.upper()

    writes = HeldWrites(outcome)
    writer = GroupWriter(writes)
    first, _ = in_threads(writer, ["a"])
    assert writes.first_started.wait(5)
    others, got = in_threads(writer, ["b", "c", "d"])
    wait_until_queued(writer, 3)
    writes.release_first.set()
    for thread in first + others:
        thread.join(5)
    assert got["b"] == "B" and got["d"] == "D"
    assert isinstance(got["c"], ValueError) and str(got["c"]) == "bad c"


def test_a_batch_that_fails_fails_each_of_its_writes_and_the_next_batch_still_goes():
    calls = []
    started, release = threading.Event(), threading.Event()

    def write_batch(batch):
        calls.append(list(batch))
        if len(calls) == 1:
            started.set()
            assert release.wait(5)
            raise ConnectionError("the database went away")
        return [item.upper() for item in batch]

    writer = GroupWriter(write_batch)
    first, got_first = in_threads(writer, ["a"])
    assert started.wait(5)
    others, got = in_threads(writer, ["b", "c"])
    wait_until_queued(writer, 2)
    release.set()
    for thread in first + others:
        thread.join(5)
    assert isinstance(got_first["a"], ConnectionError)
    assert got == {"b": "B", "c": "C"}  # led by the first of them once the failed one ended


def test_a_batch_with_a_wrong_number_of_outcomes_is_an_error_for_each_write():
    calls = []

    def write_batch(batch):
        calls.append(batch)
        return [] if len(calls) == 1 else [item.upper() for item in batch]

    writer = GroupWriter(write_batch)
    with pytest.raises(RuntimeError, match="0 outcomes for 1 writes"):
        writer.write("a")
    assert writer.write("b") == "B"  # the failure left the writer free


def test_a_leading_thread_stopped_mid_batch_leaves_no_write_waiting_for_ever():
    calls = []
    started, release = threading.Event(), threading.Event()

    def write_batch(batch):
        calls.append(list(batch))
        if len(calls) == 1:
            started.set()
            assert release.wait(5)
            raise SystemExit  # the leading thread is being stopped
        return [item.upper() for item in batch]

    writer = GroupWriter(write_batch)
    first, got_first = in_threads(writer, ["a"])
    assert started.wait(5)
    others, got = in_threads(writer, ["b"])
    wait_until_queued(writer, 1)
    release.set()
    for thread in first + others:
        thread.join(5)
        assert not thread.is_alive()
    assert isinstance(got_first["a"], SystemExit)  # its own thread is stopped
    assert got == {"b": "B"}  # the next batch went on
    assert writer.write("c") == "C"
