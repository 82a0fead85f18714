"""Argon2 in a gevent worker (README "Production"): a sign-in's ~0.1 s of hashing runs on one of
gevent's real threads, so the worker's other requests go on meanwhile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A ticker greenlet that wants to run every 5 ms, beside three checks of a password with the
# production hasher, in a process patched as gunicorn's gevent worker patches its own.
_CHECK_BESIDE_A_TICKER = """
from gevent import monkey

monkey.patch_all()
import json, sys, time

import gevent

from staff import auth

stored = auth._STRONG.hash("a long password for the test")
gaps, checking = [], True


def tick():
    last = time.perf_counter()
    while checking:
        gevent.sleep(0.005)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now


ticker = gevent.spawn(tick)
gevent.sleep(0.02)
started = time.perf_counter()
matched = [
    auth.off_the_event_loop(auth._STRONG.verify, stored, "a long password for the test")
    for _ in range(3)
]
took = time.perf_counter() - started
checking = False
ticker.join()
json.dump({"matched": matched, "took": took, "longest_gap": max(gaps)}, sys.stdout)
"""


def test_checking_a_password_in_a_gevent_worker_holds_up_no_other_request():
    result = subprocess.run(
        [sys.executable, "-c", _CHECK_BESIDE_A_TICKER],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    checked = json.loads(result.stdout)
    assert checked["matched"] == [True, True, True]
    # Each check took ~0.12 s here; run in the worker's own thread, the ticker waited that long.
    assert checked["longest_gap"] < min(0.06, checked["took"] / 6), checked


def test_beside_threads_the_work_runs_where_it_is_called():
    import threading

    from staff.auth import off_the_event_loop

    assert off_the_event_loop(threading.get_ident) == threading.get_ident()
