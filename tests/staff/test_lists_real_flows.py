"""The lists page after readers sign up, confirm and leave through the real public endpoints."""

from __future__ import annotations

import re

import pytest

from tests.newsletters.helpers import confirm_path, load_lists, outbox, path_of
from tests.staff.conftest import sign_in
from tests.staff.factories import make_staff

LIST = "morning-briefing"


def _leave(app, client, email: str) -> None:
    (welcome,) = [m for m in outbox(app, "welcome") if m.to_addr == email]
    one_click = path_of(welcome.headers["List-Unsubscribe"].strip("<>"))
    assert client.post(one_click, data={"List-Unsubscribe": "One-Click"}).status_code == 200


@pytest.fixture
def audience(make_app):
    """Four readers of one list: API, article page, embed and API again; two confirm, one leaves."""
    app = load_lists(make_app())
    reader = app.test_client()
    api = {"newsletters": [LIST]}
    assert (
        reader.post("/api/subscriptions", json={"email": "a@example.org", **api}).status_code == 202
    )
    page_form = {"email": "b@example.org", "newsletters": LIST}
    assert reader.post("/subscribe", data=page_form).status_code == 200
    embed_form = {"email": "c@example.org", "newsletters": LIST, "source": "embed"}
    assert reader.post("/subscribe", data=embed_form).status_code == 200
    assert (
        reader.post("/api/subscriptions", json={"email": "d@example.org", **api}).status_code == 202
    )
    for email in ("a@example.org", "b@example.org"):
        assert reader.post(confirm_path(app, email)).status_code == 200
    _leave(app, reader, "a@example.org")

    with app.app_context():
        make_staff("editor@newsroom.test")
    staff = app.test_client()
    assert sign_in(staff, "editor@newsroom.test").status_code == 302
    return staff


def _row(page: str, slug: str) -> str:
    return re.search(rf'<tr data-slug="{slug}">.*?</tr>', page, re.S).group(0)


def _cell(row: str, name: str) -> str:
    return re.search(rf'<td class="num {name}">([^<]*)</td>', row).group(1)


def test_the_lists_page_counts_what_readers_did(audience):
    row = _row(audience.get("/staff/lists").get_data(as_text=True), LIST)
    assert _cell(row, "confirmed") == "1"
    assert _cell(row, "pending") == "2"
    assert _cell(row, "unsubscribed") == "1"
    assert _cell(row, "rate") == "50.0%"  # two of four confirmed, one of whom left later


def test_signups_this_week_are_split_by_the_source_readers_used(audience):
    page = audience.get("/staff/lists").get_data(as_text=True)
    table = page[page.index("<caption>Opt-in requests per week") :]
    this_week = re.findall(r"<tr><th scope=\"row\">[^<]+</th>(.*?)</tr>", table)[-1]
    assert re.findall(r'<td class="num">(\d+)</td>', this_week) == ["1", "1", "2", "4"]
