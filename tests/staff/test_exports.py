"""CSV exports: their content, formula-safe cells, an audit row, and flat memory."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import timedelta

import pytest
from sqlalchemy import insert, literal, select

from database import utcnow
from extensions import db
from newsletters.models import Consent, Subscriber, Subscription
from staff.exports import MEMBER_COLUMNS, SUBSCRIBER_COLUMNS, safe_cell
from staff.models import AuditLog
from tests.staff.factories import (
    make_consent,
    make_member,
    make_newsletter,
    make_subscriber,
    make_tier,
    subscribe,
)


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_a_list_export_has_each_subscriber_with_the_consent_for_that_list(admin_client):
    daily = make_newsletter("daily")
    reader = make_subscriber("reader@example.org")
    subscribe(reader, daily, "confirmed")
    first = utcnow() - timedelta(days=30)
    make_consent(reader, "weekly", "page", first, ip="192.0.2.1")
    make_consent(reader, "daily", "page", first, ip="192.0.2.2")
    make_consent(
        reader,
        "daily weekly",
        "embed",
        first + timedelta(days=1),
        source_url="https://outlet.example/a",
        ip="192.0.2.3",
        user_agent="Firefox",
        wording="Yes please",
    )
    make_consent(reader, "weekly", "api", first + timedelta(days=2), ip="192.0.2.4")
    other = make_subscriber("elsewhere@example.org")
    subscribe(other, make_newsletter("weekly"), "pending")

    response = admin_client.get(f"/staff/lists/{daily.id}/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _rows(response)
    assert list(rows[0].keys()) == SUBSCRIBER_COLUMNS
    assert len(rows) == 1
    row = rows[0]
    assert (row["email"], row["status"]) == ("reader@example.org", "confirmed")
    assert (row["consent_source"], row["consent_ip"], row["consent_wording"]) == (
        "embed",
        "192.0.2.3",
        "Yes please",
    )
    assert row["consent_source_url"] == "https://outlet.example/a"
    assert row["consent_signed_up_at"].startswith((first + timedelta(days=1)).date().isoformat())


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted(admin_client):
    daily = make_newsletter("daily")
    reader = make_subscriber("=cmd@example.org")
    subscribe(reader, daily, "pending")
    make_consent(reader, "daily", "api", user_agent="+SUM(A1)", wording="@import", ip="-1")
    row = _rows(admin_client.get(f"/staff/lists/{daily.id}/export.csv"))[0]
    assert row["email"] == "'=cmd@example.org"
    assert (row["consent_user_agent"], row["consent_wording"], row["consent_ip"]) == (
        "'+SUM(A1)",
        "'@import",
        "'-1",
    )
    assert safe_cell("\tx") == "'\tx" and safe_cell("plain") == "plain" and safe_cell(None) == ""


def test_the_members_export_lists_every_subscription_with_its_tier(admin_client):
    tier = make_tier("five", 500)
    make_member(tier, email="a@example.org", customer="cus_A")
    make_member(tier, email="b@example.org", customer="cus_B", status="canceled")
    rows = _rows(admin_client.get("/staff/members/export.csv"))
    assert list(rows[0].keys()) == MEMBER_COLUMNS
    assert [(r["customer_id"], r["email"], r["tier"], r["status"]) for r in rows] == [
        ("cus_A", "a@example.org", "five", "active"),
        ("cus_B", "b@example.org", "five", "canceled"),
    ]
    assert rows[0]["amount"] == "500" and rows[0]["currency"] == "usd"


def test_an_empty_export_still_has_its_header(admin_client):
    daily = make_newsletter("daily")
    text = admin_client.get(f"/staff/lists/{daily.id}/export.csv").get_data(as_text=True)
    assert text.strip() == ",".join(SUBSCRIBER_COLUMNS)


def test_each_export_is_logged_with_who_and_what(admin_client, admin):
    daily = make_newsletter("daily")
    admin_client.get(f"/staff/lists/{daily.id}/export.csv").get_data()
    admin_client.get("/staff/members/export.csv").get_data()
    entries = db.session.scalars(
        select(AuditLog).where(AuditLog.action.like("export%")).order_by(AuditLog.id)
    ).all()
    assert [(e.action, e.staff_id) for e in entries] == [
        ("export_list_subscribers", admin.id),
        ("export_members", admin.id),
    ]
    assert "daily" in entries[0].detail


def _add_subscribers(newsletter, start: int, count: int) -> None:
    """Bulk rows through core INSERTs (executemany, then INSERT … SELECT): the ORM is too slow."""
    now = utcnow()
    db.session.execute(
        insert(Subscriber),
        [
            {
                "id": n,
                "email": f"r{n}@example.org",
                "email_key": f"r{n}@example.org",
                "created_at": now,
            }
            for n in range(start, start + count)
        ],
    )
    new_ids = Subscriber.id.between(start, start + count - 1)
    db.session.execute(
        insert(Subscription).from_select(
            [
                "subscriber_id",
                "newsletter_id",
                "status",
                "created_at",
                "updated_at",
                "confirmed_at",
            ],
            select(
                Subscriber.id,
                literal(newsletter.id),
                literal("confirmed"),
                Subscriber.created_at,
                Subscriber.created_at,
                Subscriber.created_at,
            ).where(new_ids),
        )
    )
    consent = {
        "newsletter_slugs": newsletter.slug,
        "source": "page",
        "source_url": "https://newsroom.test/story",
        "ip": "203.0.113.9",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chromium",
        "wording": "Send me the daily briefing. Unsubscribe at any time.",
    }
    db.session.execute(
        insert(Consent).from_select(
            ["subscriber_id", *consent, "signed_up_at", "confirmed_at"],
            select(
                Subscriber.id,
                *(literal(value) for value in consent.values()),
                Subscriber.created_at,
                Subscriber.created_at,
            ).where(new_ids),
        )
    )
    db.session.commit()


def _peak_while_streaming(client, url: str) -> tuple[int, int]:
    """Consumes the response chunk by chunk; returns (rows seen, peak traced bytes)."""
    response = client.get(url, buffered=False)
    assert response.status_code == 200
    lines = 0
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        for chunk in response.response:
            lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        response.close()
    return lines - 1, peak


def test_exporting_100000_subscribers_takes_no_more_memory_than_10000(admin_client):
    daily = make_newsletter("daily")
    url = f"/staff/lists/{daily.id}/export.csv"
    _add_subscribers(daily, 1, 10_000)
    rows_10k, peak_10k = _peak_while_streaming(admin_client, url)
    _add_subscribers(daily, 10_001, 90_000)
    rows_100k, peak_100k = _peak_while_streaming(admin_client, url)
    assert (rows_10k, rows_100k) == (10_000, 100_000)
    # Ten times the rows: a proportional export would need ~10× the memory.
    assert peak_100k < 2 * peak_10k + 512 * 1024, (peak_10k, peak_100k)


@pytest.mark.parametrize(
    "cell",
    ["＝cmd|' /C calc'!A0", "  =1+1", "\u3000=1+1", "\n=1+1", " +1", "＋1", "－1", "＠SUM(A1)"],
    ids=["full-width =", "spaces", "ideographic space", "newline", "space +", "＋", "－", "＠"],
)
def test_formulas_behind_spaces_or_in_full_width_characters_are_quoted(cell):
    assert safe_cell(cell) == "'" + cell


def test_ordinary_text_with_an_equals_sign_inside_is_left_alone():
    assert safe_cell("a=b") == "a=b"
    assert safe_cell("Олена Коваль") == "Олена Коваль"
