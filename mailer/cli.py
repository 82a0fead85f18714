"""`flask outbox …`: deliver queued mail and look at the queue."""

from __future__ import annotations

import signal
import threading
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from extensions import db
from mailer import outbox_queue
from mailer import worker as outbox_worker
from mailer.daily_jobs import run_due_daily_jobs
from mailer.recorder import DatabaseUnavailable
from mailer.smtp_url import SmtpUrlError, describe_smtp_url

outbox_cli = AppGroup("outbox", help="Deliver queued mail.")


def _report(line: str) -> None:
    click.echo(f"{datetime.now():%H:%M:%S} outbox: {line}")


@outbox_cli.command("work")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 1000),
    default=outbox_worker.DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Rows claimed per database round trip.",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(0.05, 60),
    default=1.0,
    show_default=True,
    help="Seconds between looks at the queue when it is empty.",
)
def work_command(once: bool, batch_size: int, poll_interval: float) -> None:
    """Deliver queued mail through SMTP_URL; without --once, keep going until stopped.

    Exits 0 when messages failed and wait for a retry; non-zero only when it cannot run at all
    (SMTP_URL not understood, no database or no outbox table).
    """
    stop = threading.Event()
    try:
        worker = outbox_worker.configured_worker(batch_size=batch_size, should_stop=stop.is_set)
    except SmtpUrlError as error:
        raise click.ClickException(str(error)) from None
    _check_database()
    if once:
        _work_once(worker)
        return
    smtp_url = current_app.config["SMTP_URL"]
    _report(f"delivering through {describe_smtp_url(smtp_url)}; Ctrl-C stops")
    restore = _stop_on_signals(stop)
    try:
        outbox_worker.run_forever(worker, stop=stop, report=_report, poll_interval=poll_interval)
    finally:
        restore()
    _report("stopped")


def _work_once(worker: outbox_worker.OutboxWorker) -> None:
    try:
        run_due_daily_jobs(_report)
        result = worker.run_pass()
    except (SQLAlchemyError, DatabaseUnavailable) as error:
        raise click.ClickException(f"database error: {outbox_worker.first_line(error)}") from None
    if not result.did_work():
        _report("nothing due")
        return
    _report(result.summary())
    for problem in result.problems:
        _report(f"  {problem}")
    if result.server_unavailable:
        _report(f"SMTP server unavailable: {result.server_unavailable}")


@outbox_cli.command("status")
def status_command() -> None:
    """Count messages by status."""
    _check_database()
    counts = outbox_queue.count_by_status()
    due = outbox_queue.count_due()
    line = f"queued {counts['queued']} ({due} due now), sent {counts['sent']}"
    line += f", failed {counts['failed']}"
    # Campaign statuses only when there are any: transactional mail never has them.
    for status in ("suppressed", "held", "cancelled"):
        if counts.get(status):
            line += f", {status} {counts[status]}"
    click.echo(line)


@outbox_cli.command("requeue")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-failed", is_flag=True, help="Requeue every failed message.")
def requeue_command(ids: tuple[int, ...], all_failed: bool) -> None:
    """Give failed messages (by id, or all of them) a fresh set of attempts."""
    if not ids and not all_failed:
        raise click.UsageError("name message ids or pass --all-failed")
    _check_database()
    count = outbox_queue.requeue(None if all_failed else ids)
    click.echo(f"requeued {count}")


def _check_database() -> None:
    try:
        outbox_queue.count_due()
    except SQLAlchemyError as error:
        raise click.ClickException(
            f"cannot read the outbox ({outbox_worker.first_line(error)}); is DATABASE_URL right, "
            "and has `flask db upgrade` run?"
        ) from None
    finally:
        db.session.remove()  # no transaction left open while the worker loops


def _stop_on_signals(stop: threading.Event):
    """SIGINT/SIGTERM finish the message in hand and stop; a second SIGINT stops at once."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def request_stop(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
