"""CPU time per request of three busy routes, measured in one process by calling the app's WSGI
callable directly (no gunicorn, no wrk: the machine's noise weighs less on process time).

    POST /api/subscriptions   a new address each time
    GET  /api/goal            the public counter
    POST /stripe/webhook      signed events of new members (bench/webhook_events.py's mix)

Usage (the database migrated, with the demo lists and the bench tier, as bench/run.py makes it):
  DATABASE_URL=postgresql+psycopg://…  REDIS_URL=redis://127.0.0.1:6379/13 \
      .venv/bin/python bench/request_chain_cpu.py [--requests 2000] [--rounds 3] [--profile goal]

Compare a branch with main by running this script in each checkout; the figures are medians
of interleaved rounds.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WEBHOOK_SECRET = "whsec_test_secret"  # tests/stripe_helpers.py signs with it


def environ(method: str, path: str, body: bytes = b"", **headers: str) -> dict:
    wsgi = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "bench",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if body:
        wsgi["CONTENT_TYPE"] = "application/json"
        wsgi["CONTENT_LENGTH"] = str(len(body))
    wsgi.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    return wsgi


def signup_environs(count: int, prefix: str) -> list[dict]:
    return [
        environ(
            "POST",
            "/api/subscriptions",
            json.dumps({"email": f"chain{prefix}-{n}@example.com"}).encode(),
        )
        for n in range(count)
    ]


def goal_environs(count: int, prefix: str) -> list[dict]:
    return [environ("GET", "/api/goal") for _ in range(count)]


def webhook_environs(count: int, prefix: str) -> list[dict]:
    from bench.webhook_events import reader_events
    from tests.stripe_helpers import signed

    # Eight digits: events' `created` must stay below the year 9999 (event_shapes.py), or
    # every event is answered as malformed and the figure measures nothing.
    start = int(prefix[-8:]) * 1000 + os.getpid() % 1000
    events = []
    reader = 0
    while len(events) < count:
        events.extend(reader_events(reader, "price_bench_member", "member", start)[0])
        reader += 1
    environs = []
    for event in events[:count]:
        body, signature = signed(event, secret=WEBHOOK_SECRET)
        environs.append(
            environ("POST", "/stripe/webhook", body.encode(), stripe_signature=signature)
        )
    return environs


ROUTES = {
    "signup": signup_environs,
    "goal": goal_environs,
    "webhook": webhook_environs,
}


def run(app, route: str, requests: int, profile: bool) -> float:
    prefix = f"{route}{int(time.time() * 1000) % 10**9:09d}"
    statuses: dict[str, int] = {}

    def start_response(status, headers, exc_info=None):
        statuses[status] = statuses.get(status, 0) + 1

    def call(wsgi: dict) -> None:
        result = app(wsgi, start_response)
        for _ in result:
            pass
        if hasattr(result, "close"):
            result.close()

    for wsgi in ROUTES[route](100, "w" + prefix):  # warm up: pools, caches, scripts
        call(wsgi)
    prepared = ROUTES[route](requests, prefix)
    statuses.clear()
    profiler = cProfile.Profile(time.process_time) if profile else None
    if profiler:
        profiler.enable()
    started = time.process_time()
    for wsgi in prepared:
        call(wsgi)
    cpu = (time.process_time() - started) / requests
    if profiler:
        profiler.disable()
        lines = int(os.environ.get("PROFILE_LINES", "60"))
        order = os.environ.get("PROFILE_SORT", "tottime")
        pstats.Stats(profiler).sort_stats(order).print_stats(lines)
    print(f"  {route}: {cpu * 1e6:.0f} µs CPU a request over {requests} ({statuses})")
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument("--profile", choices=list(ROUTES))
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.collect() and gc.freeze() once the app is built, as gunicorn.conf.py's "
        "post_worker_init does in each worker",
    )
    parser.add_argument(
        "--gc-threshold", type=int, help="the collector's generation-0 threshold (700 by default)"
    )
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("APP_ENV", "production")
    os.environ.setdefault("EMAIL_CHECK_DELIVERABILITY", "false")
    os.environ.setdefault("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    os.environ.setdefault("RATELIMIT_SIGNUP", "10000000/minute")
    os.environ.setdefault("RATELIMIT_SIGNUP_EMAIL", "10000000/minute")
    from app import create_app
    from logs import configure_logging

    app = create_app()
    # The log lines are formatted and scrubbed as in production, then dropped, not printed.
    configure_logging(app.config["LOG_LEVEL"], stream=io.StringIO())
    if args.gc_threshold:
        gc.set_threshold(args.gc_threshold, *gc.get_threshold()[1:])
    if args.gc_freeze:
        gc.collect()
        gc.freeze()
    routes = args.routes.split(",")
    results: dict[str, list[float]] = {route: [] for route in routes}
    for number in range(args.rounds):  # interleaved: the machine's load weighs on all alike
        print(f"round {number + 1}")
        for route in routes:
            results[route].append(run(app, route, args.requests, args.profile == route))
    for route, values in results.items():
        print(f"{route}: median {statistics.median(values) * 1e6:.0f} µs CPU a request")


if __name__ == "__main__":
    main()
