"""Outbox throughput: queue N messages, let the worker deliver them to a local SMTP sink.

    .venv/bin/python bench/outbox_throughput.py [--messages 5000] [--workers 1]
        [--batch-size 200] [--database-url postgresql+psycopg://…/scratch]

The sink (aiosmtpd, accepting and counting) runs in its own process and each worker in its
own process, as `outbox work` would, so none of them share a GIL. Without --database-url it uses
a throw-away SQLite file. A PostgreSQL database must be a scratch one: the benchmark creates the
tables if missing and refuses to run when the outbox holds queued mail it did not put there.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from email.utils import make_msgid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BENCH_KIND = "bench"


def _settings(database_url: str, smtp_url: str) -> dict:
    options = {} if database_url.startswith("sqlite") else {"pool_size": 2}
    return {
        "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": options,
        "SMTP_URL": smtp_url,
        "MAIL_FROM": "newsletters@newsroom.test",
    }


def _run_sink(port: int, accepted, ready) -> None:
    from aiosmtpd.controller import Controller

    class CountingSink:
        async def handle_DATA(self, server, session, envelope):
            with accepted.get_lock():
                accepted.value += 1
            return "250 OK"

    controller = Controller(CountingSink(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def _run_worker(database_url: str, smtp_url: str, batch_size: int, start, results) -> None:
    from app import create_app
    from mailer.worker import deliver_due

    app = create_app(_settings(database_url, smtp_url))
    with app.app_context():
        start.wait()
        result = deliver_due(batch_size=batch_size)
    results.put((result.sent, result.retry, result.failed))


def _queue(database_url: str, count: int) -> None:
    from sqlalchemy import func, select

    from app import create_app
    from extensions import db
    from mailer.models import QUEUED, OutboxMessage

    app = create_app(_settings(database_url, "memory"))
    with app.app_context():
        db.create_all()
        foreign = db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == QUEUED, OutboxMessage.kind != BENCH_KIND)
        )
        if foreign:
            sys.exit(
                f"the outbox holds {foreign} queued messages of its own: use a scratch database"
            )
        db.session.execute(OutboxMessage.__table__.delete().where(OutboxMessage.kind == BENCH_KIND))
        text = "Hello,\n\nPlease confirm: http://newsroom.test/confirm/abc.def.ghi\n" * 4
        html = "<p>Hello,</p><p><a href='http://newsroom.test/confirm/abc.def.ghi'>Confirm</a></p>"
        rows = [
            {
                "kind": BENCH_KIND,
                "to_addr": f"reader{n}@example.com",
                "subject": "Confirm your subscription to Explaining Ukraine",
                "text_body": text,
                "html_body": html * 4,
                "headers": {
                    "List-Id": '"Explaining Ukraine" <explaining-ukraine.newsroom.test>',
                    "List-Unsubscribe": f"<http://newsroom.test/unsubscribe/token{n}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
                "message_id": make_msgid(domain="newsroom.test"),
            }
            for n in range(count)
        ]
        db.session.execute(OutboxMessage.__table__.insert(), rows)
        db.session.commit()
        db.engine.dispose()


def _smtp_ceiling(port: int, count: int) -> float:
    """What the sink takes from a bare smtplib loop: the ceiling for one worker."""
    import smtplib

    data = b"Subject: ceiling\r\nTo: reader@example.com\r\n\r\n" + b"Hello, reader.\r\n" * 60
    smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="bench")
    began = time.perf_counter()
    for _ in range(count):
        smtp.sendmail("newsletters@newsroom.test", ["reader@example.com"], data)
    elapsed = time.perf_counter() - began
    smtp.quit()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    from tests.conftest import free_port

    scratch = tempfile.TemporaryDirectory()
    database_url = args.database_url or f"sqlite:///{Path(scratch.name) / 'bench.db'}"
    port = free_port()
    smtp_url = f"smtp://127.0.0.1:{port}"
    context = multiprocessing.get_context("spawn")
    accepted, ready, start = context.Value("i", 0), context.Event(), context.Event()
    results = context.Queue()

    _queue(database_url, args.messages)
    sink = context.Process(target=_run_sink, args=(port, accepted, ready), daemon=True)
    sink.start()
    ready.wait(30)
    workers = [
        context.Process(
            target=_run_worker, args=(database_url, smtp_url, args.batch_size, start, results)
        )
        for _ in range(args.workers)
    ]
    for worker in workers:
        worker.start()
    time.sleep(2)  # let every worker import and connect before the clock starts
    began = time.perf_counter()
    start.set()
    outcomes = [results.get() for _ in workers]
    elapsed = time.perf_counter() - began
    for worker in workers:
        worker.join()
    delivered = accepted.value
    ceiling = _smtp_ceiling(port, args.messages)
    sink.terminate()

    sent = sum(outcome[0] for outcome in outcomes)
    database = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    print(
        f"{database}, {args.workers} worker(s), batch {args.batch_size}: "
        f"{sent} sent in {elapsed:.2f} s = {sent / elapsed:,.0f} messages/s "
        f"(sink accepted {delivered}; per worker sent/retry/failed {outcomes})\n"
        f"the same sink, one smtplib connection, no database, a prebuilt message: "
        f"{ceiling:,.0f} messages/s ({sent / elapsed / ceiling:.0%} of that)"
    )
    if delivered != args.messages or sent != args.messages:
        sys.exit("not every message was delivered exactly once")


if __name__ == "__main__":
    main()
