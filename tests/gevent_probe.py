"""Work run as in a gevent worker (README "Production"): in a process patched as gunicorn's
gevent worker patches its own, beside a ticker greenlet that wants to run every 5 ms. How long
the ticker waited at most is how long the work would hold up the worker's other requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_BESIDE_A_TICKER = """
from gevent import monkey

monkey.patch_all()
import json, sys, time

import gevent

gaps, working = [], True


def tick():
    last = time.perf_counter()
    while working:
        gevent.sleep(0.005)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now


result = {}
namespace = {"result": result}
exec(sys.argv[1], namespace)
ticker = gevent.spawn(tick)
gevent.sleep(0.02)
started = time.perf_counter()
exec(sys.argv[2], namespace)
result["took"] = time.perf_counter() - started
working = False
ticker.join()
result["longest_wait"] = max(gaps)
json.dump(result, sys.stdout)
"""


def run_beside_a_ticker(work: str, setup: str = "") -> dict:
    """`work`, Python source run once gevent has patched the process and `setup` has run in the
    same namespace (before the ticker starts), fills the dict `result`; returned with `took`
    (the work's seconds), `longest_wait` (the ticker's longest, seconds) and `stderr` (what the
    process wrote there)."""
    finished = subprocess.run(
        [sys.executable, "-c", _BESIDE_A_TICKER, setup, work],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(finished.stdout) | {"stderr": finished.stderr}
