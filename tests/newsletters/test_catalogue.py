"""Signups read the open lists from a per-process snapshot; changes still show at once here."""

from extensions import db
from newsletters.lists import set_archived
from newsletters.models import Newsletter
from tests.newsletters.helpers import add_default_list, subscribe_api


def _cached_app(make_app):
    return add_default_list(make_app(LISTS_CACHE_SECONDS=3600))


def _signup(client, slugs):
    return subscribe_api(client, "reader@example.com", slugs)


def test_a_list_added_by_the_command_takes_signups_at_once_despite_the_snapshot(make_app):
    app = _cached_app(make_app)
    client = app.test_client()
    assert _signup(client, []).status_code == 202  # the snapshot now holds "daily" only
    result = app.test_cli_runner().invoke(args=["newsletters", "add", "weekly", "--name", "Weekly"])
    assert result.exit_code == 0
    assert _signup(client, ["weekly"]).status_code == 202


def test_a_list_archived_by_staff_refuses_signups_at_once_despite_the_snapshot(make_app):
    app = _cached_app(make_app)
    client = app.test_client()
    assert _signup(client, ["daily"]).status_code == 202
    with app.app_context():
        set_archived(db.session.query(Newsletter).filter_by(slug="daily").one(), True)
        db.session.commit()
    refused = _signup(client, ["daily"])
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "unknown_newsletter"


def test_a_change_rolled_back_leaves_the_lists_as_they_were(make_app):
    app = _cached_app(make_app)
    client = app.test_client()
    with app.app_context():
        set_archived(db.session.query(Newsletter).filter_by(slug="daily").one(), True)
        db.session.rollback()
    assert _signup(client, ["daily"]).status_code == 202
