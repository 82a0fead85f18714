"""Prometheus metrics every package may count: one object per figure, defined here only.

A shared module: it imports no feature. Counters live in the process that counts them. Under
gunicorn, and in every `outbox work` process, PROMETHEUS_MULTIPROC_DIR names one directory
where each process keeps its own values in a small file; GET /metrics adds them all up
(operations/scrape.py), so every web worker and every mail worker counts. Without it (the
development server, tests) the values live in this process alone.
Figures read from the database (queue depth, members) are computed when /metrics is scraped.
"""

from __future__ import annotations

import os

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_DIR_VARIABLE) or None


# prometheus_client chooses where values live when it is imported: the directory must exist.
if multiprocess_dir():
    os.makedirs(multiprocess_dir(), exist_ok=True)

from prometheus_client import Counter, Histogram, disable_created_metrics  # noqa: E402

# Each series' creation time doubles the output and no alert reads it.
disable_created_metrics()

SIGNUPS = Counter(
    "newsletter_signups",
    "Signups accepted (form, embed or API), by where they came from.",
    ["source"],
)
CONFIRMATIONS = Counter(
    "newsletter_confirmations",
    "Subscriptions confirmed by a reader following the confirmation link.",
)
OUTBOX_DELIVERIES = Counter(
    "outbox_deliveries",
    "Messages the mail server accepted, counted by the outbox worker that handed them over.",
)
OUTBOX_FAILURES = Counter(
    "outbox_failures",
    "Messages not delivered: outcome=retry (tried again later) or failed (given up on).",
    ["outcome"],
)
WEBHOOK_EVENTS = Counter(
    "stripe_webhook_events",
    "Stripe webhook deliveries by event type and outcome "
    "(handled, ignored, duplicate, or invalid_signature with type unverified).",
    ["type", "outcome"],
)
RETENTION_PURGED = Counter(
    "retention_purged_rows",
    "Rows the retention purge removed: kind=unconfirmed_subscribers or consent_records "
    "(deleted), or mail (contents and recipient cleared).",
    ["kind"],
)
REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer a request, by Flask endpoint (never the raw path), method and status.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# Label values that stand for "none of ours": unrouted requests and unverified events.
UNMATCHED_ENDPOINT = "unmatched"
UNVERIFIED_EVENT = "unverified"
_MAX_EVENT_TYPE = 64


def count_webhook_event(event_type: object, outcome: str) -> None:
    """One webhook delivery; a type that is not a short string is counted as unverified."""
    label = event_type if isinstance(event_type, str) and event_type else UNVERIFIED_EVENT
    WEBHOOK_EVENTS.labels(type=label[:_MAX_EVENT_TYPE], outcome=outcome).inc()
