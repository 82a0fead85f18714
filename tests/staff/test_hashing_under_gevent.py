"""Argon2 in a gevent worker (README "Production"): a sign-in's ~0.1 s of hashing runs on one of
gevent's real threads, so the worker's other requests go on meanwhile."""

from __future__ import annotations

import threading

from staff.auth import off_the_event_loop
from tests.gevent_probe import run_beside_a_ticker


def test_checking_a_password_in_a_gevent_worker_holds_up_no_other_request():
    checked = run_beside_a_ticker(
        setup="""
from staff import auth

stored = auth._STRONG.hash("a long password for the test")
""",
        work="""
result["matched"] = [
    auth.off_the_event_loop(auth._STRONG.verify, stored, "a long password for the test")
    for _ in range(3)
]
""",
    )
    assert checked["matched"] == [True, True, True]
    # Each check took ~0.12 s here; run in the worker's own thread, the ticker waited that long
    # (a third of the three checks' time), on gevent's threads ~5 ms. Relative, as a busy
    # machine slows both.
    assert checked["longest_wait"] < checked["took"] / 6, checked


def test_a_wrong_password_in_a_gevent_worker_is_refused_without_a_traceback():
    checked = run_beside_a_ticker(
        setup="""
from staff import auth

stored = auth._FAST_FOR_TESTS.hash("the right password")
""",
        work="""
try:
    auth.off_the_event_loop(auth._FAST_FOR_TESTS.verify, stored, "a wrong password")
except Exception as error:
    result["raised"] = type(error).__name__
""",
    )
    assert checked["raised"] == "VerifyMismatchError"
    assert checked["stderr"] == ""


def test_beside_threads_the_work_runs_where_it_is_called():
    assert off_the_event_loop(threading.get_ident) == threading.get_ident()
