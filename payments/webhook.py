"""Receiving a Stripe event: verify the signature, then handle it exactly once.

The event id is stored in the same transaction as the event's effects. A duplicate delivered
while the first is still being handled waits on the id's unique index, then sees it and changes
nothing. The real webhook and the simulated checkout both come through receive_event().
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from functools import cache

import stripe
from flask import current_app

import metrics
from database import dialect_name, run_in_transaction, upsert_for, utcnow
from extensions import db
from membership import services as membership
from membership.fulfilment import (
    customer_lock_columns,
    customer_lock_parameters,
    customer_locked,
)
from payments.event_shapes import misshapen_field, recordable_id
from payments.handlers import customer_to_lock, dispatch, tier_to_look_up
from payments.mode import simulated_mode
from payments.models import ProcessedEvent

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300
DUPLICATE = "duplicate"
MALFORMED = "malformed"


class InvalidEvent(Exception):
    """The body is not a Stripe event signed with our secret (or is too old)."""


def webhook_secret() -> str | None:
    """STRIPE_WEBHOOK_SECRET, or in simulated mode a secret of our own derived from SECRET_KEY."""
    configured = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if configured:
        return configured
    if simulated_mode():
        digest = hmac.new(
            current_app.config["SECRET_KEY"].encode(), b"simulated-stripe-webhook", hashlib.sha256
        ).hexdigest()
        return f"whsec_sim_{digest[:32]}"
    return None


def verify_event(payload: bytes, signature_header: str | None) -> dict:
    secret = webhook_secret()
    if not secret:
        log.error("STRIPE_WEBHOOK_SECRET is not set: refusing Stripe events")
        raise InvalidEvent("no webhook secret configured")
    if not signature_header or not signature_header.isascii():
        raise InvalidEvent("no readable Stripe-Signature header")  # Stripe's is ASCII
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature_header, secret, SIGNATURE_TOLERANCE_SECONDS
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError, RecursionError) as exc:
        raise InvalidEvent(str(exc)) from exc
    if not isinstance(event, dict) or not recordable_id(event):
        raise InvalidEvent("not an event")
    if not isinstance(event.get("data"), dict) or not isinstance(event["data"].get("object"), dict):
        raise InvalidEvent("event without an object")
    return event


def _claim(
    event: dict,
    outcome: str = "handled",
    customer: str | None = None,
    tier: tuple[str, str] | None = None,
) -> bool:
    """Insert the event id; False when some transaction already holds or committed it.

    With `customer`, the claim also takes that customer's locks, as the handler would first
    thing (membership.fulfilment.lock_customer): one round trip instead of two. With `tier`
    (handlers.tier_to_look_up), it also reads the tier the handler looks up first, which
    membership then answers from that row: one round trip fewer again."""
    values = {
        "id": event["id"],
        "type": event["type"][:64],
        "created": event["created"] if outcome != MALFORMED else 0,
        "outcome": outcome,
        "received_at": utcnow(),
    }
    if customer is not None:
        values.update(customer_lock_parameters(customer))
    if tier is not None:
        values.update(membership.tier_lookup_parameters(tier[1]))
    statement = _claim_statement(
        dialect_name(), locking=customer is not None, tier_by=tier[0] if tier else None
    )
    # RETURNING, not rowcount: psycopg reports -1 for rowcount here.
    claimed = db.session.execute(statement, values).first()
    if claimed is None:
        return False
    if customer is not None:
        customer_locked(customer)
    if tier is not None:
        membership.tier_looked_up(tier[0], tier[1], claimed)
    return True


@cache
def _claim_statement(dialect: str, locking: bool, tier_by: str | None = None):
    """Built once per dialect and shape: an event's claim is on every delivery's path."""
    events = ProcessedEvent.__table__
    returned = [events.c.id]
    if locking:
        returned.extend(customer_lock_columns(dialect))
    if tier_by is not None:
        returned.extend(membership.tier_lookup_columns(tier_by))
    statement = upsert_for(dialect, events).on_conflict_do_nothing(index_elements=["id"])
    return statement.returning(*returned)


def handle_event(event: dict) -> str:
    """Apply a verified event once; returns handled, ignored, malformed or duplicate. Commits."""
    misshapen = misshapen_field(event)
    if misshapen is not None:
        return _record_malformed(event, misshapen)

    def claim_and_apply() -> str:
        if not _claim(event, customer=customer_to_lock(event), tier=tier_to_look_up(event)):
            return DUPLICATE
        outcome = dispatch(event)
        if outcome != "handled":
            db.session.get(ProcessedEvent, event["id"]).outcome = outcome
        return outcome

    # Two different events for one new subscription may race, or SQLite may be busy: the
    # transaction is then gone as a whole, so running it again is safe.
    outcome = run_in_transaction(claim_and_apply)
    metrics.count_webhook_event(event.get("type"), outcome)
    return outcome


def _record_malformed(event: dict, field: str) -> str:
    """Marked as seen and answered 200, so Stripe stops delivering it; said in the log, so an
    operator can look at it in Stripe's dashboard (`members reconcile` repairs what it missed)."""
    log.warning(
        "Stripe event %s (%s) ignored: %s is not as expected", event["id"], event["type"], field
    )
    return run_in_transaction(lambda: MALFORMED if _claim(event, MALFORMED) else DUPLICATE)


def receive_event(payload: bytes, signature_header: str | None) -> str:
    return handle_event(verify_event(payload, signature_header))


def sign_payload(payload: str, secret: str | None = None) -> str:
    """A Stripe-Signature header for `payload`, as Stripe computes it."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret or webhook_secret())
