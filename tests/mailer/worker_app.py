"""The app as `flask outbox work` builds it, plus what tests need in a worker process of its own.

    flask --app tests.mailer.worker_app outbox work

Registers the tests' note renderer (tests/mailer/note_renderer.py) and, when DAILY_JOB_FILE is set,
a daily job that appends a line to that file each time it runs.
"""

from __future__ import annotations

import os
from pathlib import Path

from app import create_app
from mailer.daily_jobs import register_daily_job
from mailer.rendering import register_renderer
from tests.mailer.note_renderer import NOTE, render_note


def _append_a_line() -> None:
    with Path(os.environ["DAILY_JOB_FILE"]).open("a") as record:
        record.write(f"ran in {os.getpid()}\n")


app = create_app()
register_renderer(NOTE, render_note)
if os.environ.get("DAILY_JOB_FILE"):
    register_daily_job("test-append-a-line", _append_a_line)
