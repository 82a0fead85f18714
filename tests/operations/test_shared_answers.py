"""The kept answers' own headers: the Date a fresh answer would carry."""

from __future__ import annotations

import time
from email.utils import formatdate, parsedate_to_datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from operations.shared_answers import http_date


@settings(max_examples=2000, deadline=None)
@given(st.floats(0, 4e9))
@example(1764568282.9999995)  # formatdate rounds it up into the next second
@example(1764568282.9999994)
@example(1764568283.0)
def test_the_date_header_is_the_text_formatdate_makes(timestamp):
    assert http_date(timestamp) == formatdate(timestamp, usegmt=True)


def test_a_kept_answer_is_dated_when_it_is_handed_out(make_app):
    client = make_app(GOAL_CACHE_SECONDS=60).test_client()
    client.get("/api/goal")  # the app's own answer, kept

    before = int(time.time())
    kept = client.get("/api/goal")
    after = time.time()

    shown = parsedate_to_datetime(kept.headers["Date"]).timestamp()
    assert before <= shown <= after + 1
    assert kept.headers["Date"] == formatdate(shown, usegmt=True)
