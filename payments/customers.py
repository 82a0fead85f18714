"""One reader, one Stripe customer: which customer an address is, as we learn it.

Every checkout for an address passes the customer already known for it (from the events, the
thanks page, `members reconcile`, or an earlier checkout), else the one Stripe's customer search
finds by email, else one made for it now. Stripe Checkout given only `customer_email` makes a new
customer each time, and a reader who joins twice would then count twice.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from sqlalchemy import bindparam, select
from sqlalchemy.sql.dml import Insert

from addresses import email_key
from database import dialect_name, upsert_for, utcnow
from extensions import db
from membership.goal import counting_customers
from membership.reader_data import erased_customer_condition
from payments import gateway
from payments.models import StripeCustomer

MAX_ID_LENGTH = 255
MAX_EMAIL_LENGTH = 320


def remember_customer(customer_id: str | None, email: str | None) -> None:
    """Record that `customer_id` is the customer of `email` (in the caller's transaction).

    Values Stripe would never send (no @, too long) are not remembered rather than refused: an
    event that carries them is still handled.
    """
    remembering = customer_remembering(customer_id, email)
    if remembering is not None:
        db.session.execute(*remembering)


def customer_remembering(customer_id: str | None, email: str | None) -> tuple[Insert, dict] | None:
    """remember_customer()'s statement and its parameters, or None when it would remember
    nothing: for a caller that hands them to a statement that runs them in its own round trip
    (membership.fulfilment.apply_subscription_state's `along_with` or `then`)."""
    if not isinstance(customer_id, str) or not isinstance(email, str):
        return None
    key = email_key(email)
    if not customer_id or len(customer_id) > MAX_ID_LENGTH:
        return None
    if "@" not in key or len(key) > MAX_EMAIL_LENGTH or "\x00" in key + customer_id:
        return None
    # The reader erased their data: Stripe still knows the address, we do not learn it again.
    parameters = {
        "remembered_customer": customer_id,
        "remembered_key": key,
        "remembered_at": utcnow(),
    }
    return _remember_statement(dialect_name()), parameters


@cache
def _remember_statement(dialect: str):
    """INSERT … SELECT … WHERE the customer was not erased, ON CONFLICT refresh: one round trip.

    Built once per dialect; a customer whose address changed in Stripe is found under the new
    one from now on."""
    customers = StripeCustomer.__table__
    # Named after no column: the statement that carries it may be an INSERT writing those.
    customer = bindparam("remembered_customer", type_=customers.c.customer_id.type)
    email = bindparam("remembered_key", type_=customers.c.email_key.type)
    learned_at = bindparam("remembered_at", type_=customers.c.learned_at.type)
    unless_erased = select(customer, email, learned_at).where(~erased_customer_condition(customer))
    statement = upsert_for(dialect, customers).from_select(
        ["customer_id", "email_key", "learned_at"], unless_erased
    )
    return statement.on_conflict_do_update(
        index_elements=["customer_id"],
        set_={
            "email_key": statement.excluded.email_key,
            "learned_at": statement.excluded.learned_at,
        },
    )


def known_customer(email: str) -> str | None:
    """The customer we know for this address: one that counts as a member if any does (a reader
    with two historical customers keeps adding to the one that counts), else the newest."""
    query = (
        select(StripeCustomer.customer_id)
        .where(StripeCustomer.email_key == email_key(email))
        .order_by(StripeCustomer.learned_at.desc(), StripeCustomer.customer_id)
    )
    candidates = list(db.session.execute(query).scalars())
    members = counting_customers(candidates)
    for customer_id in candidates:
        if customer_id in members:
            return customer_id
    return candidates[0] if candidates else None


def customer_idempotency_key(email: str) -> str:
    """Two checkouts started at once for a new address get one customer, not two."""
    return "customer-" + hashlib.sha256(email_key(email).encode()).hexdigest()[:40]


def customer_for_checkout(email: str | None, *, create: bool, simulated: bool) -> str | None:
    """The customer a checkout for `email` must pass; the caller commits what is learned.

    Known here, else found by Stripe's search, else (when `create`) made now: two checkouts
    opened before either is paid then share it. The simulated checkout has no Stripe to ask and
    makes a stand-in id. Raises gateway.GatewayError when Stripe cannot answer.
    """
    if not email:
        return None
    customer_id = known_customer(email)
    if customer_id is None and not simulated:
        customer_id = gateway.find_customer_by_email(email)
    if customer_id is None and create:
        if simulated:
            customer_id = "cus_sim_" + secrets.token_hex(7)
        else:
            customer_id = gateway.create_customer(email, customer_idempotency_key(email))
    if customer_id is not None:
        remember_customer(customer_id, email)
    return customer_id
