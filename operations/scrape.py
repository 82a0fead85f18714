"""GET /metrics: every process's counters added up, and figures read from the database now.

Counters and the latency histogram are counted where things happen (metrics.py). Under
gunicorn and in `outbox work`, PROMETHEUS_MULTIPROC_DIR holds one file per process; they are
summed here, so each web worker and each mail worker counts (the mail workers write to the same
directory: set the variable for them too). Without it, this process's own values are shown.

The queue, its oldest due message and the member count are read from the database at scrape
time, each query bounded (a capped count, an index lookup, a stored counter) and the whole
given SCRAPE_SECONDS at most: a database that hangs leaves them out and says so in
metrics_database_up 0, and the counters are still answered.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from flask import Flask, current_app
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text

import metrics
from database import is_postgresql, utcnow
from extensions import db
from mailer.models import QUEUED, OutboxMessage
from membership.goal import count_members
from operations.bounded import BoundedCall
from operations.readiness import first_line

log = logging.getLogger(__name__)

SCRAPE_SECONDS = 2.0
# Past this many queued messages the exact figure does not change what an operator does.
QUEUE_COUNT_CAP = 1_000_000


def authorised(authorization: str | None) -> bool:
    """`Authorization: Bearer <METRICS_TOKEN>`, compared in constant time; no token, no metrics."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token or not authorization:
        return False
    scheme, _, offered = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(offered.strip().encode(), token.encode())


@dataclass(frozen=True)
class DatabaseFigures:
    queued_messages: int
    oldest_due_seconds: float
    members: int


def read_database_figures() -> DatabaseFigures:
    now = utcnow()
    if is_postgresql():
        db.session.execute(text(f"SET LOCAL statement_timeout = {int(SCRAPE_SECONDS * 1000)}"))
    queued_rows = (
        select(OutboxMessage.id).where(OutboxMessage.status == QUEUED).limit(QUEUE_COUNT_CAP)
    )
    queued = db.session.execute(
        select(func.count()).select_from(queued_rows.subquery())
    ).scalar_one()
    # Due since when: a claimed message is leased into the future and so is not due; a message
    # waiting for its retry is not due yet. Only mail that should be going out and is not counts.
    oldest_due = db.session.execute(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == QUEUED, OutboxMessage.next_attempt_at <= now
        )
    ).scalar_one()
    waited = max((now - oldest_due).total_seconds(), 0.0) if oldest_due is not None else 0.0
    return DatabaseFigures(queued, waited, count_members())


class _DatabaseGauges(Collector):
    def __init__(self, figures: DatabaseFigures | None) -> None:
        self.figures = figures

    def collect(self):
        up = GaugeMetricFamily(
            "metrics_database_up", "1 when the figures below could be read from the database."
        )
        up.add_metric([], 0 if self.figures is None else 1)
        yield up
        if self.figures is None:
            return
        yield GaugeMetricFamily(
            "outbox_queued_messages",
            "Messages waiting in the outbox: due now, claimed by a worker, or waiting to retry.",
            value=self.figures.queued_messages,
        )
        yield GaugeMetricFamily(
            "outbox_oldest_queued_seconds",
            "How long the message that has been due the longest has waited (0: none waits).",
            value=self.figures.oldest_due_seconds,
        )
        yield GaugeMetricFamily(
            "membership_members",
            "Members now, as /api/goal counts them.",
            value=self.figures.members,
        )


class _ThisProcess(Collector):
    def collect(self):
        yield from REGISTRY.collect()


def _figures_reader(app: Flask) -> BoundedCall[DatabaseFigures]:
    reader = app.extensions.get("operations.scrape")
    if reader is None:

        def read() -> DatabaseFigures:
            with app.app_context():
                try:
                    return read_database_figures()
                finally:
                    db.session.remove()

        reader = app.extensions.setdefault(
            "operations.scrape", BoundedCall("metrics-database", read)
        )
    return reader


def exposition(multiprocess_dir: str | None = None) -> bytes:
    """The Prometheus text format: the counters of every process, then the database's figures."""
    registry = CollectorRegistry()
    directory = multiprocess_dir or metrics.multiprocess_dir()
    if directory:
        MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_ThisProcess())
    app = current_app._get_current_object()
    try:
        figures = _figures_reader(app).call(SCRAPE_SECONDS)
    except Exception as error:  # the counters are still worth answering with
        log.warning("metrics: database figures left out: %s", first_line(error))
        figures = None
    registry.register(_DatabaseGauges(figures))
    return generate_latest(registry)
