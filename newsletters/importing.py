"""Importing subscribers into one list from a checked import file (newsletters.import_file).

Rows go in batches (BATCH_SIZE a statement), each batch in its own transaction: memory stays
constant, and an import that stops half-way is finished by running it again, since a second
run changes nothing that the first made. The database decides what is new: subscribers and
subscriptions are INSERT … ON CONFLICT DO NOTHING … RETURNING, so an address already known
keeps its own state (a reader who left stays left, a pending one is not confirmed by a file),
and what RETURNING hands back is exactly what this import created.

The counts are CONTRACT.md's: `imported` the subscriptions created, `suppressed` the addresses
added to the suppressions, `skipped` every other row. A row repeated in the file is skipped as
repeated within its batch, and as already known in a later batch (no set of every address read
is kept: that would grow with the file).

Suppressions belong to the mailer (mailer.suppressions); the import reaches them through two
calls, which work in the caller's session and never commit, and which a caller may replace:
- is_suppressed_batch(email_keys) -> those of the keys that are suppressed (an erased reader's
  hashed entry included): such rows are skipped and create no subscriber.
- suppress_batch(entries) -> how many it added (the others were there already).
Unsubscribed and cleaned Mailchimp exports only call suppress_batch and subscribe nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from itertools import islice

from sqlalchemy import String, Table, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql

from addresses import email_key
from database import dialect_name, run_in_transaction, upsert_for, utcnow
from extensions import db
from mailer.suppression_models import IMPORT_CLEANED, IMPORT_UNSUBSCRIBED
from mailer.suppressions import suppress, suppressed_among
from newsletters.import_file import ImportFile
from newsletters.import_rows import ImportKind, ImportRow, normalised_address
from newsletters.models import CONFIRMED, PENDING, Consent, Newsletter, Subscriber, Subscription
from newsletters.services import UnknownNewsletter, claim_confirmation, queue_confirmation

BATCH_SIZE = 1000
SOURCE_IMPORT = "import"  # Consent.source of every imported opt-in
KIND_NAMES = {
    ImportKind.SUBSCRIBED: "Mailchimp export of subscribed contacts",
    ImportKind.UNSUBSCRIBED: "Mailchimp export of unsubscribed contacts",
    ImportKind.CLEANED: "Mailchimp export of cleaned contacts",
    ImportKind.GENERIC: "list of addresses",
}


@dataclass(frozen=True)
class ImportedSuppression:
    email: str  # as email-validator normalises it
    email_key: str
    reason: str  # IMPORT_UNSUBSCRIBED or IMPORT_CLEANED
    detail: str  # cites the file and its line, and the time Mailchimp gives
    since: datetime | None  # UNSUB_TIME or CLEAN_TIME, when readable


IsSuppressedBatch = Callable[[Collection[str]], Collection[str]]
SuppressBatch = Callable[[Sequence[ImportedSuppression]], int]


def suppressed_keys(keys: Collection[str]) -> Collection[str]:
    """is_suppressed_batch through the suppression list (keys are normalised addresses)."""
    return suppressed_among(keys, already_normalised=True)


def suppress_imported(entries: Sequence[ImportedSuppression]) -> int:
    """suppress_batch through the suppression list: one suppress() a row, as it has no batched
    write yet (unsubscribed and cleaned exports are a fraction of an audience)."""
    return sum(suppress(entry.email, entry.reason, entry.detail) for entry in entries)


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str


@dataclass
class ImportResult:
    imported: int = 0
    skipped: int = 0
    suppressed: int = 0
    invalid: int = 0  # of the skipped rows, those reported as problems
    confirmations: int = 0  # confirmation mails queued (with send_confirmations)

    def summary(self) -> str:
        return f"imported {self.imported}, skipped {self.skipped}, suppressed {self.suppressed}"


@dataclass
class _Batch:
    rows: int
    created: int
    problems: list[RowProblem]
    mailed: int = 0


def import_subscribers(
    upload: ImportFile,
    newsletter_slug: str,
    *,
    is_suppressed_batch: IsSuppressedBatch = suppressed_keys,
    suppress_batch: SuppressBatch = suppress_imported,
    send_confirmations: bool = False,
    report_problem: Callable[[RowProblem], None] | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportResult:
    """Import every row of `upload` into the list; commits once a batch.

    Problems (unusable rows, invalid addresses) go to `report_problem` with their line, and
    `progress` hears how many rows each committed batch held: both after the commit, so
    neither repeats when a batch is retried.
    """
    newsletter = importable_list(newsletter_slug)
    result = ImportResult()
    for rows in _batches(upload.rows(), batch_size):

        def work(rows: list[ImportRow] = rows) -> _Batch:
            accepted, problems = _accepted(rows)
            if upload.kind.suppresses:
                created = suppress_batch(_suppressions(upload, accepted))
                return _Batch(len(rows), created, problems)
            created, mailed = _subscribe(
                upload, newsletter, accepted, is_suppressed_batch, send_confirmations
            )
            return _Batch(len(rows), created, problems, mailed)

        batch = run_in_transaction(work)
        if upload.kind.suppresses:
            result.suppressed += batch.created
        else:
            result.imported += batch.created
        result.skipped += batch.rows - batch.created
        result.invalid += len(batch.problems)
        result.confirmations += batch.mailed
        for problem in batch.problems:
            if report_problem:
                report_problem(problem)
        if progress:
            progress(batch.rows)
    return result


def importable_list(slug: str) -> Newsletter:
    """The open list a file is imported into; UnknownNewsletter if there is none."""
    newsletter = db.session.scalar(select(Newsletter).where(Newsletter.slug == slug))
    if newsletter is None:
        raise UnknownNewsletter(slug)
    if newsletter.archived:
        raise UnknownNewsletter(f"{slug} is archived")
    db.session.expunge(newsletter)  # kept across the batches' commits
    return newsletter


def _batches(rows: Iterable[ImportRow], size: int) -> Iterator[list[ImportRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _accepted(rows: list[ImportRow]) -> tuple[dict[str, tuple[str, ImportRow]], list[RowProblem]]:
    """Valid addresses of the batch by key (the first row of a repeated address wins)."""
    accepted: dict[str, tuple[str, ImportRow]] = {}
    problems = []
    for row in rows:
        if row.problem:
            problems.append(RowProblem(row.line, row.problem))
            continue
        try:
            address = normalised_address(row.email)
        except ValueError as exc:
            problems.append(RowProblem(row.line, f"{row.email[:100]!r} is not valid: {exc}"))
            continue
        accepted.setdefault(email_key(address), (address, row))
    return accepted, problems


def _suppressions(
    upload: ImportFile, accepted: dict[str, tuple[str, ImportRow]]
) -> list[ImportedSuppression]:
    reason = IMPORT_UNSUBSCRIBED if upload.kind is ImportKind.UNSUBSCRIBED else IMPORT_CLEANED
    origin = f'{KIND_NAMES[upload.kind]} "{upload.name}"'
    entries = []
    for key, (address, row) in sorted(accepted.items()):
        since = f"; {upload.kind} {row.left_at:%Y-%m-%d %H:%M:%S} UTC" if row.left_at else ""
        detail = f"{origin}, line {row.line}{since}"
        entries.append(ImportedSuppression(address, key, reason, detail, row.left_at))
    return entries


# --- subscribing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Created:
    subscriber_id: int
    address: str
    row: ImportRow
    new_subscriber: bool


# --- batched statements ------------------------------------------------------------------
# On PostgreSQL a batch travels as one array a column through unnest(): a short statement that
# psycopg and the server parse quickly. A 1,000-row VALUES list (SQLAlchemy's insertmanyvalues,
# used on SQLite) has 9,000 placeholders, and psycopg alone took 0.1 s a statement to convert it.


@cache
def _bulk_insert(
    dialect: str,
    table: Table,
    columns: tuple[str, ...],
    conflict: tuple[str, ...],
    returning: tuple[str, ...],
):
    if dialect == "postgresql":
        arrays = [bindparam(name, type_=postgresql.ARRAY(table.c[name].type)) for name in columns]
        source = func.unnest(*arrays).table_valued(*columns).render_derived(name="batch")
        statement = postgresql.insert(table).from_select(
            list(columns), select(*(source.c[name] for name in columns))
        )
    else:
        statement = upsert_for(dialect, table)
    if conflict:
        statement = statement.on_conflict_do_nothing(
            index_elements=[table.c[name] for name in conflict]
        )
    return statement.returning(*(table.c[name] for name in returning))


def _insert_batch(
    table: Table, rows: list[dict], returning: tuple[str, ...], conflict: tuple[str, ...] = ()
):
    """INSERT every row (… ON CONFLICT DO NOTHING when `conflict` names the unique columns),
    in one statement; the result holds `returning` of the rows actually inserted."""
    dialect = dialect_name()
    columns = tuple(rows[0])
    statement = _bulk_insert(dialect, table, columns, conflict, returning)
    if dialect == "postgresql":
        return db.session.execute(
            statement, {name: [row[name] for row in rows] for name in columns}
        )
    return db.session.execute(statement, rows)


def _known_subscriber_ids(keys: list[str]) -> dict[str, int]:
    if dialect_name() == "postgresql":
        matching = Subscriber.email_key == any_(
            bindparam("keys", keys, type_=postgresql.ARRAY(String))
        )
    else:
        matching = Subscriber.email_key.in_(keys)
    query = select(Subscriber.email_key, Subscriber.id).where(matching)
    return {key: id_ for key, id_ in db.session.execute(query)}


def _subscribe(
    upload: ImportFile,
    newsletter: Newsletter,
    accepted: dict[str, tuple[str, ImportRow]],
    is_suppressed_batch: IsSuppressedBatch,
    send_confirmations: bool,
) -> tuple[int, int]:
    """Subscribers, subscriptions, consent records (and confirmations) for the batch; returns
    how many subscriptions it created and how many confirmation mails it queued."""
    if not accepted:
        return 0, 0
    suppressed = set(is_suppressed_batch(list(accepted)))
    # Sorted: concurrent imports of overlapping files take the index locks in one order.
    wanted = sorted(key for key in accepted if key not in suppressed)
    if not wanted:
        return 0, 0
    now = utcnow()
    ids = _subscriber_ids(accepted, wanted, send_confirmations, now)
    created_ids = set(
        _insert_batch(
            Subscription.__table__,
            [
                {
                    "subscriber_id": subscriber_id,
                    "newsletter_id": newsletter.id,
                    "status": CONFIRMED if accepted[key][1].confirm_time else PENDING,
                    "created_at": now,
                    "updated_at": now,
                    "confirmed_at": accepted[key][1].confirm_time,
                    "unsubscribed_at": None,
                }
                for key, (subscriber_id, _new) in ids.items()
            ],
            returning=("subscriber_id",),
            conflict=("subscriber_id", "newsletter_id"),
        ).scalars()
    )
    created = [
        _Created(subscriber_id, *accepted[key], new_subscriber=new)
        for key, (subscriber_id, new) in ids.items()
        if subscriber_id in created_ids
    ]
    if not created:
        return 0, 0
    # Claimed before the consent records exist: the claim refuses an address whose opt-in
    # for the same list is a minute old, and these records would be.
    to_mail = [item for item in created if send_confirmations and _may_mail(item, newsletter)]
    consent_rows = [_consent(upload, newsletter, item, now) for item in created]
    consent_ids = {
        subscriber_id: consent_id
        for subscriber_id, consent_id in _insert_batch(
            Consent.__table__, consent_rows, returning=("subscriber_id", "id")
        )
    }
    for item in to_mail:
        queue_confirmation(
            item.address, item.subscriber_id, [newsletter], consent_ids[item.subscriber_id]
        )
    return len(created), len(to_mail)


def _subscriber_ids(
    accepted: dict[str, tuple[str, ImportRow]],
    wanted: list[str],
    send_confirmations: bool,
    now: datetime,
) -> dict[str, tuple[int, bool]]:
    """Each wanted key's subscriber id, and whether this batch created the subscriber.

    A new subscriber who will be mailed a confirmation has it counted against today's cap as
    it is written (as signups do); a known one claims it later, in _may_mail.
    """
    rows = []
    for key in wanted:
        address, row = accepted[key]
        mailed = send_confirmations and not row.confirm_time
        rows.append(
            {
                "email": address,
                "email_key": key,
                "created_at": now,
                "confirmations_day": now.date() if mailed else None,
                "confirmations_sent": 1 if mailed else 0,
                "already_subscribed_notice_at": None,
            }
        )
    inserted = _insert_batch(
        Subscriber.__table__, rows, returning=("email_key", "id"), conflict=("email_key",)
    )
    ids = {key: (id_, True) for key, id_ in inserted}
    known = [key for key in wanted if key not in ids]
    if known:
        ids.update((key, (id_, False)) for key, id_ in _known_subscriber_ids(known).items())
    # In `wanted` order (sorted, for the lock order). A key missing here was erased between
    # the two statements: its row is skipped.
    return {key: ids[key] for key in wanted if key in ids}


def _may_mail(item: _Created, newsletter: Newsletter) -> bool:
    if item.row.confirm_time:
        return False  # confirmed by the file: nothing to ask
    return item.new_subscriber or claim_confirmation(item.subscriber_id, newsletter.slug)


def _consent(upload: ImportFile, newsletter: Newsletter, item: _Created, now: datetime) -> dict:
    row = item.row
    origin = f'Imported from the {KIND_NAMES[upload.kind]} "{upload.name}", line {row.line}'
    return {
        "subscriber_id": item.subscriber_id,
        "newsletter_slugs": newsletter.slug,
        "source": SOURCE_IMPORT,
        "source_url": None,
        "ip": row.optin_ip,
        "user_agent": None,
        "wording": f"{origin} ({newsletter.name}){_evidence(row)}",
        "signed_up_at": row.optin_time or row.confirm_time or now,
        "confirmed_at": row.confirm_time,
    }


def _evidence(row: ImportRow) -> str:
    """The original opt-in and confirmation, as the file states them."""
    parts = []
    for what, moment, ip in (
        ("opted in", row.optin_time, row.optin_ip),
        ("confirmed", row.confirm_time, row.confirm_ip),
    ):
        if moment or ip:
            when = f" {moment:%Y-%m-%d %H:%M:%S} UTC" if moment else ""
            parts.append(f"{what}{when}" + (f" from {ip}" if ip else ""))
    return ": " + "; ".join(parts) if parts else ""
