"""A reader pressing "Delete my data" twice at once (PostgreSQL: real parallel writers)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from extensions import db
from privacy.models import Erasure
from tests.newsletters.helpers import load_lists
from tests.privacy.helpers import confirmed_reader, erasure_link

pytestmark = pytest.mark.postgresql


@pytest.fixture
def app(make_app):
    app = make_app()
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("needs parallel writers: run with TEST_DATABASE_URL on PostgreSQL")
    return load_lists(app)


def test_two_erasures_at_once_erase_once_and_the_second_finds_the_reader_gone(app):
    client = app.test_client()
    link = erasure_link(
        app, client, confirmed_reader(app, client, "olena@example.com"), "olena@example.com"
    )
    barrier = threading.Barrier(4)
    answers: list[int] = []

    def press() -> None:
        own = app.test_client()
        barrier.wait()
        answers.append(own.post(link).status_code)

    threads = [threading.Thread(target=press) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answers) == [200, 404, 404, 404]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Erasure)) == 1
