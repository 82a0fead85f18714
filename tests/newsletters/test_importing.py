"""Importing subscribers from a file: what the outlet and its readers would notice afterwards."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from mailer import suppressions
from mailer.suppression_models import IMPORT_UNSUBSCRIBED, MANUAL, Suppression
from newsletters.import_file import ImportFile
from newsletters.importing import SOURCE_IMPORT, import_subscribers
from newsletters.models import Consent, Subscriber, Subscription
from newsletters.services import UnknownNewsletter
from tests.newsletters.helpers import (
    confirm_path,
    consents,
    outbox,
    path_of,
    statuses,
    subscribe_and_confirm,
    subscribe_api,
)
from tools.make_mailchimp_export import write_export

SAMPLES = Path(__file__).parent / "samples"
SUBSCRIBED = SAMPLES / "subscribed_members_export_sample.csv"
UNSUBSCRIBED = SAMPLES / "unsubscribed_members_export_sample.csv"
CLEANED = SAMPLES / "cleaned_members_export_sample.csv"


def run_import(app, source, slug="explaining-ukraine", encoding=None, **options):
    """Import as the command will; returns (result, problems as (line, reason))."""
    problems = []
    if isinstance(source, str):
        source = io.BytesIO(source.encode())
    with app.app_context(), ImportFile(source, encoding=encoding, name="readers.csv") as upload:
        result = import_subscribers(
            upload,
            slug,
            report_problem=lambda problem: problems.append((problem.line, problem.reason)),
            **options,
        )
    return result, problems


def suppress_now(app, address: str, erased: bool = False) -> None:
    with app.app_context():
        if erased:
            suppressions.suppress_hash_only(address)
        else:
            suppressions.suppress(address, MANUAL)
        db.session.commit()


def suppression(app, address: str):
    with app.app_context():
        return suppressions.suppression_for(address)


def suppression_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Suppression))


def table_counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Subscriber, Subscription, Consent)
        )


# --- Mailchimp subscribed export ---------------------------------------------------------------


def test_mailchimp_export_confirms_rows_with_a_confirm_time_and_leaves_others_pending(lists):
    result, problems = run_import(lists, SUBSCRIBED.open("rb"))
    assert result.summary() == "imported 4, skipped 1, suppressed 0"
    assert statuses(lists, "olena.k@example.com") == {"explaining-ukraine": "confirmed"}
    assert statuses(lists, "mark.t@example.com") == {"explaining-ukraine": "confirmed"}
    assert statuses(lists, "no.confirm@example.com") == {"explaining-ukraine": "pending"}
    assert statuses(lists, "Mixed.Case@example.com") == {"explaining-ukraine": "confirmed"}


def test_invalid_address_is_reported_with_its_line(lists):
    result, problems = run_import(lists, SUBSCRIBED.open("rb"))
    assert [line for line, _ in problems] == [6]
    assert problems[0][1].startswith("'not-an-address' is not valid:")
    assert result.invalid == 1


def test_consent_record_cites_the_file_and_keeps_the_original_times_and_ips(lists):
    run_import(lists, SUBSCRIBED.open("rb"))
    olena = next(c for c in consents(lists) if "line 2 " in c.wording)
    assert olena.source == SOURCE_IMPORT
    assert olena.newsletter_slugs == "explaining-ukraine"
    assert olena.ip == "203.0.113.7"
    assert olena.signed_up_at == datetime(2024, 2, 24, 8, 12, 3, tzinfo=UTC)
    assert olena.confirmed_at == datetime(2024, 2, 24, 8, 14, 55, tzinfo=UTC)
    assert olena.wording == (
        'Imported from the Mailchimp export of subscribed contacts "readers.csv", line 2 '
        "(Explaining Ukraine with Kate Tsurkan): opted in 2024-02-24 08:12:03 UTC from "
        "203.0.113.7; confirmed 2024-02-24 08:14:55 UTC from 203.0.113.7"
    )


def test_consent_record_ip_is_the_opt_in_ip_and_the_confirmation_ip_is_cited(lists):
    header = "Email Address,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP\n"
    run_import(lists, header + "a@example.com,,192.0.2.1,2024-01-01 10:00:00,2001:db8::7\n")
    (consent,) = consents(lists)
    assert consent.ip == "192.0.2.1"
    assert consent.wording.endswith(
        ": opted in from 192.0.2.1; confirmed 2024-01-01 10:00:00 UTC from 2001:db8::7"
    )
    assert consent.signed_up_at == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)


def test_confirmed_subscription_carries_the_original_confirmation_time(lists):
    run_import(lists, SUBSCRIBED.open("rb"))
    with lists.app_context():
        confirmed_at = db.session.scalar(
            select(Subscription.confirmed_at)
            .join(Subscriber)
            .where(Subscriber.email_key == "mark.t@example.com")
        )
    assert confirmed_at == datetime(2023, 11, 2, 17, 40, 11, tzinfo=UTC)


def test_every_created_subscription_has_one_consent_record(lists):
    run_import(lists, SUBSCRIBED.open("rb"))
    assert table_counts(lists) == (4, 4, 4)


def test_importing_the_same_file_again_changes_nothing(lists):
    run_import(lists, SUBSCRIBED.open("rb"))
    before = table_counts(lists)
    result, problems = run_import(lists, SUBSCRIBED.open("rb"))
    assert result.summary() == "imported 0, skipped 5, suppressed 0"
    assert table_counts(lists) == before


def test_plain_csv_rows_become_pending_and_get_no_mail(lists):
    result, _ = run_import(lists, "email,name\nann@example.com,Ann\nbo@example.com,Bo\n")
    assert result.summary() == "imported 2, skipped 0, suppressed 0"
    assert statuses(lists, "ann@example.com") == {"explaining-ukraine": "pending"}
    assert outbox(lists) == []


def test_plain_csv_consent_record_cites_the_file_with_the_import_time(lists):
    before = datetime.now(UTC)
    run_import(lists, "email\nann@example.com\n")
    (consent,) = consents(lists)
    assert consent.wording == (
        'Imported from the list of addresses "readers.csv", line 2 '
        "(Explaining Ukraine with Kate Tsurkan)"
    )
    assert consent.confirmed_at is None and consent.ip is None
    assert consent.signed_up_at >= before


# --- what is already there ---------------------------------------------------------------------


def test_pending_reader_stays_pending_though_the_file_says_confirmed(lists, client):
    subscribe_api(client, "mark.t@example.com")
    result, _ = run_import(lists, SUBSCRIBED.open("rb"))
    assert statuses(lists, "mark.t@example.com") == {"explaining-ukraine": "pending"}
    assert result.summary() == "imported 3, skipped 2, suppressed 0"


def test_reader_who_left_stays_unsubscribed(lists, client):
    subscribe_and_confirm(lists, client, "mark.t@example.com")
    (welcome,) = outbox(lists, "welcome")
    client.post(path_of(welcome.headers["List-Unsubscribe"].strip("<>")))
    run_import(lists, SUBSCRIBED.open("rb"))
    assert statuses(lists, "mark.t@example.com") == {"explaining-ukraine": "unsubscribed"}


def test_known_reader_of_another_list_joins_the_imported_list(lists, client):
    subscribe_api(client, "mark.t@example.com", ["morning-briefing"])
    result, _ = run_import(lists, SUBSCRIBED.open("rb"))
    assert statuses(lists, "mark.t@example.com") == {
        "morning-briefing": "pending",
        "explaining-ukraine": "confirmed",
    }
    assert result.imported == 4


def test_address_repeated_in_the_file_is_imported_once(lists):
    result, _ = run_import(lists, "email\nann@example.com\nANN@EXAMPLE.COM\n")
    assert result.summary() == "imported 1, skipped 1, suppressed 0"


def test_address_repeated_in_a_later_batch_is_skipped_too(lists):
    result, _ = run_import(lists, "email\nann@example.com\nbo@example.com\nAnn@example.com\n",
                           batch_size=2)  # fmt: skip
    assert result.summary() == "imported 2, skipped 1, suppressed 0"
    assert table_counts(lists) == (2, 2, 2)


def test_suppressed_address_is_skipped_and_leaves_no_trace(lists):
    suppress_now(lists, "Mark.T@example.com")
    result, _ = run_import(lists, SUBSCRIBED.open("rb"))
    assert result.summary() == "imported 3, skipped 2, suppressed 0"
    assert statuses(lists, "mark.t@example.com") == {}


def test_erased_reader_is_not_brought_back_by_an_import(lists):
    suppress_now(lists, "olena.k@example.com", erased=True)
    run_import(lists, SUBSCRIBED.open("rb"))
    assert statuses(lists, "olena.k@example.com") == {}
    assert suppression(lists, "olena.k@example.com").address is None


def test_import_never_lifts_a_suppression(lists):
    suppress_now(lists, "mark.t@example.com")
    run_import(lists, SUBSCRIBED.open("rb"), send_confirmations=True)
    assert suppression(lists, "mark.t@example.com").reason == MANUAL


# --- unsubscribed and cleaned exports -----------------------------------------------------------


def test_unsubscribed_export_suppresses_its_addresses_and_subscribes_nobody(lists):
    result, _ = run_import(lists, UNSUBSCRIBED.open("rb"))
    assert result.summary() == "imported 0, skipped 0, suppressed 1"
    entry = suppression(lists, "left.us@example.com")
    assert (entry.address, entry.reason) == ("left.us@example.com", IMPORT_UNSUBSCRIBED)
    assert entry.detail == (
        'Mailchimp export of unsubscribed contacts "readers.csv", line 2; '
        "unsubscribed 2024-08-08 08:08:08 UTC"
    )
    assert table_counts(lists) == (0, 0, 0)


def test_cleaned_export_imported_twice_suppresses_once(lists):
    run_import(lists, CLEANED.open("rb"))
    result, _ = run_import(lists, CLEANED.open("rb"))
    assert result.summary() == "imported 0, skipped 1, suppressed 0"
    assert suppression(lists, "bounced.away@example.com").reason == "import-cleaned"
    assert suppression_count(lists) == 1


def test_unsubscribed_export_skips_an_address_suppressed_already(lists):
    suppress_now(lists, "left.us@example.com")
    result, _ = run_import(lists, UNSUBSCRIBED.open("rb"))
    assert result.summary() == "imported 0, skipped 1, suppressed 0"
    assert suppression(lists, "left.us@example.com").reason == MANUAL


def test_unsubscribed_export_leaves_a_known_readers_subscription_alone(lists, client):
    subscribe_and_confirm(lists, client, "left.us@example.com")
    run_import(lists, UNSUBSCRIBED.open("rb"))
    assert statuses(lists, "left.us@example.com") == {"explaining-ukraine": "confirmed"}


# --- confirmations ------------------------------------------------------------------------------


def test_send_confirmations_mails_each_new_pending_reader_a_link_that_confirms(lists, client):
    run_import(lists, "email\nann@example.com\nbo@example.com\n", send_confirmations=True)
    assert sorted(mail.to_addr for mail in outbox(lists, "confirm")) == [
        "ann@example.com",
        "bo@example.com",
    ]
    assert client.post(confirm_path(lists, "ann@example.com")).status_code == 200
    assert statuses(lists, "ann@example.com") == {"explaining-ukraine": "confirmed"}
    ann = next(c for c in consents(lists) if "line 2 " in c.wording)
    assert ann.confirmed_at is not None


def test_send_confirmations_mails_nobody_the_file_shows_confirmed(lists):
    run_import(lists, SUBSCRIBED.open("rb"), send_confirmations=True)
    assert [mail.to_addr for mail in outbox(lists, "confirm")] == ["no.confirm@example.com"]


def test_send_confirmations_mails_nobody_already_known_on_that_list(lists, client):
    subscribe_api(client, "ann@example.com")
    run_import(lists, "email\nann@example.com\n", send_confirmations=True)
    assert len(outbox(lists, "confirm")) == 1  # the signup's own


def test_send_confirmations_keeps_the_daily_cap_of_a_known_address(make_app):
    from tests.newsletters.helpers import load_lists

    app = load_lists(make_app(CONFIRMATIONS_PER_DAY=1))
    subscribe_api(app.test_client(), "ann@example.com", ["morning-briefing"])
    result, _ = run_import(app, "email\nann@example.com\n", send_confirmations=True)
    assert result.imported == 1
    assert statuses(app, "ann@example.com")["explaining-ukraine"] == "pending"
    assert [mail.to_addr for mail in outbox(app, "confirm")] == ["ann@example.com"]


# --- whole files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"encoding": "utf-16", "delimiter": "\t", "line_ending": "\r\n"},
        {"encoding": "cp1251", "delimiter": ";"},
    ],
    ids=["utf8", "utf16-tab-crlf", "cp1251-semicolon"],
)
def test_generated_export_counts_and_reports_exactly_what_was_written(lists, tmp_path, options):
    path = tmp_path / "subscribed.csv"
    manifest = write_export(
        path, rows=2500, bad_every=37, repeat_every=41, newline_every=7, **options
    )
    named = options.get("encoding") if options.get("encoding") == "cp1251" else None
    result, problems = run_import(lists, path.open("rb"), encoding=named, batch_size=300)
    assert result.imported == manifest.usable
    assert result.skipped == manifest.rows - manifest.usable
    assert [line for line, _ in problems] == sorted(
        manifest.reader_problems + manifest.invalid_addresses
    )
    with lists.app_context():
        confirmed = db.session.scalar(
            select(func.count()).where(Subscription.status == "confirmed")
        )
    assert confirmed == manifest.confirmed


def test_import_stopped_half_way_is_finished_by_running_it_again(lists, tmp_path):
    path = tmp_path / "subscribed.csv"
    manifest = write_export(path, rows=1000, bad_every=50)

    def stop_after_first_batch(rows):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_import(lists, path.open("rb"), batch_size=300, progress=stop_after_first_batch)
    first_batch = table_counts(lists)
    result, _ = run_import(lists, path.open("rb"), batch_size=300)
    assert 0 < first_batch[1] < manifest.usable
    assert result.imported == manifest.usable - first_batch[1]
    assert table_counts(lists)[1] == manifest.usable


def test_progress_hears_every_row_once(lists, tmp_path):
    path = tmp_path / "subscribed.csv"
    write_export(path, rows=1000, bad_every=50)
    heard = []
    run_import(lists, path.open("rb"), batch_size=300, progress=heard.append)
    assert heard == [300, 300, 300, 100]


def test_unknown_list_is_refused_before_anything_is_imported(lists):
    with pytest.raises(UnknownNewsletter):
        run_import(lists, SUBSCRIBED.open("rb"), slug="no-such-list")
    assert table_counts(lists) == (0, 0, 0)
