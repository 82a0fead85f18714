"""Where a signup's CPU goes under load: µs a request in the web workers, PostgreSQL and Redis.

Starts the raw signup write and the service side by side (as bench/run.py does), sends each
wrk's signup load in interleaved rounds, and reads every process's CPU time from /proc before
and after each round. The raw write's workers and ours are told apart by their ports; wrk's
own CPU is not counted (it has exited by the second reading). Usage:

  .venv/bin/python bench/cpu_per_process.py [--rounds 3] [--seconds 8] [--production]
      [--quiet-log] [--against DIR]

--production adds both apps in the README's production configuration (2 gevent workers × 64
connections, pool 16);
--quiet-log adds the service with LOG_LEVEL=warning (no request log line), to price the line;
--against DIR adds the service as another checkout has it (`git worktree add DIR COMMIT`, with
a .venv there), 2 × 8, to measure a change beside what it changes in the same rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (  # noqa: E402 (bench/ added above)
    PSQL,
    ROOT,
    app_environment,
    prepare_database,
    production_label,
    start_server,
    stop_server,
    worker_settings,
    wrk,
)

TICKS = os.sysconf("SC_CLK_TCK")
PRODUCTION_SETTINGS = (2, 64, 16)
PRODUCTION = worker_settings(*PRODUCTION_SETTINGS)


def cpu_seconds_by_process() -> dict[int, tuple[str, float]]:
    """Every process's command line and user + system CPU seconds so far."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # ended between the listing and the reading
        fields = stat.rpartition(")")[2].split()
        found[int(pid)] = (command, (int(fields[11]) + int(fields[12])) / TICKS)
    return found


def group_of(command: str, names_by_port: dict[int, str]) -> str | None:
    if "postgres" in command:
        return "postgres"
    if "redis-server" in command:
        return "redis"
    for port, name in names_by_port.items():
        if f"127.0.0.1:{port} " in command:
            return name
    return None


def measure(port: int, seconds: int, names_by_port: dict[int, str]) -> tuple[float, dict]:
    """Signups a second, and CPU µs a signup per process group."""
    before = cpu_seconds_by_process()
    rate, _ = wrk(f"http://127.0.0.1:{port}/", seconds, "signup.lua")
    spent: dict[str, float] = {}
    for pid, (command, cpu) in cpu_seconds_by_process().items():
        group = group_of(command, names_by_port)
        if group is not None:
            spent[group] = spent.get(group, 0.0) + cpu - before.get(pid, (command, 0.0))[1]
    signups = rate * seconds
    return rate, {group: 1e6 * cpu / signups for group, cpu in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--production", action="store_true")
    parser.add_argument("--quiet-log", action="store_true")
    parser.add_argument("--against", type=Path)
    args = parser.parse_args()

    database = f"bench_cpu_{os.getpid()}"
    env = app_environment(f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}")
    # (name, app, port, settings over env)
    apps = [
        ("raw 2 × 8", "bench.raw_signup_app:app", 8203, {}),
        ("ours 2 × 8", "app:create_app()", 8202, {}),
    ]
    roots = {}  # another checkout's server, by port
    if args.against:
        apps.append((f"{args.against.name} 2 × 8", "app:create_app()", 8207, {}))
        roots[8207] = args.against.resolve()
    if args.production:
        label = production_label(*PRODUCTION_SETTINGS)
        apps.append((f"raw, {label}", "bench.raw_signup_app:app", 8205, PRODUCTION))
        apps.append((f"ours, {label}", "app:create_app()", 8204, PRODUCTION))
    if args.quiet_log:
        quiet = {"LOG_LEVEL": "warning"}
        apps.append(("ours 2 × 8, no request log line", "app:create_app()", 8206, quiet))
    names_by_port = {port: name for name, _, port, _ in apps}

    subprocess.run(PSQL + ["-c", f"CREATE DATABASE {database}"], check=True)
    servers = []
    try:
        prepare_database(env)
        for _, spec, port, settings in apps:
            root = roots.get(port, ROOT)
            servers.append(start_server(spec, port, {**env, **settings}, root))
        rates: dict[str, list[float]] = {name: [] for name, *_ in apps}
        for number in range(args.rounds):
            for name, _, port, _ in apps:
                rate, per_signup = measure(port, args.seconds, names_by_port)
                rates[name].append(rate)
                shown = ", ".join(
                    f"{group} {cpu:,.0f}"
                    for group, cpu in sorted(per_signup.items())
                    if group in (name, "postgres", "redis")
                )
                print(f"round {number + 1}: {name}: {rate:,.0f}/s; CPU µs a signup: {shown}")
        for name, values in rates.items():
            print(f"{name}: median {statistics.median(values):,.0f} signups/s")
    finally:
        for server in servers:
            stop_server(server)
        subprocess.run(PSQL + ["-c", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"])


if __name__ == "__main__":
    main()
