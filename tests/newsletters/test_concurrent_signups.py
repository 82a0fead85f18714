"""Ten readers' browsers (or one impatient reader) signing one address up at the same moment."""

from __future__ import annotations

import threading

import pytest

from newsletters.catalogue import open_lists
from tests.newsletters.helpers import count_subscribers, links_in, load_lists, outbox, statuses

pytestmark = pytest.mark.postgresql


@pytest.fixture(params=[0, 600], ids=["lists-read-each-time", "lists-kept"])
def app(make_app, request):
    # Lists kept (production keeps them a few seconds): a signup reads nothing before its own
    # statement, so a new address's statement runs as a transaction of its own.
    app = make_app(LISTS_CACHE_SECONDS=request.param)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("needs parallel writers: run with TEST_DATABASE_URL on PostgreSQL")
    load_lists(app)
    with app.app_context():
        open_lists()
    return app


def sign_up_at_once(app, bodies: list[dict]) -> list[int]:
    barrier = threading.Barrier(len(bodies))
    answers: list[int] = [0] * len(bodies)

    def one(index: int, body: dict) -> None:
        client = app.test_client()
        barrier.wait()
        answers[index] = client.post("/api/subscriptions", json=body).status_code

    threads = [threading.Thread(target=one, args=(i, body)) for i, body in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_ten_concurrent_signups_make_one_subscriber_and_one_confirmation(app):
    answers = sign_up_at_once(app, [{"email": "reader@example.com"}] * 10)
    assert answers == [202] * 10
    assert count_subscribers(app) == 1
    assert statuses(app, "reader@example.com") == {"explaining-ukraine": "pending"}
    (mail,) = outbox(app, "confirm")
    assert len(links_in(mail.text_body, "/confirm/")) == 1


def test_concurrent_signups_in_different_cases_are_one_subscriber(app):
    bodies = [{"email": f"{'READER' if i % 2 else 'reader'}@Example.com"} for i in range(10)]
    assert sign_up_at_once(app, bodies) == [202] * 10
    assert count_subscribers(app) == 1
    assert len(outbox(app, "confirm")) <= 1


def test_concurrent_signups_to_several_lists_make_one_row_per_list(app):
    bodies = [
        {"email": "reader@example.com", "newsletters": ["morning-briefing", "investigations"]},
        {"email": "reader@example.com", "newsletters": ["investigations", "morning-briefing"]},
    ] * 5
    assert sign_up_at_once(app, bodies) == [202] * 10
    assert statuses(app, "reader@example.com") == {
        "morning-briefing": "pending",
        "investigations": "pending",
    }
    assert len(outbox(app, "confirm")) == 1
