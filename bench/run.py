"""Benchmarks as ratios against a bare Flask endpoint measured in the same run.

Usage: make bench  (or .venv/bin/python bench/run.py [--seconds 10] [--members 1000000])
Needs PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379 and wrk (make bench installs it).
Writes bench/results.md. Medians of three interleaved runs (the ratios hold on a shared machine).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
PSQL = ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres"]


def wrk(url: str, seconds: int, script: str | None = None) -> tuple[float, float]:
    command = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(ROOT / "bench" / script)]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        print(f"  warning: {non_2xx.group(1)} non-2xx answers from {url}", file=sys.stderr)
    return rate, float(p99.group(1)) * scale


LOGS = Path(tempfile.gettempdir()) / f"bench-logs-{os.getpid()}"


def start_server(app_spec: str, port: int, env: dict, root: Path = ROOT) -> subprocess.Popen:
    """app_spec served by `root`'s gunicorn and gunicorn.conf.py (another checkout: its code)."""
    # The app logs a JSON line per request: a pipe nobody reads would fill and stop the workers.
    LOGS.mkdir(exist_ok=True)
    log_path = LOGS / f"{port}.log"
    command = [
        str(root / ".venv" / "bin" / "gunicorn"),
        "--no-control-socket",
        "-c",
        str(root / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        app_spec,
    ]
    process = subprocess.Popen(
        command,
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("wb"),
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{app_spec} did not start: {log_path.read_text()[-2000:]}")


def stop_server(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=40)  # gunicorn.conf.py: graceful_timeout = 30


def seed_members(database: str, members: int) -> None:
    sql = f"""
    INSERT INTO member_subscriptions (stripe_subscription_id, customer_id, email, tier_id, status,
        status_event_created, deleted, created_at, updated_at)
    SELECT 'sub_bench_' || n, 'cus_bench_' || n, 'm' || n || '@example.com',
        (SELECT min(id) FROM tiers), CASE WHEN n % 10 = 0 THEN 'canceled' ELSE 'active' END,
        0, false, now(), now()
    FROM generate_series(1, {members}) AS n;
    ANALYZE;
    """
    subprocess.run(PSQL + ["-d", database, "-c", sql], check=True)


BENCH_PRICE, BENCH_TIER = "price_bench_member", "member"


def app_environment(database_url: str) -> dict[str, str]:
    """The settings every benchmarked server runs with."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "SECRET_KEY": "bench",
        "APP_ENV": "production",
        "EMAIL_CHECK_DELIVERABILITY": "false",
        "STRIPE_WEBHOOK_SECRET": "whsec_test_secret",  # tests/stripe_helpers.py signs with it
        # 2 gthread workers × 8 threads: the raw write's configuration, whatever the
        # environment this runs in says (gunicorn.conf.py's default is gevent's).
        "GUNICORN_WORKER_CLASS": "gthread",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "8",
        # The limits guard against abuse; here one client is the whole load, so lift them.
        "RATELIMIT_SIGNUP": "10000000/minute",
        "RATELIMIT_SIGNUP_EMAIL": "10000000/minute",
    }


def worker_settings(workers: int, connections: int, pool: int) -> dict[str, str]:
    """README's production configuration: gevent workers, each serving `connections` client
    connections at once on `pool` database connections."""
    return {
        "GUNICORN_WORKER_CLASS": "gevent",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_WORKER_CONNECTIONS": str(connections),
        "DB_POOL_SIZE": str(pool),
    }


def production_label(workers: int, connections: int, pool: int) -> str:
    return f"{workers} gevent workers × {connections} connections, pool {pool}"


def prepare_database(env: dict[str, str]) -> None:
    """The schema, the demo lists and the tier the webhook's events name."""
    flask = [str(BIN / "flask"), "--app", "app"]
    tier = ["tiers", "add", BENCH_TIER, "--name", "Member", "--amount", "1000"]
    tier += ["--currency", "usd", "--interval", "month", "--stripe-price", BENCH_PRICE]
    for command in (["db", "upgrade"], ["demo"], tier):
        subprocess.run(flask + command, cwd=ROOT, env=env, check=True, capture_output=True)


SIGNUP = "POST /api/subscriptions (new address each time)"
RAW = "raw signup write (psycopg, no ORM, no rules)"
BARE = "bare Flask JSON endpoint"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--members", type=int, default=1_000_000)
    # Five: on a shared machine one round in three can swing by a quarter (bench/results.md).
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--webhook-readers", type=int, default=2000)
    # The production configuration README.md documents, measured beside gthread 2 × 8.
    parser.add_argument("--prod-workers", type=int, default=2)
    parser.add_argument("--prod-connections", type=int, default=64)
    parser.add_argument("--prod-pool", type=int, default=16)
    args = parser.parse_args()

    database = f"bench_{os.getpid()}"
    database_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
    subprocess.run(PSQL + ["-c", f"CREATE DATABASE {database}"], check=True)
    env = app_environment(database_url)
    production_settings = (args.prod_workers, args.prod_connections, args.prod_pool)
    production = {**env, **worker_settings(*production_settings)}
    production_config = f"production config ({production_label(*production_settings)})"
    prod_name = f"POST /api/subscriptions, {production_config}"
    raw_prod_name = f"{RAW}, {production_config}"
    goal_name = f"GET /api/goal ({args.members:,} member rows)"
    bare_prod_name = f"{BARE}, {production_config}"
    goal_prod_name = f"{goal_name}, {production_config}"
    servers = []
    webhooks: dict[str, dict] = {}
    try:
        prepare_database(env)
        seed_members(database, args.members)
        bare = start_server("bench.bare_app:app", 8101, env)
        raw = start_server("bench.raw_signup_app:app", 8103, env)
        ours = start_server("app:create_app()", 8102, env)
        ours_production = start_server("app:create_app()", 8104, production)
        # The raw write in the production configuration too: point 1 compares the two in the
        # same configuration, whichever it is.
        raw_production = start_server("bench.raw_signup_app:app", 8105, production)
        bare_production = start_server("bench.bare_app:app", 8106, production)
        servers = [bare, raw, ours, ours_production, raw_production, bare_production]
        scenarios = {
            BARE: ("http://127.0.0.1:8101/", None),
            RAW: ("http://127.0.0.1:8103/", "signup.lua"),
            SIGNUP: ("http://127.0.0.1:8102/", "signup.lua"),
            raw_prod_name: ("http://127.0.0.1:8105/", "signup.lua"),
            prod_name: ("http://127.0.0.1:8104/", "signup.lua"),
            goal_name: ("http://127.0.0.1:8102/api/goal", None),
            bare_prod_name: ("http://127.0.0.1:8106/", None),
            goal_prod_name: ("http://127.0.0.1:8104/api/goal", None),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in scenarios}
        for round_number in range(args.rounds):
            for name, (url, script) in scenarios.items():
                results[name].append(wrk(url, args.seconds, script))
                print(f"round {round_number + 1}: {name}: {results[name][-1]}", flush=True)
        # Its 32 connections back before the webhook's load: with the others' pools, PostgreSQL's
        # max_connections (100) would be within reach.
        stop_server(raw_production)
        servers.remove(raw_production)
        sys.path.insert(0, str(ROOT / "bench"))
        from webhook_events import run as run_webhook

        # Both configurations, each with readers of its own; the production one first, since
        # the machine's own figures drift down over a run (bench/results.md).
        for label, port in (("production config", 8104), ("gthread 2 × 8", 8102)):
            webhooks[label] = run_webhook(
                f"http://127.0.0.1:{port}",
                database_url,
                readers=args.webhook_readers,
                connections=16,
                price=BENCH_PRICE,
                tier=BENCH_TIER,
            )
            print(f"webhook ({label}): {webhooks[label]}", flush=True)
    finally:
        for process in servers:
            stop_server(process)
        subprocess.run(PSQL + ["-c", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"])

    medians = {
        name: (statistics.median(r for r, _ in runs), statistics.median(p for _, p in runs))
        for name, runs in results.items()
    }
    baseline = medians[BARE][0]
    raw_rate = medians[RAW][0]
    lines = [
        "| scenario | req/s | p99 ms | × bare | × raw write |",
        "|---|---|---|---|---|",
    ]
    for name, (rate, p99) in medians.items():
        lines.append(
            f"| {name} | {rate:,.0f} | {p99:.0f} | {rate / baseline:.2f} | {rate / raw_rate:.2f} |"
        )
    for label, webhook in webhooks.items():
        lines.append(
            f"| Stripe webhook ({label}): {webhook['events']:,} signed events (duplicates "
            f"included), 16 connections | {webhook['rate']:,.0f} events/s | | | |"
        )
    lines.append("")
    lines.append(f"Signups reach {medians[SIGNUP][0] / raw_rate:.2f}× the raw signup write.")
    production_rate = medians[prod_name][0]
    lines.append(
        f"In the production configuration: {production_rate / raw_rate:.2f}× the raw write in "
        f"gthread 2 × 8, {production_rate / medians[raw_prod_name][0]:.2f}× the raw write in the "
        f"production configuration, {production_rate / medians[SIGNUP][0]:.2f}× the signups of "
        "gthread 2 × 8."
    )
    goal_rate = medians[goal_name][0]
    lines.append(
        f"GET /api/goal reaches {goal_rate / baseline:.2f}× the bare endpoint; in the production "
        f"configuration {medians[goal_prod_name][0] / medians[bare_prod_name][0]:.2f}× the bare "
        "endpoint in the production configuration."
    )
    for label, webhook in webhooks.items():
        verdict = "right" if webhook["right"] else "WRONG"
        lines.append(
            f"Webhook ({label}): answers {webhook['statuses']}; the public count at the end "
            f"{webhook['shown']:,}, counted exactly {webhook['exactly']:,}, expected "
            f"{webhook['expected']:,} ({webhook['before']:,} before): {verdict}."
        )
    table = "\n".join(lines)
    print(table)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0]
    header = (
        f"# Benchmark results\n\nRun {stamp}: wrk -t2 -c32 -d{args.seconds}s, gunicorn "
        f"gthread, 2 workers × 8 threads, unless named; PostgreSQL, Redis "
        f"rate limits; medians of {args.rounds} interleaved rounds. Load average at the end "
        f"{load:.1f} (2 cores).\n\n"
    )
    section = "<!-- make bench: begin -->\n" + header + table + "\n<!-- make bench: end -->\n"
    results_file = ROOT / "bench" / "results.md"
    previous = results_file.read_text() if results_file.exists() else ""
    if "<!-- make bench: begin -->" in previous:
        before, _, rest = previous.partition("<!-- make bench: begin -->")
        _, _, after = rest.partition("<!-- make bench: end -->\n")
        results_file.write_text(before + section + after)
    else:
        results_file.write_text(section + previous)


if __name__ == "__main__":
    main()
