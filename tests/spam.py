"""SpamAssassin's score for a raw message, from its local tests only (no DNS, no network).

Tests that use it skip where spamassassin is not installed (`make spamassassin` installs it).
One scoring takes one to two seconds, most of it loading the rules: keep calls few.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

SPAMASSASSIN = shutil.which("spamassassin")

needs_spamassassin = pytest.mark.skipif(
    SPAMASSASSIN is None, reason="spamassassin is not installed: `make spamassassin`"
)

_SCORE = re.compile(rb"^X-Spam-Status: \w+, score=(-?\d+(?:\.\d+)?)", re.MULTILINE)


@dataclass(frozen=True)
class SpamVerdict:
    score: float
    report: str  # "Content analysis details" and the rules that fired, for assertion messages


def spam_score(raw: bytes) -> float:
    """The score `spamassassin -L -t` gives the message (5.0 is its usual spam threshold)."""
    return spam_verdict(raw).score


def spam_verdict(raw: bytes) -> SpamVerdict:
    """Score and report in one run.

    Bayes is off: untrained it adds nothing, and learning would make one run differ from the
    next. A throwaway home keeps the per-user files spamassassin writes out of the real one.
    """
    if SPAMASSASSIN is None:
        raise RuntimeError("spamassassin is not installed: `make spamassassin`")
    with tempfile.TemporaryDirectory() as home:
        result = subprocess.run(
            [
                SPAMASSASSIN,
                "-L",  # local tests only
                "-t",  # test mode: the report whatever the verdict
                "-p",
                str(Path(home) / "user_prefs"),
                "--cf=use_bayes 0",
                "--cf=bayes_auto_learn 0",
            ],
            input=raw,
            capture_output=True,
            timeout=120,
            env={"HOME": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            check=False,
        )
    match = _SCORE.search(result.stdout)
    if result.returncode != 0 or not match:
        raise RuntimeError(
            f"spamassassin exited {result.returncode} without a score: "
            f"{result.stderr.decode(errors='replace')[-2000:]}"
        )
    output = result.stdout.decode(errors="replace")
    report = output[output.rfind("Content analysis details") :]
    return SpamVerdict(float(match.group(1)), report)
