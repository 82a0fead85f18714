"""What the handlers read from a Stripe event, checked before anything is written.

A signed event whose fields do not have the shape the handlers expect (an id longer than its
column, `created` as text or out of range, `metadata` that is not an object, an address over
320 characters, a NUL character that PostgreSQL cannot store) must not fail with a 500: Stripe
would deliver it again for three days. payments/webhook.py answers 400 for an envelope it
cannot record, and records any other misshapen event as "malformed" with a 200 and a warning.

Only the fields handlers read are described; everything else in an event is ignored, so a newer
Stripe API version that adds fields passes.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as _ValidationError

# datetime.fromtimestamp() reaches the year 9999 and no further.
LATEST_TIMESTAMP = 253_402_300_799
MAX_AMOUNT = 2**31 - 1  # payments.amount and contributions.amount are INTEGER columns


def _without_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("a NUL character")
    return value


def _text(max_length: int):
    return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(_without_nul)]


StripeId = Annotated[_text(255), StringConstraints(min_length=1)]
Short = _text(32)
Email = _text(320)
Currency = _text(3)
Timestamp = Annotated[int, Field(ge=0, le=LATEST_TIMESTAMP)]
Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT)]


class _Shape(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class Metadata(_Shape):
    """The keys of ours that handlers read; Stripe allows 500 characters a value."""

    email: Email | None = None
    tier_slug: _text(500) | None = None
    purpose: _text(500) | None = None


class _Expanded(_Shape):
    id: StripeId


Reference = StripeId | _Expanded  # an id, or the object it names when Stripe expanded it


class _Item(_Shape):
    price: Reference | None = None
    current_period_end: Timestamp | None = None


class _Items(_Shape):
    data: list[_Item] | None = None


class Subscription(_Shape):
    id: StripeId
    customer: Reference | None = None
    status: Short | None = None
    metadata: Metadata | None = None
    items: _Items | None = None
    start_date: Timestamp | None = None
    cancel_at: Timestamp | None = None
    canceled_at: Timestamp | None = None
    ended_at: Timestamp | None = None


class _CustomerDetails(_Shape):
    email: Email | None = None


class CheckoutSession(_Shape):
    id: StripeId
    mode: Short | None = None
    payment_status: Short | None = None
    subscription: Reference | None = None
    customer: Reference | None = None
    customer_details: _CustomerDetails | None = None
    customer_email: Email | None = None
    metadata: Metadata | None = None
    amount_total: Amount | None = None
    currency: Currency | None = None


class _SubscriptionDetails(_Shape):
    subscription: Reference | None = None
    metadata: Metadata | None = None


class _InvoiceParent(_Shape):
    subscription_details: _SubscriptionDetails | None = None


class _PriceDetails(_Shape):
    price: Reference | None = None


class _Pricing(_Shape):
    price_details: _PriceDetails | None = None


class _Line(_Shape):
    pricing: _Pricing | None = None


class _Lines(_Shape):
    data: list[_Line] | None = None


class _StatusTransitions(_Shape):
    paid_at: Timestamp | None = None


class Invoice(_Shape):
    id: StripeId | None = None
    parent: _InvoiceParent | None = None
    lines: _Lines | None = None
    customer: Reference | None = None
    amount_paid: Amount | None = None
    amount_due: Amount | None = None
    currency: Currency | None = None
    status_transitions: _StatusTransitions | None = None


class Envelope(_Shape):
    created: Timestamp


OBJECT_SHAPES: dict[str, type[_Shape]] = {
    "checkout.session.completed": CheckoutSession,
    "customer.subscription.created": Subscription,
    "customer.subscription.updated": Subscription,
    "customer.subscription.deleted": Subscription,
    "invoice.paid": Invoice,
    "invoice.payment_failed": Invoice,
}


def recordable_id(event: dict[str, Any]) -> bool:
    """An id and a type we can store: without them the event cannot even be marked as seen."""
    event_id, event_type = event.get("id"), event.get("type")
    return (
        isinstance(event_id, str)
        and 0 < len(event_id) <= 255
        and "\x00" not in event_id
        and isinstance(event_type, str)
        and "\x00" not in event_type
    )


def misshapen_field(event: dict[str, Any]) -> str | None:
    """The first field that is not as the handlers expect, or None. The object of a type we
    ignore is never read, so only its envelope is checked."""
    checks: list[tuple[str, type[_Shape], Any]] = [("", Envelope, event)]
    shape = OBJECT_SHAPES.get(event["type"])
    if shape is not None:
        checks.append(("data.object.", shape, event["data"]["object"]))
    for where, model, value in checks:
        try:
            model.model_validate(value)
        except _ValidationError as error:
            return where + ".".join(str(part) for part in error.errors()[0]["loc"])
    return None
