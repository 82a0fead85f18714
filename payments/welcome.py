"""The thanks page's share of fulfilment: it records what the webhook would, if it has not yet.

payments reads the Checkout Session; membership's fulfilment gets plain values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from database import run_in_transaction
from membership.fulfilment import Outcome
from membership.models import Tier
from payments import gateway, simulated
from payments.handlers import (
    is_paid_contribution_session,
    is_paid_membership_session,
    record_contribution_session,
    record_membership_session,
    tier_for_metadata,
)
from payments.mode import simulated_mode

MEMBERSHIP, CONTRIBUTION, PENDING, INVALID = "membership", "contribution", "pending", "invalid"


@dataclass(frozen=True)
class WelcomeResult:
    kind: str  # membership, contribution, pending or invalid (no such checkout)
    tier: Tier | None = None
    outcome: Outcome | None = None


def _completed_session(session_id: str) -> dict:
    if simulated_mode():
        return simulated.read_completed_session(session_id)
    if not session_id.startswith("cs_") or len(session_id) > 255:
        raise simulated.SimulatedSessionInvalid()
    return gateway.retrieve_checkout_session(session_id)


def complete_checkout(session_id: str) -> WelcomeResult:
    """What the reader's checkout came to, recorded and committed."""
    try:
        session = _completed_session(session_id)
    except (simulated.SimulatedSessionInvalid, gateway.NotFound):
        return WelcomeResult(INVALID)
    except gateway.GatewayError:
        # The webhook records the membership anyway; the reader just sees it a little later.
        return WelcomeResult(PENDING)
    return run_in_transaction(lambda: record_completed_session(session))


def record_completed_session(session: dict) -> WelcomeResult:
    """What the webhook would do for this session.

    The session's own `created` is older than any event about its subscription, so this never
    overrides what an event already told us.
    """
    created = int(session.get("created") or time.time())
    if is_paid_contribution_session(session):
        record_contribution_session(session, created)
        return WelcomeResult(CONTRIBUTION)
    if not is_paid_membership_session(session):
        return WelcomeResult(PENDING)
    tier = tier_for_metadata(session.get("metadata"))
    if tier is None:
        return WelcomeResult(PENDING)
    outcome = record_membership_session(session, tier, as_of=created, source="welcome")
    return WelcomeResult(MEMBERSHIP, tier, outcome)
