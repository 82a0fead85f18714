"""Whether "forgot password" takes as long for an address with a staff account as for one
without (an attacker timing it must learn nothing), and the same for a sign-in.

Interleaves requests for a known and an unknown address through the app in-process (Werkzeug's
test client, SQLite or DATABASE_URL) and prints the median and spread of each.

    .venv/bin/python bench/forgot_password_timing.py [rounds]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from extensions import db  # noqa: E402
from staff.auth import create_staff_user  # noqa: E402

KNOWN, UNKNOWN = "editor@newsroom.example.org", "nobody@newsroom.example.org"
PASSWORD = "correct horse battery staple"


def _app(database: Path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SMTP_URL": "memory",
        }
    )
    with app.app_context():
        db.create_all()
        create_staff_user(KNOWN, PASSWORD, "editor")
        db.session.commit()
    return app


def _timed(client, path: str, data: dict) -> float:
    started = time.perf_counter()
    response = client.post(path, data=data)
    elapsed = time.perf_counter() - started
    assert response.status_code in (200, 422), response.status_code
    return elapsed * 1000


def _compare(client, path: str, rounds: int, field: str, extra: dict) -> None:
    times: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
    for _ in range(rounds):
        for address in (KNOWN, UNKNOWN):
            times[address].append(_timed(client, path, {field: address, **extra}))
    for address, label in ((KNOWN, "known account"), (UNKNOWN, "no account")):
        values = times[address][rounds // 10 :]  # the first tenth warms caches
        quartiles = statistics.quantiles(values, n=4)
        print(
            f"{path:24} {label:14} median {statistics.median(values):7.2f} ms"
            f"  (quartiles {quartiles[0]:.2f}–{quartiles[2]:.2f} ms, n={len(values)})"
        )
    ratio = statistics.median(times[KNOWN]) / statistics.median(times[UNKNOWN])
    print(f"{path:24} known / unknown median: {ratio:.3f}")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory() as folder:
        app = _app(Path(folder) / "bench.db")
        client = app.test_client()
        _compare(client, "/staff/forgot-password", rounds, "email", {})
        # A wrong password: the known account pauses after five, and a paused account is
        # refused after the same hashing work as an unknown one.
        wrong = {"password": "not the password at all"}
        _compare(client, "/staff/login", max(20, rounds // 15), "email", wrong)


if __name__ == "__main__":
    main()
