"""Outbox rows, SMTP sinks that count sessions, and the worker run as an operator runs it."""

from __future__ import annotations

import asyncio

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from database import utcnow
from extensions import db
from mailer.models import QUEUED, OutboxMessage
from mailer.rendering import message_id, register_renderer
from mailer.transports.memory import MEMORY_OUTBOX
from tests.conftest import SmtpSink, free_port
from tests.mailer.note_renderer import NOTE, render_note

CONFIRM_LINK = "http://newsroom.test/confirm/eyJzIjoxfQ.aGVsbG8.c2lnbmVk"


class CountingSink(SmtpSink):
    """An SmtpSink that also counts SMTP sessions and can hang up after each accepted message."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0
        self.encrypted: list[bool] = []  # per accepted message: did it arrive over TLS?
        self.hang_up_after_each_message = False
        self.refuse_recipients: dict[str, str] = {}  # address -> the reply RCPT TO gets
        self.pipelining = False
        self.delay = 0.0  # seconds before answering each message

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        if self.pipelining:  # as Postfix and Exim offer it; aiosmtpd reads commands in order
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server, session, envelope):
        if self.delay:  # a slow server: what is in flight when something else breaks
            await asyncio.sleep(self.delay)
        status = await super().handle_DATA(server, session, envelope)
        if status.startswith("250"):
            self.encrypted.append(server.transport.get_extra_info("ssl_object") is not None)
        if self.hang_up_after_each_message and status.startswith("250"):
            # Close once the 250 has been written: the client learns of it on its next command.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return status


@pytest.fixture
def start_smtp():
    """start_smtp(smtputf8=True, ...) -> (sink, smtp_url): a real aiosmtpd server on loopback.

    starttls=ssl_context offers STARTTLS; implicit_tls=ssl_context speaks TLS from the start.
    """
    controllers = []

    def start(
        *,
        smtputf8: bool = True,
        port: int | None = None,
        starttls=None,
        implicit_tls=None,
        pipelining: bool = False,
    ):
        sink = CountingSink()
        sink.pipelining = pipelining
        port = port or free_port()
        controller = Controller(
            sink,
            hostname="127.0.0.1",
            port=port,
            enable_SMTPUTF8=smtputf8,
            tls_context=starttls,
            ssl_context=implicit_tls,
        )
        controller.start()
        controllers.append(controller)
        scheme = "smtps" if implicit_tls else "smtp"
        return sink, f"{scheme}://127.0.0.1:{port}"

    yield start
    for controller in controllers:
        controller.stop()


register_renderer(NOTE, render_note)


@pytest.fixture
def queue_message(app):
    """Queue a message as queue_mail() does, committed; returns its id.

    subject=, text_body=, html_body= and headers= say what the reader gets; other fields are
    the row's own (to_addr, kind, …).
    """

    def queue(**fields) -> int:
        context = {
            "subject": fields.pop("subject", "Confirm your subscription"),
            "text": fields.pop("text_body", f"Hello,\n\nPlease confirm: {CONFIRM_LINK}\n"),
            "html": fields.pop(
                "html_body", f'<p>Hello,</p><p><a href="{CONFIRM_LINK}">Confirm</a></p>'
            ),
            "headers": fields.pop("headers", {}),
        }
        values = {"kind": NOTE, "to_addr": "reader@example.com", "context": context} | fields
        with app.app_context():
            message = OutboxMessage(**values)
            db.session.add(message)
            db.session.commit()
            return message.id

    return queue


def message_id_of(row: OutboxMessage) -> str:
    """The Message-ID every attempt at this row carries."""
    return message_id(row.id, row.created_at, "newsroom.test")


@pytest.fixture
def outbox_row(app):
    """outbox_row(id) -> the row as stored now."""

    def read(message_id: int) -> OutboxMessage:
        with app.app_context():
            row = db.session.get(OutboxMessage, message_id)
            db.session.expunge(row)
            return row

    return read


@pytest.fixture
def make_queue_due(app):
    """Bring every queued retry forward to now: what waiting out the backoff would do."""

    def make_due() -> None:
        with app.app_context():
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == QUEUED)
                .values(next_attempt_at=utcnow())
            )
            db.session.commit()

    return make_due


@pytest.fixture
def memory_outbox():
    MEMORY_OUTBOX.clear()
    yield MEMORY_OUTBOX
    MEMORY_OUTBOX.clear()


@pytest.fixture
def work_once():
    """work_once(app) -> the CLI result of `flask outbox work --once` against that app."""

    def run(application, *extra):
        return application.test_cli_runner().invoke(args=["outbox", "work", "--once", *extra])

    return run


def received_by(sink) -> list[str]:
    """Every recipient the sink accepted a message for, once per message."""
    with sink.lock:
        return [address for envelope in sink.envelopes for address in envelope.rcpt_tos]
