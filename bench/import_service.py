"""Importing subscribers into a database: rows a second and peak memory, first run and re-run.

    .venv/bin/python bench/import_service.py --database-url postgresql+psycopg://…/scratch \
        [--rows 10000 1000000] [--dir /tmp/import-bench]

Generates Mailchimp-shaped subscribed exports (tools/make_mailchimp_export.py, with bad rows,
repeats and quoted newlines; kept for reuse), empties the subscriber tables of the scratch
database, then imports each file twice, each run in a fresh process so the peak RSS is that
run's own: the first run creates everything, the second finds everything known and changes
nothing. Each batch is looked up in the (empty) suppression list. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SLUG = "explaining-ukraine"


def settings(database_url: str) -> dict:
    options = {} if database_url.startswith("sqlite") else {"pool_size": 2}
    return {
        "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": options,
    }


def child(database_url: str, path: str) -> None:
    """One import in this process (path "-": none, the floor); prints its figures as JSON."""
    import resource
    import time

    from app import create_app
    from newsletters.import_file import ImportFile
    from newsletters.importing import import_subscribers

    app = create_app(settings(database_url))
    figures = {}
    with app.app_context():
        cpu = time.process_time()
        began = time.perf_counter()
        if path != "-":
            with ImportFile(path) as upload:
                figures["check_s"] = time.perf_counter() - began
                result = import_subscribers(upload, SLUG)
            figures.update(summary=result.summary(), invalid=result.invalid)
        figures["total_s"] = time.perf_counter() - began
        figures["cpu_s"] = time.process_time() - cpu
    figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def prepare(database_url: str) -> None:
    from sqlalchemy import delete, text

    from app import create_app
    from extensions import db
    from mailer.suppression_models import Suppression
    from newsletters.lists import load_demo_lists
    from newsletters.models import Consent, Subscriber, Subscription

    app = create_app(settings(database_url))
    with app.app_context():
        db.create_all()
        load_demo_lists()
        db.session.commit()
        tables = "consents, subscriptions, subscribers, suppressions"
        if db.engine.dialect.name == "postgresql":  # as a fresh install has them: empty
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            for model in (Consent, Subscription, Subscriber, Suppression):
                db.session.execute(delete(model))
        db.session.commit()
        db.engine.dispose()


def run(database_url: str, path: Path | str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", database_url, str(path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    from bench.import_read import cached_export

    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--dir", default="/tmp/import-bench")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        return child(*arguments.child)
    for count in arguments.rows:
        path = cached_export(arguments.dir, count)
        prepare(arguments.database_url)
        floor = run(arguments.database_url, "-")
        print(
            f"{count:,} rows ({path.stat().st_size / 2**20:,.0f} MiB); the app alone:"
            f" peak RSS {floor['peak_rss_mib']:.1f} MiB"
        )
        for label in ("first run", "re-run"):
            figures = run(arguments.database_url, path)
            print(
                f"  {label:<9} {figures['total_s']:8.1f} s {count / figures['total_s']:>9,.0f}"
                f" rows/s  peak RSS {figures['peak_rss_mib']:6.1f} MiB"
                f"  importer CPU {figures['cpu_s'] / count * 1e6:.0f} µs/row"
                f"  (check pass {figures['check_s']:.1f} s) {figures['summary']},"
                f" {figures['invalid']} reported"
            )


if __name__ == "__main__":
    main()
