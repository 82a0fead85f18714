"""Fuzzing with Hypothesis: random input to every public form, token page, the webhook (signed
as Stripe signs) and the staff pages, asserting only that nothing answers 5xx.

The number of examples is bounded so the suite stays fast. CI (CI=true) runs a fixed set of
examples, so a red run means the code changed; locally each run draws new ones, and Hypothesis
keeps any failing example in .hypothesis/ to try first next time. HYPOTHESIS_PROFILE=deep
draws 600 examples a test instead of 20 (about four minutes a file).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
settings.register_profile("dev", max_examples=20, **_COMMON)
settings.register_profile("ci", max_examples=20, derandomize=True, **_COMMON)
settings.register_profile("deep", max_examples=600, **_COMMON)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

# The staff pages are fuzzed signed in as an administrator.
from tests.staff.conftest import admin, admin_client  # noqa: E402, F401
