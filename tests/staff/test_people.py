"""Finding people and reading a subscriber's consent record."""

from __future__ import annotations

from datetime import timedelta

from database import utcnow
from staff import people
from tests.staff.factories import (
    make_consent,
    make_member,
    make_newsletter,
    make_subscriber,
    make_tier,
    subscribe,
)


def test_subscribers_are_found_by_part_of_the_address_whatever_the_case(editor_client):
    make_subscriber("Olena.Koval@example.org")
    make_subscriber("someone@else.example")
    page = editor_client.get("/staff/people?q=KOVAL").get_data(as_text=True)
    assert "Olena.Koval@example.org" in page
    assert "someone@else.example" not in page


def test_percent_and_underscore_in_a_search_are_taken_literally(app_ctx):
    make_subscriber("a_b@example.org")
    make_subscriber("axb@example.org")
    found = people.search_subscribers("a_b").items
    assert [item.email for item in found] == ["a_b@example.org"]
    assert people.search_subscribers("%").items == []


def test_subscribers_come_a_page_at_a_time(editor_client):
    for n in range(5):
        make_subscriber(f"reader{n}@example.org")
    first = people.search_subscribers("reader", size=2)
    assert [item.email for item in first.items] == ["reader0@example.org", "reader1@example.org"]
    second = people.search_subscribers("reader", after=first.next_after, size=2)
    assert [item.email for item in second.items] == ["reader2@example.org", "reader3@example.org"]
    last = people.search_subscribers("reader", after=second.next_after, size=2)
    assert [item.email for item in last.items] == ["reader4@example.org"]
    assert last.next_after is None


def test_the_people_page_links_to_the_next_page(editor_client):
    for n in range(people.PAGE_SIZE + 1):
        make_subscriber(f"reader{n:03d}@example.org")
    page = editor_client.get("/staff/people?q=reader").get_data(as_text=True)
    assert page.count("/staff/people/subscribers/") == people.PAGE_SIZE
    assert 'rel="next"' in page
    last_id = people.search_subscribers("reader").next_after
    second = editor_client.get(f"/staff/people?q=reader&after={last_id}").get_data(as_text=True)
    assert "reader050@example.org" in second and 'rel="next"' not in second


def test_members_are_found_by_address(editor_client):
    tier = make_tier("five", 500)
    make_member(tier, email="Supporter@Example.org")
    make_member(tier, email="other@example.org", status="canceled")
    page = editor_client.get("/staff/people?kind=members&q=Supporter").get_data(as_text=True)
    assert "supporter@example.org" in page and "Five" in page
    assert "other@example.org" not in page


def test_a_subscriber_record_shows_lists_and_consent(editor_client):
    daily = make_newsletter("daily", name="The Daily")
    reader = make_subscriber("reader@example.org")
    subscribe(reader, daily, "confirmed")
    signed_up = utcnow() - timedelta(days=2)
    make_consent(
        reader,
        "daily",
        "embed",
        signed_up,
        source_url="https://outlet.example/story?id=7",
        ip="203.0.113.5",
        user_agent="Mozilla/5.0 (X11; Linux x86_64)",
        wording="Send me The Daily. I can unsubscribe at any time.",
        confirmed_at=signed_up + timedelta(minutes=5),
    )
    page = editor_client.get(f"/staff/people/subscribers/{reader.id}").get_data(as_text=True)
    assert "The Daily" in page and "confirmed" in page
    for shown in (
        "Embed",
        "https://outlet.example/story?id=7",
        "203.0.113.5",
        "Mozilla/5.0 (X11; Linux x86_64)",
        "Send me The Daily. I can unsubscribe at any time.",
        signed_up.strftime("%Y-%m-%d %H:%M"),
        (signed_up + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M"),
    ):
        assert shown in page, shown


def test_consent_text_is_escaped(editor_client):
    reader = make_subscriber("reader@example.org")
    make_consent(reader, "daily", "api", user_agent="<script>alert(1)</script>")
    page = editor_client.get(f"/staff/people/subscribers/{reader.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_an_unknown_subscriber_is_404(editor_client):
    assert editor_client.get("/staff/people/subscribers/12345").status_code == 404
