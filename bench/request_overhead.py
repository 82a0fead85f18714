"""What the per-request operations work costs: the JSON request line (formatted, scrubbed) and
the latency histogram, measured in-process on GET /healthz with and without them, interleaved.

    .venv/bin/python bench/request_overhead.py

Prints microseconds per request for both and their difference, and the scrubbing filter's cost
for one request line. Medians of interleaved rounds; compare the difference, not the totals.
"""

from __future__ import annotations

import io
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from logs import ScrubSecrets, configure_logging  # noqa: E402
from operations import requests as request_log  # noqa: E402

ROUNDS = 8
REQUESTS = 2000


def main() -> None:
    database = Path(tempfile.mkdtemp()) / "bench.db"
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
    configure_logging("INFO", stream=io.StringIO())
    client = app.test_client()
    before = app.before_request_funcs[None]
    after = app.after_request_funcs[None]
    ours = {request_log._start, request_log._finish}
    timings: dict[bool, list[float]] = {True: [], False: []}
    for round_number in range(ROUNDS):
        logged = round_number % 2 == 0
        app.before_request_funcs[None] = [f for f in before if logged or f not in ours]
        app.after_request_funcs[None] = [f for f in after if logged or f not in ours]
        for _ in range(200):
            client.get("/healthz")
        started = time.perf_counter()
        for _ in range(REQUESTS):
            client.get("/healthz")
        timings[logged].append((time.perf_counter() - started) / REQUESTS * 1e6)
    with_log, without = statistics.median(timings[True]), statistics.median(timings[False])
    print(
        f"GET /healthz: {with_log:.0f} µs with the request line and histogram, "
        f"{without:.0f} µs without: {with_log - without:.0f} µs a request"
    )

    line = logging.LogRecord(
        "request",
        logging.INFO,
        __file__,
        1,
        "%s %s %s %.1f ms",
        ("GET", "/confirm/<token>", 200, 1.2),
        None,
    )
    line.__dict__.update(
        method="GET",
        path="/confirm/<token>",
        endpoint="newsletters.confirm",
        status=200,
        duration_ms=1.2,
        request_id="0" * 32,
    )
    scrub = ScrubSecrets()
    started = time.perf_counter()
    for _ in range(20_000):
        scrub.filter(logging.makeLogRecord(line.__dict__))
    print(f"scrubbing one request line: {(time.perf_counter() - started) / 20_000 * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
