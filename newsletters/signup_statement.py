"""The signup on PostgreSQL in one statement for a new address, two for a known one.

services.signup() decides the same things in five statements on SQLite; here the rules are the
same, written in SQL:

1. _SIGNUP_NEW upserts the subscriber. A new address is the common case and needs no rule
   beyond "everything asked is pending, the first confirmation goes out": the same statement
   adds its subscriptions, its consent and its confirmation mail. On a conflict the no-op update
   locks the existing row until the commit, so concurrent signups of one address run one after
   another, and nothing else is written;
2. for a known address only, _SIGNUP: one statement of data-modifying CTEs that upserts the
   subscriptions, claims today's confirmation (or the daily "already subscribed" notice),
   records the consent and queues the mail. It starts after the first one holds the lock, so
   its snapshot sees what the signup before it committed: the one-minute gap and the daily cap
   hold for concurrent requests.

Why not both statements in one pipeline for every signup, as before: PostgreSQL sets up every
node of a statement's plan on each execution, and _SIGNUP's (some fifty nodes, five of them
writing) cost a new address about a third of its server CPU while doing nothing a new address
needs (bench/results.md, issue 14, branch p8-pg). A known address pays one more round trip.
psycopg waits for the BEGIN before the first statement either way (it syncs after it, also in
a pipeline); the caller's commit ends the transaction as before.

When the signup is its request's whole transaction (services.signup_and_commit: the form, the
embed, the API), a new address needs no transaction around its one statement:
SIGNUP_NEW_ALONE runs in autocommit mode, with no BEGIN and no COMMIT (two round trips of
four). It writes nothing for a known address, which then goes the way above.

The mail row holds the template's values and the ids its links are signed from
(newsletters/mail_links.py signs them when the mail is rendered); every statement builds it
from _CONFIRM_CONTEXT.

Which connection each statement runs on is newsletters/signup_writes.py's; so is the choice of
the signups whose new addresses are written together, by signup_batch.py's statement:
_NEW_ADDRESS's rules for several signups in one statement.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app
from psycopg import Connection
from psycopg.pq import TransactionStatus

from addresses import email_key
from mailer.models import QUEUED
from mailer.services import plain_value
from newsletters.catalogue import OpenList
from newsletters.models import PENDING, UNSUBSCRIBED
from signing import signing_time

# What both statements write alike, so that each rule has one text. The mail's values:
# {newsletters} and {slugs} are JSON arrays of the lists the reader now waits for, in the
# order asked; `consent` is the CTE that recorded the opt-in.
_CONFIRM_CONTEXT = """json_build_object(
    'email', %(email)s::text, 'newsletters', {newsletters}, 'ttl_hours', %(ttl_hours)s::int,
    'subscriber_id', consent.subscriber_id, 'slugs', {slugs}, 'consent_id', consent.id,
    'signed_at', %(signed_at)s::bigint)"""
# The consent's lists as consent.slugs_key stores them (sorted, space-separated), aggregated
# over rows with a `slug`; its wording ends with the lists' {names}, in the order asked.
CONSENT_SLUGS = "string_agg(slug, ' ' ORDER BY slug)"
_CONSENT_WORDING = "%(wording)s || ' (' || {names} || ')'"

# A new reader waits for every list asked: the consent and the mail name them all.
NEW_WORDING = _CONSENT_WORDING.format(names="array_to_string(%(names)s::text[], '; ')")
NEW_CONTEXT = _CONFIRM_CONTEXT.format(
    newsletters="%(lists)s::json", slugs="to_json(%(slugs)s::text[])"
)

# `created`: an inserted row has no xmax; one the upsert found has this transaction's lock
# there (created_at = now took a second signup in the same microsecond for a new one).
_NEW_ADDRESS = f"""
WITH me AS (
    INSERT INTO subscribers (email, email_key, language, created_at, confirmations_day,
                             confirmations_sent)
    VALUES (%(email)s::text, %(email_key)s, %(language)s, %(now)s, %(today)s, 1)
    ON CONFLICT (email_key) {{on_conflict}}
    RETURNING id, xmax = 0 AS created,
              COALESCE(language, %(mail_language)s) AS mail_language
),
subscribed AS (
    INSERT INTO subscriptions (subscriber_id, newsletter_id, status, created_at, updated_at)
    SELECT me.id, asked.newsletter_id, '{PENDING}', %(now)s, %(now)s
    FROM me, unnest(%(ids)s::int[]) WITH ORDINALITY AS asked (newsletter_id, position)
    WHERE me.created ORDER BY asked.position
),
consent AS (
    INSERT INTO consents (subscriber_id, newsletter_slugs, source, source_url, ip, user_agent,
                          wording, signed_up_at)
    SELECT me.id, (SELECT {CONSENT_SLUGS} FROM unnest(%(slugs)s::text[]) AS slug),
           %(source)s, %(source_url)s, %(ip)s, %(user_agent)s, {NEW_WORDING}, %(now)s
    FROM me WHERE me.created
    RETURNING id, subscriber_id
),
mail AS (
    INSERT INTO outbox (kind, to_addr, context, language, status, attempts, next_attempt_at,
                        created_at)
    SELECT 'confirm', %(email)s::text, {NEW_CONTEXT},
           me.mail_language, '{QUEUED}', 0, %(now)s, %(now)s
    FROM consent, me
)
SELECT id, created FROM me
"""
# In the session's transaction: a known address's row is locked until the commit (its no-op
# update), so its signup goes on to _SIGNUP.
_SIGNUP_NEW = _NEW_ADDRESS.replace(
    "{on_conflict}",
    """DO UPDATE SET
        email_key = excluded.email_key,
        language = COALESCE(excluded.language, subscribers.language)""",
)
# A transaction of its own (autocommit): a new address's rows, consent and mail committed by
# the one statement, or for a known address nothing at all (no row back), so that its signup
# starts again in a transaction with _SIGNUP_NEW's lock.
SIGNUP_NEW_ALONE = _NEW_ADDRESS.replace("{on_conflict}", "DO NOTHING")

# A known reader waits for the lists the subscriptions' upsert left pending (`waiting`).
_KNOWN_WORDING = _CONSENT_WORDING.format(names="opt_in.names")
_KNOWN_CONTEXT = _CONFIRM_CONTEXT.format(
    newsletters="""(SELECT json_agg(listed.value ORDER BY listed.position)
        FROM json_array_elements(%(lists)s::json) WITH ORDINALITY AS listed (value, position)
        WHERE listed.position IN (SELECT position FROM waiting))""",
    slugs="(SELECT json_agg(slug ORDER BY position) FROM waiting)",
)

_SIGNUP = f"""
WITH asked AS (
    SELECT * FROM unnest(%(ids)s::int[], %(slugs)s::text[], %(names)s::text[])
        WITH ORDINALITY AS asked (newsletter_id, slug, name, position)
),
me AS (
    SELECT id, COALESCE(language, %(mail_language)s) AS mail_language
    FROM subscribers WHERE email_key = %(email_key)s
),
subscribed AS (
    INSERT INTO subscriptions (subscriber_id, newsletter_id, status, created_at, updated_at)
    SELECT me.id, asked.newsletter_id, '{PENDING}', %(now)s, %(now)s
    FROM me, asked ORDER BY asked.position
    ON CONFLICT (subscriber_id, newsletter_id) DO UPDATE SET
        status = CASE WHEN subscriptions.status = '{UNSUBSCRIBED}' THEN '{PENDING}'
                      ELSE subscriptions.status END,
        updated_at = CASE WHEN subscriptions.status = '{UNSUBSCRIBED}' THEN excluded.updated_at
                          ELSE subscriptions.updated_at END
    RETURNING newsletter_id, status
),
waiting AS (
    SELECT asked.* FROM asked JOIN subscribed USING (newsletter_id)
    WHERE subscribed.status = '{PENDING}'
),
opt_in AS (
    SELECT {CONSENT_SLUGS} AS slugs,
           string_agg(name, '; ' ORDER BY position) AS names,
           json_agg(position ORDER BY position) AS positions
    FROM waiting
),
claimed AS (
    UPDATE subscribers SET
        confirmations_sent = CASE WHEN confirmations_day = %(today)s
                                  THEN confirmations_sent + 1 ELSE 1 END,
        confirmations_day = %(today)s
    FROM me, opt_in
    WHERE subscribers.id = me.id AND opt_in.slugs IS NOT NULL
      AND (subscribers.confirmations_day IS NULL OR subscribers.confirmations_day <> %(today)s
           OR subscribers.confirmations_sent < %(per_day)s)
      AND NOT EXISTS (
          SELECT 1 FROM consents
          WHERE consents.subscriber_id = me.id AND consents.newsletter_slugs = opt_in.slugs
            AND consents.signed_up_at > %(gap_start)s)
    RETURNING subscribers.id
),
noticed AS (
    UPDATE subscribers SET already_subscribed_notice_at = %(now)s
    FROM me, opt_in
    WHERE subscribers.id = me.id AND opt_in.slugs IS NULL
      AND (subscribers.already_subscribed_notice_at IS NULL
           OR subscribers.already_subscribed_notice_at <= %(notice_start)s)
    RETURNING subscribers.id
),
consent AS (
    INSERT INTO consents (subscriber_id, newsletter_slugs, source, source_url, ip, user_agent,
                          wording, signed_up_at)
    SELECT me.id, opt_in.slugs, %(source)s, %(source_url)s, %(ip)s, %(user_agent)s,
           {_KNOWN_WORDING}, %(now)s
    FROM me, opt_in
    WHERE opt_in.slugs IS NOT NULL AND EXISTS (SELECT 1 FROM claimed)
    RETURNING id, subscriber_id
),
mail AS (
    INSERT INTO outbox (kind, to_addr, context, language, status, attempts, next_attempt_at,
                        created_at)
    SELECT 'confirm', %(email)s, {_KNOWN_CONTEXT},
           (SELECT mail_language FROM me), '{QUEUED}', 0, %(now)s, %(now)s
    FROM consent
    UNION ALL
    SELECT 'already_subscribed', %(email)s,
           json_build_object('email', %(email)s::text, 'newsletters', %(lists)s::json,
                             'subscriber_id', noticed.id),
           (SELECT mail_language FROM me), '{QUEUED}', 0, %(now)s, %(now)s
    FROM noticed
    RETURNING kind
)
SELECT me.id, (SELECT slugs FROM opt_in) IS NULL AS already_subscribed,
       EXISTS (SELECT 1 FROM mail WHERE kind = 'confirm') AS confirmation_queued
FROM me
"""


def one_line(statement: str) -> str:
    """The statement with each line break and its indentation made one space (no literal in it
    spans lines). psycopg keeps its parsing of a statement's placeholders only for statements
    up to 4,096 bytes (psycopg._queries.MAX_CACHED_STATEMENT_LENGTH): indented, _SIGNUP is
    past that and was parsed again on every signup (~8 % of its CPU); a test keeps it within."""
    return re.sub(r"\s*\n\s*", " ", statement).strip()


_SIGNUP_NEW = one_line(_SIGNUP_NEW)
SIGNUP_NEW_ALONE = one_line(SIGNUP_NEW_ALONE)
_SIGNUP = one_line(_SIGNUP)


@lru_cache(maxsize=256)
def _list_values(newsletters: tuple[OpenList, ...]) -> dict[str, str]:
    """The lists' parameters: `lists` as the mail's values hold them (JSON), and their ids,
    slugs and names as array literals, which the statements cast (::int[], ::text[]).

    OpenList is frozen and a few combinations of lists come again and again, so each is written
    out once. Text, not Python lists: psycopg works out a list's element type and dumper on
    every execute (~30 µs for the three; a string is dumped as it is)."""
    return {
        "lists": json.dumps([plain_value(newsletter) for newsletter in newsletters]),
        "ids": _array_literal(newsletter.id for newsletter in newsletters),
        "slugs": _array_literal(newsletter.slug for newsletter in newsletters),
        "names": _array_literal(newsletter.name for newsletter in newsletters),
    }


def _array_literal(values: Iterable[object]) -> str:
    """PostgreSQL's array input: each element double-quoted, with a backslash before every
    backslash and double quote in it (so commas, braces and spaces are taken as they are)."""
    quoted = (str(value).replace("\\", "\\\\").replace('"', '\\"') for value in values)
    return "{" + ",".join(f'"{element}"' for element in quoted) + "}"


def signup_parameters(
    address: str,
    newsletters: Sequence[OpenList],
    consent_values: dict,
    *,
    now: datetime,
    language: str | None,
    mail_language: str,
) -> dict:
    """The statements' parameters for one signup (signup_writes.signup_statements).

    language: the language the request showed, kept with the reader (None keeps theirs);
    mail_language: the mail's language for a reader who never showed one.

    consent_values: source, source_url, ip, user_agent (clipped) and wording, as
    consent.record_consent stores them.
    """
    config = current_app.config
    gap = timedelta(seconds=config.get("CONFIRMATION_GAP_SECONDS", 60))
    return {
        "email": address,
        "email_key": email_key(address),
        "now": now,
        "today": now.date(),
        **_list_values(tuple(newsletters)),
        "per_day": int(config["CONFIRMATIONS_PER_DAY"]),
        "gap_start": now - gap,
        "notice_start": now - timedelta(days=1),
        "ttl_hours": int(config["CONFIRM_TTL_HOURS"]),
        "language": language,
        "mail_language": mail_language,
        "signed_at": signing_time("confirm"),  # the link expires counting from the signup
        **consent_values,
    }


def write_signup(driver: Connection, parameters: dict, *, alone: bool) -> tuple[int, bool, bool]:
    """(subscriber id, confirmation queued, already subscribed) on `driver`: a new address
    alone in one statement that commits itself while nothing was sent before it; otherwise
    (or for a known address) in the connection's transaction, left for the caller to commit."""
    if alone and driver.pgconn.transaction_status == TransactionStatus.IDLE:
        row = in_a_transaction_of_its_own(driver, SIGNUP_NEW_ALONE, parameters)
        if row is not None:  # a new address: written, and committed
            return row[0], True, False
    with driver.cursor() as cursor:
        cursor.execute(_SIGNUP_NEW, parameters)  # takes the row's lock first, so _SIGNUP's
        subscriber_id, created = cursor.fetchone()  # snapshot sees the signup before it
        if created:  # written since the autocommit statement found it (or not tried)
            return subscriber_id, True, False
        cursor.execute(_SIGNUP, parameters)
        subscriber_id, already_subscribed, confirmation_queued = cursor.fetchone()
    return subscriber_id, confirmation_queued, already_subscribed


def in_a_transaction_of_its_own(driver: Connection, statement: str, parameters: dict):
    """The statement's one row (or None), the statement run in autocommit mode: PostgreSQL
    makes it a transaction of its own, every CTE's write or none, with no BEGIN and no COMMIT
    sent: two of a new signup's four round trips (bench/results.md, branch p9-signup).

    Only while the session's transaction has sent nothing (psycopg would refuse otherwise), as
    SQLAlchemy's own pre-ping does it.
    """
    with autocommit(driver), driver.cursor() as cursor:
        cursor.execute(statement, parameters)
        return cursor.fetchone()


@contextmanager
def autocommit(driver: Connection) -> Iterator[None]:
    """Autocommit mode for the block. The mode goes back unless the connection was lost
    meanwhile (no longer idle): the error goes on as an outage, and the pool drops it."""
    driver.autocommit = True
    try:
        yield
    finally:
        if driver.pgconn.transaction_status == TransactionStatus.IDLE:
            driver.autocommit = False
