"""A server that offers PIPELINING: refusals still land on the right message, nothing is lost."""

from __future__ import annotations

import pytest

from mailer.models import FAILED, QUEUED, SENT
from mailer.rate_limit import RateLimiter
from tests.mailer.conftest import received_by


@pytest.fixture
def pipelined(make_app, start_smtp):
    sink, smtp_url = start_smtp(pipelining=True)
    return sink, make_app(SMTP_URL=smtp_url, OUTBOX_SMTP_CONNECTIONS=1)


def test_a_refused_recipient_between_accepted_ones_fails_alone(
    pipelined, queue_message, work_once, outbox_row
):
    sink, app = pipelined
    sink.refuse_recipients["b@example.com"] = "550 5.1.1 no such mailbox"
    ids = {
        to: queue_message(to_addr=to) for to in ("a@example.com", "b@example.com", "c@example.com")
    }

    result = work_once(app)

    assert "sent 2, retry 0, failed 1" in result.output
    assert received_by(sink) == ["a@example.com", "c@example.com"]
    assert [outbox_row(ids[to]).status for to in sorted(ids)] == [SENT, FAILED, SENT]


def test_a_message_refused_for_now_waits_while_the_next_ones_go(
    pipelined, queue_message, work_once, outbox_row
):
    sink, app = pipelined
    sink.refuse_recipients["b@example.com"] = "451 4.7.1 greylisted, try later"
    first, second, third = (
        queue_message(to_addr=to) for to in ("a@example.com", "b@example.com", "c@example.com")
    )

    work_once(app)

    assert received_by(sink) == ["a@example.com", "c@example.com"]
    assert (outbox_row(second).status, outbox_row(second).attempts) == (QUEUED, 1)
    assert outbox_row(first).status == outbox_row(third).status == SENT


def test_content_refused_after_the_final_dot_fails_only_that_message(
    pipelined, queue_message, work_once, outbox_row
):
    sink, app = pipelined
    sink.refuse_with = "554 5.7.1 message refused"
    first, second = queue_message(to_addr="a@example.com"), queue_message(to_addr="b@example.com")

    work_once(app)

    assert outbox_row(first).status == outbox_row(second).status == FAILED
    assert "554 5.7.1" in outbox_row(second).last_error


def test_a_server_that_hangs_up_after_each_message_still_gets_each_once(
    pipelined, queue_message, work_once, outbox_row, make_queue_due
):
    sink, app = pipelined
    sink.hang_up_after_each_message = True
    ids = [queue_message(to_addr=f"reader{n}@example.com") for n in range(5)]

    # A message whose final "." meets a closed connection may or may not have arrived: it
    # waits for a retry (same Message-ID) rather than risk going twice.
    for _ in range(4):
        assert work_once(app).exit_code == 0
        make_queue_due()

    assert sorted(received_by(sink)) == [f"reader{n}@example.com" for n in range(5)]
    assert all(outbox_row(i).status == SENT for i in ids)


def test_lines_starting_with_a_dot_arrive_intact(pipelined, queue_message, work_once):
    sink, app = pipelined
    queue_message(text_body=".\n.hidden line\n..two dots\nend\n")

    work_once(app)

    [message] = sink.messages()
    text = message.get_body(("plain",)).get_content()
    assert text.splitlines() == [".", ".hidden line", "..two dots", "end"]


def test_the_rate_limit_spaces_messages_evenly_across_senders():
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(round(seconds, 3))

    limiter = RateLimiter(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):  # five senders asking at the same instant
        limiter.wait()

    assert slept == [0.25, 0.5, 0.75, 1.0]  # the first goes at once, then one every 1/4 s


def test_the_rate_limit_setting_slows_delivery_to_that_many_a_second(
    make_app, start_smtp, queue_message, work_once
):
    sink, smtp_url = start_smtp()
    app = make_app(SMTP_URL=smtp_url, OUTBOX_RATE_LIMIT=1000)
    for n in range(3):
        queue_message(to_addr=f"reader{n}@example.com")

    assert "sent 3" in work_once(app).output
