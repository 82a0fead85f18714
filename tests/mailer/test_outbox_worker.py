"""Delivery guarantees: nothing lost, nothing accepted sent twice, retries that back off."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from database import utcnow
from extensions import db
from mailer import worker as outbox_worker
from mailer.models import FAILED, QUEUED, SENT, OutboxMessage
from mailer.outbox_queue import OutboxQueue, open_outbox_queue
from mailer.services import from_identity
from mailer.transports import make_transport
from tests.conftest import free_port
from tests.mailer.conftest import message_id_of, received_by
from tests.mailer.note_renderer import NOTE


def _message_ids(sink):
    return sorted(message["Message-ID"] for message in sink.messages())


def test_smtp_down_then_up_delivers_every_message_exactly_once(
    make_app, start_smtp, queue_message, work_once, make_queue_due, outbox_row
):
    port = free_port()
    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{port}")
    ids = [queue_message(to_addr=f"reader{n}@example.com") for n in range(5)]

    for _ in range(2):  # nothing listens on the port yet
        assert work_once(app).exit_code == 0
        make_queue_due()
    assert all(outbox_row(i).status == QUEUED for i in ids)

    sink, _ = start_smtp(port=port)
    for _ in range(3):  # later passes find nothing left to send
        assert work_once(app).exit_code == 0
        make_queue_due()

    assert len(sink.messages()) == 5
    assert _message_ids(sink) == sorted(message_id_of(outbox_row(i)) for i in ids)
    assert all(outbox_row(i).status == SENT for i in ids)


def test_a_down_server_costs_one_message_one_attempt_per_pass(
    make_app, queue_message, work_once, outbox_row
):
    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    first, *others = [queue_message() for _ in range(4)]

    result = work_once(app)

    assert result.exit_code == 0
    assert "retry 1" in result.output
    assert outbox_row(first).attempts == 1
    assert "cannot use the SMTP server" in outbox_row(first).last_error
    # The rest were not tried, so they keep every attempt, and wait with the first one.
    assert [outbox_row(i).attempts for i in others] == [0, 0, 0]
    assert all(outbox_row(i).next_attempt_at > utcnow() for i in others)


def test_a_4xx_answer_keeps_the_message_queued_with_backoff_then_delivers_it_once(
    make_app, smtp_server, queue_message, work_once, make_queue_due, outbox_row
):
    sink, smtp_url = smtp_server
    app = make_app(SMTP_URL=smtp_url)
    message_id = queue_message()
    sink.refuse_with = "451 4.3.0 try later"

    assert work_once(app).exit_code == 0

    row = outbox_row(message_id)
    assert (row.status, row.attempts) == (QUEUED, 1)
    assert "451 4.3.0 try later" in row.last_error
    assert row.next_attempt_at > utcnow()
    assert "nothing due" in work_once(app).output  # backing off, not retried at once

    sink.refuse_with = None
    make_queue_due()
    work_once(app)
    make_queue_due()
    work_once(app)

    assert _message_ids(sink) == [message_id_of(row)]  # the retry is the same message
    assert outbox_row(message_id).status == SENT


def test_a_server_answering_4xx_to_everything_is_treated_as_down(
    make_app, smtp_server, queue_message, work_once, outbox_row
):
    sink, smtp_url = smtp_server
    app = make_app(SMTP_URL=smtp_url)
    ids = [queue_message() for _ in range(outbox_worker.TEMPORARY_FAILURES_BEFORE_PAUSE + 3)]
    sink.refuse_with = "452 4.3.1 insufficient system storage"

    result = work_once(app)

    assert f"retry {outbox_worker.TEMPORARY_FAILURES_BEFORE_PAUSE}," in result.output
    assert [outbox_row(i).attempts for i in ids[-3:]] == [0, 0, 0]


def test_a_5xx_answer_fails_the_message_and_it_is_never_retried(
    make_app, smtp_server, queue_message, work_once, make_queue_due, outbox_row
):
    sink, smtp_url = smtp_server
    app = make_app(SMTP_URL=smtp_url)
    message_id = queue_message()
    sink.refuse_with = "554 5.7.1 message refused"

    result = work_once(app)
    sink.refuse_with = None
    make_queue_due()
    work_once(app)

    assert result.exit_code == 0
    assert "failed 1" in result.output
    row = outbox_row(message_id)
    assert (row.status, row.attempts) == (FAILED, 1)
    assert "554 5.7.1 message refused" in row.last_error
    assert sink.messages() == []


def test_a_message_fails_after_the_configured_number_of_attempts(
    make_app, smtp_server, queue_message, work_once, make_queue_due, outbox_row
):
    sink, smtp_url = smtp_server
    app = make_app(SMTP_URL=smtp_url, OUTBOX_MAX_ATTEMPTS=3)
    message_id = queue_message()
    sink.refuse_with = "451 4.3.0 try later"

    statuses = []
    for _ in range(4):
        work_once(app)
        make_queue_due()
        statuses.append(outbox_row(message_id).status)

    assert statuses == [QUEUED, QUEUED, FAILED, FAILED]
    assert outbox_row(message_id).attempts == 3


def test_work_once_exits_zero_when_messages_wait_for_a_retry(make_app, queue_message, work_once):
    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    queue_message()

    result = work_once(app)

    assert result.exit_code == 0
    assert "sent 0, retry 1, failed 0" in result.output


def test_one_connection_carries_every_batch(make_app, start_smtp, queue_message, work_once):
    sink, smtp_url = start_smtp()
    app = make_app(SMTP_URL=smtp_url, OUTBOX_SMTP_CONNECTIONS=1)
    for n in range(12):
        queue_message(to_addr=f"reader{n}@example.com")

    work_once(app, "--batch-size", "5")  # three batches, still one connection

    assert len(sink.messages()) == 12
    assert sink.sessions == 1


@pytest.mark.parametrize("pipelining", [False, True])
def test_several_connections_share_the_queue_and_each_reader_gets_one_message(
    make_app, start_smtp, queue_message, work_once, outbox_row, pipelining
):
    sink, smtp_url = start_smtp(pipelining=pipelining)
    app = make_app(SMTP_URL=smtp_url, OUTBOX_SMTP_CONNECTIONS=4)
    ids = [queue_message(to_addr=f"reader{n}@example.com") for n in range(60)]

    result = work_once(app, "--batch-size", "25")

    assert "sent 60, retry 0, failed 0" in result.output
    assert sorted(received_by(sink)) == sorted(f"reader{n}@example.com" for n in range(60))
    assert sink.sessions == 4
    assert all(outbox_row(i).status == SENT for i in ids)


def test_a_connection_the_server_closes_is_reopened_and_nothing_is_sent_twice(
    make_app, start_smtp, queue_message, work_once, outbox_row
):
    sink, smtp_url = start_smtp()
    sink.hang_up_after_each_message = True
    app = make_app(SMTP_URL=smtp_url)
    ids = [queue_message(to_addr=f"reader{n}@example.com") for n in range(4)]

    result = work_once(app)

    assert "sent 4, retry 0, failed 0" in result.output
    assert len(sink.messages()) == 4
    assert sink.sessions == 4
    assert all(outbox_row(i).status == SENT for i in ids)


def test_claimed_messages_are_not_handed_to_a_second_worker(app_ctx, queue_message):
    queue_message()
    queue_message()

    with open_outbox_queue() as queue:
        first = queue.claim_due(10)
        second = queue.claim_due(10)

    assert len(first) == 2
    assert second == []


def test_a_claim_takes_no_more_than_its_batch_so_other_workers_get_the_rest(app_ctx):
    # A worker sends a few hundred a second: rows it claims beyond its batch sit leased, out of
    # every other worker's reach, until it gets to them (or its lease ends, if it dies).
    db.session.add_all(_row(n) for n in range(1600))
    db.session.commit()

    with open_outbox_queue() as queue:
        claims = [len(queue.claim_due(200)) for _ in range(9)]

    assert claims == [200] * 8 + [0]


def test_a_worker_told_to_stop_hands_back_what_it_has_not_sent(
    app_ctx, queue_message, memory_outbox
):
    ids = [queue_message() for _ in range(3)]
    sender = from_identity()
    worker = outbox_worker.OutboxWorker(
        lambda: make_transport("memory", sender),
        should_stop=lambda: len(memory_outbox) >= 1,
    )

    result = worker.run_pass()

    assert result.sent == 1
    with open_outbox_queue() as queue:
        assert len(queue.claim_due(10)) == len(ids) - 1  # due again at once, untried


def test_rows_of_a_claim_whose_answer_was_lost_are_sent_at_the_next_pass(
    app_ctx, queue_message, memory_outbox, monkeypatch
):
    # The connection cut after the database ran the claim: the rows are leased, and the
    # worker never saw them. They must not wait out the lease (here ten minutes) unsent.
    ids = [queue_message(to_addr=f"reader{n}@example.com") for n in range(3)]
    claim = OutboxQueue.claim_due
    lost = []

    def answer_lost(queue, *args, **kwargs):
        rows = claim(queue, *args, **kwargs)
        if not lost:
            lost.append(rows)
            raise OperationalError("UPDATE outbox", {}, Exception("server closed the connection"))
        return rows

    monkeypatch.setattr(OutboxQueue, "claim_due", answer_lost)
    sender = from_identity()
    worker = outbox_worker.OutboxWorker(
        lambda: make_transport("memory", sender), lease=timedelta(minutes=10)
    )
    with pytest.raises(OperationalError):
        worker.run_pass()
    assert len(lost[0]) == len(ids) and memory_outbox == []

    assert worker.run_pass().sent == len(ids)
    assert sorted(delivery.envelope_to for delivery in memory_outbox) == [
        "reader0@example.com",
        "reader1@example.com",
        "reader2@example.com",
    ]


@pytest.mark.postgresql
def test_two_workers_at_once_deliver_each_message_once(app, database_url, start_smtp):
    if not database_url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED needs PostgreSQL: SQLite serialises all writers anyway")
    sink, smtp_url = start_smtp()
    app.config["SMTP_URL"] = smtp_url
    with app.app_context():
        for n in range(200):
            db.session.add(_row(n))
        db.session.commit()
    start = threading.Barrier(2)
    results, errors = [], []

    def run_worker():
        try:
            with app.app_context():
                start.wait()
                results.append(outbox_worker.deliver_due(batch_size=20))
        except Exception as error:  # surfaced below: a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=run_worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(result.sent for result in results) == 200
    message_ids = _message_ids(sink)
    assert len(message_ids) == len(set(message_ids)) == 200


def _row(n: int) -> OutboxMessage:
    return OutboxMessage(
        kind=NOTE,
        to_addr=f"reader{n}@example.com",
        context={"subject": "Confirm", "text": "text", "html": "<p>html</p>"},
    )


def test_a_message_rendered_when_queued_by_an_older_release_goes_as_stored(
    make_app, smtp_server, work_once, outbox_row
):
    sink, smtp_url = smtp_server
    app = make_app(SMTP_URL=smtp_url)
    with app.app_context():
        row = OutboxMessage(
            kind="confirm",
            to_addr="reader@example.com",
            subject="Please confirm your subscription",
            text_body="Confirm: http://newsroom.test/confirm/abc\n",
            html_body='<p><a href="http://newsroom.test/confirm/abc">Confirm</a></p>',
            headers={},
            message_id="<queued-before-0003@newsroom.test>",
        )
        db.session.add(row)
        db.session.commit()
        row_id = row.id

    work_once(app)

    [received] = sink.messages()
    assert received["Message-ID"] == "<queued-before-0003@newsroom.test>"
    assert "/confirm/abc" in received.get_body(("plain",)).get_content()
    assert outbox_row(row_id).status == SENT
