"""gunicorn.conf.py's worker start-up: the app's long-lived objects are frozen out of the
cyclic garbage collector's scans once the worker has built it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# In a process of its own: gc.freeze() here would keep every test's garbage for good.
_WORKER_START = """
import gc, runpy
hooks = runpy.run_path("gunicorn.conf.py")
from app import create_app
create_app()
before = gc.get_freeze_count()
hooks["post_worker_init"](None)
print(before, gc.get_freeze_count(), gc.isenabled())
"""


def test_a_worker_freezes_what_it_built_before_serving(tmp_path):
    environment = {
        "APP_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    finished = subprocess.run(
        [sys.executable, "-c", _WORKER_START],
        cwd=ROOT,
        env={**environment, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    before, after, enabled = finished.stdout.split()
    assert before == "0"
    assert int(after) > 10_000  # the app, its modules and tables
    assert enabled == "True"  # frozen objects are skipped; the collector still runs
