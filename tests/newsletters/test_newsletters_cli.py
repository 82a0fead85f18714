"""`flask newsletters add` and the demo lists."""

from __future__ import annotations

from sqlalchemy import select, update

from extensions import db
from newsletters.models import Newsletter


def all_lists(app) -> list[tuple[str, str, str, bool]]:
    with app.app_context():
        rows = db.session.scalars(select(Newsletter).order_by(Newsletter.id))
        return [(n.slug, n.name, n.description, n.is_default) for n in rows]


def test_add_creates_a_list(app, runner):
    result = runner.invoke(
        args=["newsletters", "add", "weekly", "--name", "The Weekly", "--description", "Sundays"]
    )
    assert result.exit_code == 0, result.output
    assert "added newsletter weekly" in result.output
    assert all_lists(app) == [("weekly", "The Weekly", "Sundays", False)]


def test_add_is_idempotent_on_the_slug(app, runner):
    runner.invoke(args=["newsletters", "add", "weekly", "--name", "The Weekly"])
    result = runner.invoke(
        args=["newsletters", "add", "weekly", "--name", "The Weekly Letter", "--default"]
    )
    assert result.exit_code == 0, result.output
    assert "updated newsletter weekly" in result.output
    assert all_lists(app) == [("weekly", "The Weekly Letter", "", True)]


def test_add_refuses_a_slug_that_would_not_fit_a_url(app, runner):
    result = runner.invoke(args=["newsletters", "add", "Not A Slug", "--name", "x"])
    assert result.exit_code != 0
    assert all_lists(app) == []


def test_add_needs_a_name(app, runner):
    result = runner.invoke(args=["newsletters", "add", "weekly"])
    assert result.exit_code != 0


def test_demo_loads_kate_tsurkans_list_as_the_default_and_is_safe_to_repeat(app, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert runner.invoke(args=["demo"]).exit_code == 0
    rows = all_lists(app)
    assert 3 <= len(rows) <= 5
    assert ("explaining-ukraine", "Explaining Ukraine with Kate Tsurkan") == rows[0][:2]
    assert [slug for slug, _, _, is_default in rows if is_default] == ["explaining-ukraine"]


def test_add_on_an_archived_list_says_readers_still_do_not_see_it(app, runner):
    runner.invoke(args=["newsletters", "add", "weekly", "--name", "The Weekly"])
    with app.app_context():
        db.session.execute(update(Newsletter).values(archived=True))
        db.session.commit()

    result = runner.invoke(args=["newsletters", "add", "weekly", "--name", "The Weekly"])
    assert result.exit_code == 0, result.output
    assert "updated newsletter weekly" in result.output
    assert "archived" in result.output
