"""New addresses from several signups in one statement: signup_statement.py's rules for a new
address (_NEW_ADDRESS), each signup a row of one JSON parameter. newsletters/signup_writes.py
gathers the signups that arrive together in a worker's threads and sends them here.
"""

from __future__ import annotations

import json
import re
from datetime import date

from psycopg import Connection

from mailer.models import QUEUED
from newsletters.models import PENDING
from newsletters.signup_statement import (
    CONSENT_SLUGS,
    NEW_CONTEXT,
    NEW_WORDING,
    autocommit,
    one_line,
)

# The parameters signup_statement's new-address statement names, each read from the signup's
# row (`signup`) here.
_BATCH_VALUES = {
    "email": "text", "email_key": "text", "language": "text", "mail_language": "text",
    "now": "timestamptz", "today": "date", "lists": "text", "ids": "int[]", "slugs": "text[]",
    "names": "text[]", "ttl_hours": "int", "signed_at": "bigint", "source": "text",
    "source_url": "text", "ip": "text", "user_agent": "text", "wording": "text",
}  # fmt: skip


def _from_the_row(fragment: str) -> str:
    return re.sub(r"%\((\w+)\)s", r"signup.\1", fragment)


_NEW_ADDRESSES = one_line(f"""
WITH batch AS (
    SELECT * FROM json_to_recordset(%(batch)s::json)
        AS batch ({", ".join(f"{name} {kind}" for name, kind in _BATCH_VALUES.items())})
),
me AS (
    INSERT INTO subscribers (email, email_key, language, created_at, confirmations_day,
                             confirmations_sent)
    SELECT email, email_key, language, now, today, 1 FROM batch ORDER BY email_key
    ON CONFLICT (email_key) DO NOTHING
    RETURNING id, email_key
),
signup AS (SELECT me.id AS subscriber_id, batch.* FROM me JOIN batch USING (email_key)),
subscribed AS (
    INSERT INTO subscriptions (subscriber_id, newsletter_id, status, created_at, updated_at)
    SELECT signup.subscriber_id, asked.newsletter_id, '{PENDING}', signup.now, signup.now
    FROM signup, unnest(signup.ids) WITH ORDINALITY AS asked (newsletter_id, position)
    ORDER BY signup.email_key, asked.position
),
consent AS (
    INSERT INTO consents (subscriber_id, newsletter_slugs, source, source_url, ip, user_agent,
                          wording, signed_up_at)
    SELECT signup.subscriber_id, (SELECT {CONSENT_SLUGS} FROM unnest(signup.slugs) AS slug),
           signup.source, signup.source_url, signup.ip, signup.user_agent,
           {_from_the_row(NEW_WORDING)}, signup.now
    FROM signup ORDER BY signup.email_key
    RETURNING id, subscriber_id
),
mail AS (
    INSERT INTO outbox (kind, to_addr, context, language, status, attempts, next_attempt_at,
                        created_at)
    SELECT 'confirm', signup.email, {_from_the_row(NEW_CONTEXT)},
           COALESCE(signup.language, signup.mail_language), '{QUEUED}', 0, signup.now, signup.now
    FROM consent JOIN signup USING (subscriber_id) ORDER BY signup.email_key
)
SELECT email_key, id FROM me
""")


def new_addresses_in_one_statement(driver: Connection, batch: list[dict]) -> list:
    """Each signup's subscriber id, or None where its address was known. One autocommit
    statement: one transaction, every signup's rows or none; the addresses locked in their
    order, so that two batches never wait on each other in a circle.

    The batch's addresses must be distinct: the statement would give a second signup of one
    address the first one's reader, with a consent and a mail of its own."""
    if len({parameters["email_key"] for parameters in batch}) != len(batch):
        raise ValueError("an address twice in one batch")
    rows = json.dumps(
        [{name: parameters[name] for name in _BATCH_VALUES} for parameters in batch],
        default=_iso_format,
    )
    with autocommit(driver), driver.cursor() as cursor:
        cursor.execute(_NEW_ADDRESSES, {"batch": rows})
        subscriber_ids = dict(cursor.fetchall())
    return [subscriber_ids.get(parameters["email_key"]) for parameters in batch]


def _iso_format(value: object) -> str:
    """json.dumps' default: a signup's dates and times as PostgreSQL reads them."""
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a date or time")
