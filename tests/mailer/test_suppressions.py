"""The suppression list as the rest of the service uses it: who gets no list mail."""

from __future__ import annotations

import hashlib
import threading

import idna
import pytest
from sqlalchemy import event, select

from addresses import InvalidEmail
from extensions import db
from mailer import suppressions
from mailer.suppression_models import BOUNCE, COMPLAINT, ERASED, MANUAL, Suppression


def test_a_suppressed_address_is_found_whatever_its_case(app_ctx):
    suppressions.suppress("Reader@Example.COM", BOUNCE, "5.1.1 user unknown")
    db.session.commit()

    assert suppressions.is_suppressed("reader@example.com")
    assert suppressions.is_suppressed("  READER@example.com ")
    assert not suppressions.is_suppressed("other@example.com")


def test_a_punycode_domain_finds_the_reader_who_signed_up_with_the_unicode_one(app_ctx):
    suppressions.suppress("читач@новини.example", BOUNCE)
    db.session.commit()

    ascii_domain = idna.encode("новини.example").decode("ascii")
    assert ascii_domain.startswith("xn--")
    assert suppressions.is_suppressed(f"читач@{ascii_domain}")


def test_suppressing_again_keeps_the_first_reason_and_says_nothing_was_added(app_ctx):
    assert suppressions.suppress("reader@example.com", COMPLAINT, "abuse report") is True
    assert suppressions.suppress("reader@example.com", BOUNCE, "5.1.1") is False
    db.session.commit()

    entry = suppressions.suppression_for("reader@example.com")
    assert (entry.reason, entry.detail) == (COMPLAINT, "abuse report")
    assert db.session.scalar(select(db.func.count()).select_from(Suppression)) == 1


def test_concurrent_suppressions_of_one_address_leave_one_row_and_one_winner(app):
    outcomes: list[bool] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def suppress_once() -> None:
        with app.app_context():
            try:
                start.wait()
                outcomes.append(suppressions.suppress("Race@Example.com", BOUNCE))
                db.session.commit()
            except BaseException as error:  # the assertion below shows it
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=suppress_once) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(outcomes) == [False] * 7 + [True]
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Suppression)) == 1


def test_unsuppress_lifts_it_and_says_whether_there_was_one(app_ctx):
    suppressions.suppress("reader@example.com", MANUAL)
    db.session.commit()

    assert suppressions.unsuppress("READER@example.com") is True
    db.session.commit()
    assert not suppressions.is_suppressed("reader@example.com")
    assert suppressions.unsuppress("reader@example.com") is False


def test_a_batch_is_checked_in_one_query_and_answered_in_the_spellings_given(app_ctx):
    suppressions.suppress("b3@example.com", BOUNCE)
    suppressions.suppress("b7@example.com", COMPLAINT)
    db.session.commit()
    batch = [f"B{n}@example.com" for n in range(500)] + ["not an address"]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        found = suppressions.suppressed_among(batch)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert found == {"B3@example.com", "B7@example.com"}
    assert len([s for s in statements if "suppressions" in s]) == 1


def test_a_batch_of_stored_addresses_can_skip_validation_and_finds_the_same(app_ctx):
    suppressions.suppress("Reader@Bücher.example", BOUNCE)
    db.session.commit()
    stored = [suppressions.normalised_address(a) for a in ("reader@bücher.example", "x@y.example")]

    assert suppressions.suppressed_among(stored, already_normalised=True) == {stored[0]}


def test_an_erased_reader_stays_suppressed_with_no_address_or_note_left(app_ctx):
    suppressions.suppress("gone@example.com", BOUNCE, "550 5.1.1 <gone@example.com> unknown")
    db.session.commit()

    suppressions.suppress_hash_only("gone@example.com")
    db.session.commit()

    row = db.session.scalars(select(Suppression)).one()
    assert (row.address, row.detail, row.reason) == (None, "", ERASED)
    assert "gone" not in repr(
        db.session.execute(select(Suppression.__table__)).one()
    )  # no column holds any part of it
    assert suppressions.is_suppressed("Gone@example.com")


def test_an_erasure_of_an_address_never_suppressed_keeps_only_its_hash(app_ctx):
    suppressions.suppress_hash_only("never@example.com")
    db.session.commit()

    row = db.session.scalars(select(Suppression)).one()
    assert row.address is None
    assert suppressions.is_suppressed("never@example.com")


def test_a_bounce_after_an_erasure_does_not_write_the_address_back(app_ctx):
    suppressions.suppress_hash_only("gone@example.com")
    suppressions.suppress("gone@example.com", BOUNCE, "5.1.1")
    db.session.commit()

    row = db.session.scalars(select(Suppression)).one()
    assert (row.address, row.reason) == (None, ERASED)


def test_the_stored_hash_needs_the_secret_key_to_match_an_address(make_app):
    plain_sha256 = hashlib.sha256(b"reader@example.com").hexdigest()
    hashes = []
    for key in ("first-secret", "second-secret"):
        with make_app(SECRET_KEY=key).app_context():
            hashes.append(suppressions.address_hash("Reader@example.com"))

    assert hashes[0] != hashes[1]
    assert plain_sha256 not in hashes


def test_the_list_is_paged_newest_first_and_filters_by_reason(app_ctx):
    for n in range(5):
        suppressions.suppress(f"r{n}@example.com", BOUNCE if n % 2 else MANUAL)
        db.session.commit()

    first = suppressions.list_suppressions(page=1, per_page=2)
    last = suppressions.list_suppressions(page=3, per_page=2)
    bounces = suppressions.list_suppressions(reason=BOUNCE)

    assert [e.address for e in first.entries] == ["r4@example.com", "r3@example.com"]
    assert [e.address for e in last.entries] == ["r0@example.com"]
    assert (first.total, first.pages) == (5, 3)
    assert [e.address for e in bounces.entries] == ["r3@example.com", "r1@example.com"]


@pytest.mark.parametrize("raw", ["", "reader", "Joe <joe@example.com>", "a@b@c.com"])
def test_something_that_is_not_an_address_is_refused_and_never_suppressed(app_ctx, raw):
    with pytest.raises(InvalidEmail):
        suppressions.suppress(raw, MANUAL)
    assert not suppressions.is_suppressed(raw)
    assert db.session.scalar(select(db.func.count()).select_from(Suppression)) == 0
