"""Lists as staff see them, and managing them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from database import utcnow
from extensions import db
from newsletters.models import Newsletter
from staff import lists
from staff.models import AuditLog
from staff.sqltime import monday_of, start_of_day
from tests.staff.factories import make_consent, make_newsletter, make_subscriber, subscribe


def _audience(newsletter):
    """3 confirmed, 2 pending, 2 unsubscribed (one of whom had confirmed first)."""
    for n in range(3):
        subscribe(make_subscriber(f"c{n}@example.org"), newsletter, "confirmed")
    for n in range(2):
        subscribe(make_subscriber(f"p{n}@example.org"), newsletter, "pending")
    subscribe(make_subscriber("left1@example.org"), newsletter, "unsubscribed", utcnow(), utcnow())
    subscribe(make_subscriber("left2@example.org"), newsletter, "unsubscribed", None, utcnow())


def test_each_list_shows_its_counts_and_confirmation_rate(editor_client):
    daily = make_newsletter("daily")
    make_newsletter("weekly")
    _audience(daily)
    stats = {row.newsletter.slug: row for row in lists.list_overview()}
    daily_stats = stats["daily"]
    assert (daily_stats.confirmed, daily_stats.pending, daily_stats.unsubscribed) == (3, 2, 2)
    assert daily_stats.confirmation_rate == 4 / 7
    assert stats["weekly"].confirmation_rate is None
    page = editor_client.get("/staff/lists").get_data(as_text=True)
    assert '<td class="num rate">57.1%</td>' in page
    detail = editor_client.get(f"/staff/lists/{daily.id}").get_data(as_text=True)
    assert '<dd id="count-pending">2</dd>' in detail


def test_signups_are_counted_per_week_and_source(editor_client):
    daily = make_newsletter("daily")
    reader = make_subscriber("reader@example.org")
    today = utcnow().date()
    this_week = start_of_day(monday_of(today)) + timedelta(hours=1)
    three_weeks_ago = this_week - timedelta(weeks=3)
    make_consent(reader, "daily", "page", this_week)
    make_consent(reader, "daily weekly", "embed", this_week)
    make_consent(reader, "weekly", "api", this_week)
    make_consent(reader, "daily", "api", three_weeks_ago)
    make_consent(reader, "daily", "page", this_week - timedelta(weeks=9))  # too old

    weeks = lists.signups_by_source(today, slug="daily")
    assert len(weeks) == 8
    assert weeks[-1].week == monday_of(today)
    assert weeks[-1].by_source == {"page": 1, "embed": 1, "api": 0}
    assert weeks[-4].by_source == {"page": 0, "embed": 0, "api": 1}
    assert sum(week.total for week in weeks) == 3
    everything = lists.signups_by_source(today)
    assert everything[-1].by_source == {"page": 1, "embed": 1, "api": 1}
    assert editor_client.get(f"/staff/lists/{daily.id}").status_code == 200


def test_a_slug_that_is_a_prefix_of_another_is_not_confused(app_ctx):
    reader = make_subscriber("reader@example.org")
    make_consent(reader, "daily-digest", "page")
    weeks = lists.signups_by_source(utcnow().date(), slug="daily")
    assert sum(week.total for week in weeks) == 0


def test_an_admin_creates_a_list_and_it_is_logged(admin_client):
    response = admin_client.post(
        "/staff/lists/new",
        data={"slug": "war-explained", "name": "Explaining Ukraine", "description": "Weekly"},
    )
    assert response.status_code == 302
    newsletter = db.session.scalars(select(Newsletter)).one()
    assert (newsletter.slug, newsletter.name, newsletter.is_default) == (
        "war-explained",
        "Explaining Ukraine",
        False,
    )
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "list_created")).one()
    assert "war-explained" in entry.detail


def test_a_duplicate_or_malformed_slug_is_refused_next_to_the_field(admin_client):
    make_newsletter("daily")
    response = admin_client.post("/staff/lists/new", data={"slug": "daily", "name": "Again"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "already exists" in page and 'aria-describedby="slug-error"' in page
    bad = admin_client.post("/staff/lists/new", data={"slug": "Not A Slug!", "name": "Bad"})
    assert bad.status_code == 422
    assert db.session.scalar(select(db.func.count(Newsletter.id))) == 1


def test_an_admin_edits_a_list_but_not_its_slug(admin_client):
    newsletter = make_newsletter("daily")
    response = admin_client.post(
        f"/staff/lists/{newsletter.id}/edit",
        data={
            "slug": "changed",
            "name": "The Daily",
            "description": "Every morning",
            "is_default": "y",
        },
    )
    assert response.status_code == 302
    db.session.refresh(newsletter)
    assert (newsletter.slug, newsletter.name, newsletter.description, newsletter.is_default) == (
        "daily",
        "The Daily",
        "Every morning",
        True,
    )
    assert db.session.scalars(select(AuditLog.action).where(AuditLog.action == "list_edited")).one()


def test_an_admin_archives_and_restores_a_list(admin_client):
    newsletter = make_newsletter("daily", is_default=True)
    assert admin_client.post(f"/staff/lists/{newsletter.id}/archive").status_code == 302
    db.session.refresh(newsletter)
    assert newsletter.archived and not newsletter.is_default
    assert "Archived" in admin_client.get("/staff/lists").get_data(as_text=True)
    assert admin_client.post(f"/staff/lists/{newsletter.id}/restore").status_code == 302
    db.session.refresh(newsletter)
    assert not newsletter.archived
    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["list_archived", "list_restored"]


def test_an_unknown_list_is_404(editor_client):
    assert editor_client.get("/staff/lists/999").status_code == 404


def test_an_admin_changes_the_goal_for_every_counter(admin_client):
    from membership.goal import goal_progress

    response = admin_client.post("/staff/settings/goal", data={"goal": "25000"})
    assert response.status_code == 302
    assert goal_progress().goal == 25000
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "goal_changed")).one()
    assert entry.detail == "20000 → 25000"
    assert 'data-goal="25000"' in admin_client.get("/staff/").get_data(as_text=True)


def test_a_goal_that_is_not_a_positive_number_is_refused(admin_client):
    from membership.goal import goal_progress

    for value in ("0", "-5", "lots"):
        response = admin_client.post("/staff/settings/goal", data={"goal": value})
        assert response.status_code == 422, value
    assert goal_progress().goal == 20000


def test_the_lists_page_draws_signups_by_source_as_svg(editor_client):
    reader = make_subscriber("reader@example.org")
    make_consent(reader, "daily", "page")
    make_consent(reader, "daily", "embed")
    page = editor_client.get("/staff/lists").get_data(as_text=True)
    svg = page[page.index('<svg class="signups-chart"') : page.index("</svg>")]
    assert 'class="source-page"' in svg and 'class="source-embed"' in svg
    assert "<title" in svg and "<desc" in svg
    assert "style=" not in page


def test_weeks_without_signups_say_so_in_the_chart(editor_client):
    page = editor_client.get("/staff/lists").get_data(as_text=True)
    svg = page[page.index('<svg class="signups-chart"') : page.index("</svg>")]
    assert "No signups in these 8 weeks" in svg


def test_a_list_made_by_the_command_with_an_underscore_can_be_edited(app, admin_client):
    with app.app_context():
        newsletter = make_newsletter("week_in_review", name="Week in review")
        list_id = newsletter.id
    response = admin_client.post(
        f"/staff/lists/{list_id}/edit",
        data={"name": "The week in review", "description": "", "is_default": ""},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Newsletter, list_id).name == "The week in review"


def test_a_list_name_with_a_line_break_is_kept_on_one_line(app, admin_client):
    admin_client.post(
        "/staff/lists/new",
        data={"slug": "evening", "name": "Evening\r\nBcc: someone@example.com", "description": ""},
    )
    with app.app_context():
        stored = db.session.scalar(select(Newsletter.name).where(Newsletter.slug == "evening"))
    assert stored == "Evening Bcc: someone@example.com"
