"""Reading import files alone: time and peak memory for 10k and 1M rows (no database).

    .venv/bin/python bench/import_read.py [--rows 10000 1000000] [--dir /tmp/import-bench]

Generates Mailchimp-shaped subscribed exports (tools/make_mailchimp_export.py; kept for reuse)
and reads each in a fresh process, so each figure is that process's own peak RSS. Four
stages per file: the interpreter with the reader imported and nothing read (the floor), the
check pass alone (what opening a file costs: decoding and CSV structure end to end), the check
plus every row read, and the same with each address run through email-validator as the
importer does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys, time
from newsletters.import_file import ImportFile
from newsletters.import_rows import normalised_address
path, stage = sys.argv[1], sys.argv[2]
began = time.perf_counter()
cpu = time.process_time()
rows = unusable = invalid = 0
opened = began
if stage != "floor":
    with ImportFile(path) as upload:
        opened = time.perf_counter()
        if stage in ("read", "validate"):
            for row in upload.rows():
                rows += 1
                if row.problem:
                    unusable += 1
                elif stage == "validate":
                    try:
                        normalised_address(row.email)
                    except ValueError:
                        invalid += 1
ended = time.perf_counter()
print(json.dumps({"cpu_s": time.process_time() - cpu, "check_s": opened - began,
                  "rows_s": ended - opened, "rows": rows, "unusable": unusable, "invalid": invalid,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(path: Path, stage: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), stage],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def cached_export(folder: str, rows: int) -> Path:
    """A subscribed export of that many rows (bad rows, repeats, quoted newlines), made once."""
    from tools.make_mailchimp_export import write_export

    path = Path(folder) / f"subscribed_{rows}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_export(path, rows=rows, bad_every=500, repeat_every=997, newline_every=50)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--dir", default="/tmp/import-bench")
    arguments = parser.parse_args()
    for count in arguments.rows:
        path = cached_export(arguments.dir, count)
        size_mib = path.stat().st_size / 2**20
        print(f"{count:,} rows, {size_mib:,.0f} MiB")
        for stage in ("floor", "check", "read", "validate"):
            figures = measure(path, stage)
            seconds = figures["check_s"] + figures["rows_s"]
            rate = f"{count / seconds:>10,.0f} rows/s" if stage != "floor" else " " * 17
            print(
                f"  {stage:<9} {seconds:7.2f} s {rate}  peak RSS {figures['peak_rss_mib']:6.1f} MiB"
                f"  (CPU {figures['cpu_s']:.2f} s, check pass {figures['check_s']:.2f} s;"
                f" unusable {figures['unusable']}, invalid {figures['invalid']})"
            )


if __name__ == "__main__":
    main()
