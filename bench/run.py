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


def start_server(app_spec: str, port: int, env: dict) -> subprocess.Popen:
    command = [
        str(BIN / "gunicorn"),
        "--no-control-socket",
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        app_spec,
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{app_spec} did not start: {process.stderr.read1().decode()}")


def stop_server(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=10)


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    database = f"bench_{os.getpid()}"
    subprocess.run(PSQL + ["-c", f"CREATE DATABASE {database}"], check=True)
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "SECRET_KEY": "bench",
        "APP_ENV": "production",
        "EMAIL_CHECK_DELIVERABILITY": "false",
        # The limits guard against abuse; here one client is the whole load, so lift them.
        "RATELIMIT_SIGNUP": "10000000/minute",
        "RATELIMIT_SIGNUP_EMAIL": "10000000/minute",
    }
    servers = []
    try:
        flask = [str(BIN / "flask"), "--app", "app"]
        subprocess.run(
            flask + ["db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        subprocess.run(flask + ["demo"], cwd=ROOT, env=env, check=True, capture_output=True)
        seed_members(database, args.members)
        bare = start_server("bench.bare_app:app", 8101, env)
        raw = start_server("bench.raw_signup_app:app", 8103, env)
        ours = start_server("app:create_app()", 8102, env)
        servers = [bare, raw, ours]
        scenarios = {
            "bare Flask JSON endpoint": ("http://127.0.0.1:8101/", None),
            "raw signup write (psycopg, no ORM, no rules)": (
                "http://127.0.0.1:8103/",
                "signup.lua",
            ),
            "POST /api/subscriptions (new address each time)": (
                "http://127.0.0.1:8102/",
                "signup.lua",
            ),
            f"GET /api/goal ({args.members:,} member rows)": (
                "http://127.0.0.1:8102/api/goal",
                None,
            ),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in scenarios}
        for round_number in range(args.rounds):
            for name, (url, script) in scenarios.items():
                results[name].append(wrk(url, args.seconds, script))
                print(f"round {round_number + 1}: {name}: {results[name][-1]}", flush=True)
    finally:
        for process in servers:
            stop_server(process)
        subprocess.run(PSQL + ["-c", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"])

    medians = {
        name: (statistics.median(r for r, _ in runs), statistics.median(p for _, p in runs))
        for name, runs in results.items()
    }
    baseline = medians["bare Flask JSON endpoint"][0]
    lines = [
        "| scenario | req/s | p99 ms | × bare |",
        "|---|---|---|---|",
    ]
    for name, (rate, p99) in medians.items():
        lines.append(f"| {name} | {rate:,.0f} | {p99:.0f} | {rate / baseline:.2f} |")
    raw_rate = medians["raw signup write (psycopg, no ORM, no rules)"][0]
    ours_rate = medians["POST /api/subscriptions (new address each time)"][0]
    lines.append("")
    lines.append(f"Signups reach {ours_rate / raw_rate:.2f}× the raw signup write.")
    table = "\n".join(lines)
    print(table)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    header = (
        f"# Benchmark results\n\nRun {stamp}: wrk -t2 -c32 -d{args.seconds}s, gunicorn "
        f"gthread (gunicorn.conf.py), PostgreSQL, Redis rate limits; medians of "
        f"{args.rounds} interleaved rounds.\n\n"
    )
    (ROOT / "bench" / "results.md").write_text(header + table + "\n")


if __name__ == "__main__":
    main()
