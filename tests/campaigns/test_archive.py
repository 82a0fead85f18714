"""The public archive: a list's sent campaigns, and each one as readers of the web see it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from campaigns.models import Campaign
from database import utcnow
from extensions import db
from tests.campaigns.helpers import add_newsletter, create, run, send
from tests.staff.conftest import sign_in
from tests.staff.factories import make_staff

TEASER_BODY = """\
The first paragraph, for everyone.

The second paragraph, for members only.
"""


def _sent(app, subject: str, slug: str = "briefing", body: str = "Hello.\n", days_ago: int = 0):
    """A campaign sent (to nobody) `days_ago` days ago."""
    campaign_id = create(app, slug=slug, subject=subject, body=body)
    send(app, campaign_id)
    with app.app_context():
        db.session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(finished_at=utcnow() - timedelta(days=days_ago))
        )
        db.session.commit()
    return campaign_id


def test_the_archive_lists_sent_campaigns_newest_first_with_a_link_to_subscribe(newsroom):
    _sent(newsroom, "Older issue", days_ago=7)
    _sent(newsroom, "Newer issue", days_ago=1)

    page = newsroom.test_client().get("/newsletters/briefing")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<h1>Morning Briefing</h1>" in html
    assert html.index("Newer issue") < html.index("Older issue")
    assert 'href="/embed/signup?newsletter=briefing"' in html
    assert "Subscribe to Morning Briefing" in html


def test_the_archive_leaves_out_drafts_scheduled_and_cancelled_campaigns(newsroom):
    create(newsroom, subject="Still a draft")
    cancelled = create(newsroom, subject="Called off")
    run(newsroom, "campaigns", "cancel", str(cancelled))
    scheduled = create(newsroom, subject="Next week")
    send(newsroom, scheduled, "--at", (utcnow() + timedelta(days=7)).isoformat())

    html = newsroom.test_client().get("/newsletters/briefing").get_data(as_text=True)

    assert "No issue has been sent yet." in html
    for subject in ("Still a draft", "Called off", "Next week"):
        assert subject not in html


def test_a_sent_campaign_has_a_page_with_its_sanitised_html(newsroom):
    body = "# Headline\n\nSome **bold** news.<script>alert(1)</script>\n"
    campaign_id = _sent(newsroom, "The budget", body=body)

    page = newsroom.test_client().get(f"/newsletters/briefing/{campaign_id}")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<h1>The budget</h1>" in html
    assert "<strong>bold</strong>" in html
    assert "<script>alert" not in html
    assert "img-src 'self' data: https:" in page.headers["Content-Security-Policy"]


def test_a_draft_a_cancelled_and_an_unknown_campaign_answer_404(newsroom):
    draft = create(newsroom)
    cancelled = create(newsroom)
    run(newsroom, "campaigns", "cancel", str(cancelled))
    client = newsroom.test_client()

    for path in (
        f"/newsletters/briefing/{draft}",
        f"/newsletters/briefing/{cancelled}",
        "/newsletters/briefing/999",
        "/newsletters/briefing/99999999999999999999999",
        "/newsletters/no-such-list",
    ):
        assert client.get(path).status_code == 404, path


def test_a_campaign_is_found_only_under_its_own_list(newsroom):
    with newsroom.app_context():
        add_newsletter("other", "Other")
    campaign_id = _sent(newsroom, "The budget")

    assert newsroom.test_client().get(f"/newsletters/other/{campaign_id}").status_code == 404


def test_a_members_only_campaign_shows_visitors_its_first_paragraph_and_how_to_join(newsroom):
    with newsroom.app_context():
        add_newsletter("insiders", "Insiders", members_only=True)
    campaign_id = _sent(newsroom, "For members", slug="insiders", body=TEASER_BODY)

    html = newsroom.test_client().get(f"/newsletters/insiders/{campaign_id}").get_data(as_text=True)

    assert "The first paragraph, for everyone." in html
    assert "The second paragraph" not in html
    assert "The rest of this issue is for members" in html
    assert 'href="/membership"' in html


def test_signed_in_staff_read_a_members_only_campaign_in_full(newsroom):
    with newsroom.app_context():
        add_newsletter("insiders", "Insiders", members_only=True)
        make_staff("editor@newsroom.test")
    campaign_id = _sent(newsroom, "For members", slug="insiders", body=TEASER_BODY)
    client = newsroom.test_client()
    sign_in(client, "editor@newsroom.test")

    html = client.get(f"/newsletters/insiders/{campaign_id}").get_data(as_text=True)

    assert "The second paragraph, for members only." in html
    assert "The rest of this issue is for members" not in html


def test_the_demo_data_puts_one_sent_campaign_in_the_archive(app):
    assert run(app, "demo").exit_code == 0
    assert run(app, "demo").exit_code == 0  # again: still one

    html = app.test_client().get("/newsletters/explaining-ukraine").get_data(as_text=True)

    assert html.count("the night shift that keeps Kharkiv") == 1
    with app.app_context():
        from mailer.models import OutboxMessage

        assert db.session.query(OutboxMessage).count() == 0


def test_the_archive_speaks_ukrainian_when_asked(newsroom):
    _sent(newsroom, "The budget")

    html = newsroom.test_client().get("/newsletters/briefing?lang=uk").get_data(as_text=True)

    assert '<html lang="uk">' in html
    assert "Попередні випуски" in html
