"""Staff write, preview, test, confirm, send and follow a campaign on /staff/campaigns."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from campaigns.models import Campaign
from database import utcnow
from extensions import db
from mailer.models import OutboxMessage
from staff.models import AuditLog
from tests.campaigns.helpers import BODY, add_newsletter, add_reader, deliver, parts
from tests.staff.conftest import sign_in
from tests.staff.factories import make_staff

DRAFT = {"newsletter": "briefing", "subject": "The budget, explained", "body": BODY}


@pytest.fixture
def newsroom(app_ctx):
    add_newsletter()
    add_reader("ann@example.com")
    add_reader("bob@example.com")
    add_reader("pending@example.com", status="pending")


def _draft(client, **fields) -> int:
    response = client.post("/staff/campaigns/new", data={**DRAFT, **fields, "action": "save"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def _queued() -> list[str]:
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "campaign"))
    return sorted(row.to_addr for row in rows)


def test_an_editor_writes_a_draft_and_it_is_audited(editor_client, newsroom):
    campaign_id = _draft(editor_client)

    campaign = db.session.get(Campaign, campaign_id)
    assert (campaign.status, campaign.subject) == ("draft", "The budget, explained")
    assert campaign.created_by == "editor@newsroom.test"
    assert _audit_actions()[-1] == "campaign_created"
    assert "The draft was saved." in editor_client.get(f"/staff/campaigns/{campaign_id}").text


def test_a_draft_without_a_subject_comes_back_with_the_message_by_the_field(
    editor_client, newsroom
):
    response = editor_client.post(
        "/staff/campaigns/new", data={**DRAFT, "subject": " ", "action": "save"}
    )

    assert response.status_code == 422
    assert re.search(r'aria-invalid="true" id="subject"', response.text)
    assert '<p class="field-error" id="subject-error">Write a subject.</p>' in response.text
    assert BODY.splitlines()[2] in response.text  # what was typed is kept
    assert db.session.scalar(select(Campaign.id)) is None


def test_a_draft_for_a_list_that_does_not_exist_is_refused(editor_client, newsroom):
    response = editor_client.post(
        "/staff/campaigns/new", data={**DRAFT, "newsletter": "gone", "action": "save"}
    )

    assert response.status_code == 422
    assert "There is no newsletter &#39;gone&#39;." in response.text


def test_the_preview_button_shows_both_versions_without_saving(editor_client, newsroom):
    response = editor_client.post("/staff/campaigns/new", data={**DRAFT, "action": "preview"})

    assert response.status_code == 200
    html_version = response.text.split('id="preview-html"', 1)[1].split('id="preview-text"')[0]
    text_version = response.text.split('id="preview-text"', 1)[1].split("</pre>")[0]
    assert "<h1>This week</h1>" in html_version
    assert "You get this because you subscribed to Morning Briefing." in html_version
    assert "This week\n=========" in text_version
    assert "Unsubscribe: http://newsroom.test/unsubscribe/" in text_version
    assert db.session.scalar(select(Campaign.id)) is None


def test_the_live_preview_answers_the_html_and_text_versions(editor_client, newsroom):
    response = editor_client.post("/staff/campaigns/preview", json=DRAFT)

    assert response.status_code == 200
    assert "<h1>This week</h1>" in response.json["html"]
    assert "The Newsroom, 1 Example Street" in response.json["text"]


def test_the_live_preview_of_an_unknown_list_is_a_json_error(editor_client, newsroom):
    response = editor_client.post("/staff/campaigns/preview", json={**DRAFT, "newsletter": "x"})

    assert response.status_code == 422
    assert response.json["error"]["field"] == "newsletter"


def test_a_long_issue_past_the_public_body_limit_is_saved(editor_client, newsroom):
    long_body = "A paragraph of an issue that runs long. " * 2000  # about 80 KB

    campaign_id = _draft(editor_client, body=long_body)

    assert db.session.get(Campaign, campaign_id).body_markdown == long_body


def _over_smtp(make_app, smtp_server, readers: tuple[str, ...] = ()):
    """(app, sink, client signed in as editor@example.com) with mail going to a real server."""
    sink, smtp_url = smtp_server
    app = make_app(SMTP_URL=smtp_url)
    with app.app_context():
        add_newsletter()
        for reader in readers:
            add_reader(reader)
        make_staff("editor@example.com")
    client = app.test_client()
    sign_in(client, "editor@example.com")
    return app, sink, client


def test_a_test_goes_to_the_staff_member_marked_as_a_test(make_app, smtp_server):
    app, sink, client = _over_smtp(make_app, smtp_server)
    campaign_id = _draft(client)

    page = client.get(f"/staff/campaigns/{campaign_id}").text
    client.post(f"/staff/campaigns/{campaign_id}/test", data={"to": "editor@example.com"})
    deliver(app)

    assert re.search(r'name="to"[^>]*value="editor@example.com"', page)  # yourself, by default
    (message,) = sink.messages()
    assert message["To"] == "editor@example.com"
    assert message["Subject"] == "[Test] The budget, explained"
    assert "This is a test of Morning Briefing" in parts(message)[0]


def test_sending_asks_first_naming_the_list_and_the_readers_it_reaches(editor_client, newsroom):
    campaign_id = _draft(editor_client)

    response = editor_client.post(f"/staff/campaigns/{campaign_id}/confirm", data={"when": "now"})

    assert response.status_code == 200
    summary = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.text.split("confirm-summary")[1]))
    assert "To Morning Briefing: it will reach 2 readers now." in summary
    assert "Send it now" in response.text
    assert _queued() == []
    assert db.session.get(Campaign, campaign_id).status == "draft"


def test_confirming_sends_to_the_readers_and_is_audited(editor_client, newsroom):
    campaign_id = _draft(editor_client)

    response = editor_client.post(f"/staff/campaigns/{campaign_id}/send", data={"confirmed": "yes"})

    assert response.status_code == 302
    assert _queued() == ["ann@example.com", "bob@example.com"]
    assert db.session.get(Campaign, campaign_id).status == "sending"
    entry = db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert (entry.action, entry.detail) == ("campaign_sent", f"campaign #{campaign_id}: 2 readers")


def test_sending_without_the_confirmation_step_sends_nothing(editor_client, newsroom):
    campaign_id = _draft(editor_client)

    response = editor_client.post(f"/staff/campaigns/{campaign_id}/send", data={})

    assert response.status_code == 302
    assert _queued() == []


def test_a_time_in_the_past_is_refused_before_the_confirmation(editor_client, newsroom):
    campaign_id = _draft(editor_client)
    yesterday = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    response = editor_client.post(
        f"/staff/campaigns/{campaign_id}/confirm",
        data={"when": "later", "at": yesterday},
        follow_redirects=True,
    )

    assert "That time has passed: choose a time in the future." in response.text
    assert db.session.get(Campaign, campaign_id).status == "draft"


def test_scheduling_confirms_the_time_and_queues_nothing_yet(editor_client, newsroom):
    campaign_id = _draft(editor_client)
    tomorrow = (utcnow() + timedelta(days=1)).replace(second=0, microsecond=0)
    at = tomorrow.strftime("%Y-%m-%dT%H:%M")

    confirmation = editor_client.post(
        f"/staff/campaigns/{campaign_id}/confirm", data={"when": "later", "at": at}
    )
    hidden = re.search(r'name="at" value="([^"]+)"', confirmation.text).group(1)
    send = {"confirmed": "yes", "at": hidden}
    editor_client.post(f"/staff/campaigns/{campaign_id}/send", data=send)

    assert f"{tomorrow:%Y-%m-%d %H:%M} UTC" in confirmation.text
    campaign = db.session.get(Campaign, campaign_id)
    assert (campaign.status, campaign.scheduled_at) == ("scheduled", tomorrow)
    assert _queued() == []


def test_the_progress_page_shows_a_bar_and_the_figures_and_offers_pause(editor_client, newsroom):
    campaign_id = _draft(editor_client)
    editor_client.post(f"/staff/campaigns/{campaign_id}/send", data={"confirmed": "yes"})

    page = editor_client.get(f"/staff/campaigns/{campaign_id}").text
    figures = editor_client.get(f"/staff/campaigns/{campaign_id}/progress.json").json

    assert re.search(r'<progress id="progress-bar" max="2" value="0"', page)
    assert '<dd id="count-left">2</dd>' in page
    assert ">Pause</button>" in page and "Reload the figures" in page
    assert 'src="/static/js/campaign-progress.js"' in page
    assert (figures["status"], figures["recipients"], figures["left"]) == ("sending", 2, 2)


def test_pause_resume_and_cancel_from_the_page_are_audited(editor_client, newsroom):
    campaign_id = _draft(editor_client)
    editor_client.post(f"/staff/campaigns/{campaign_id}/send", data={"confirmed": "yes"})

    for change in ("pause", "resume", "cancel"):
        response = editor_client.post(f"/staff/campaigns/{campaign_id}/{change}")
        assert response.status_code == 302, change

    assert db.session.get(Campaign, campaign_id).status == "cancelled"
    assert _audit_actions()[-3:] == ["campaign_paused", "campaign_resumed", "campaign_cancelled"]
    page = editor_client.get(f"/staff/campaigns/{campaign_id}").text
    assert '<dd id="count-cancelled">2</dd>' in page


def test_resuming_a_campaign_that_is_not_paused_says_why(editor_client, newsroom):
    campaign_id = _draft(editor_client)

    response = editor_client.post(f"/staff/campaigns/{campaign_id}/resume", follow_redirects=True)

    assert "This campaign is draft: it cannot be resumed." in response.text


def test_a_finished_campaign_shows_its_figures(make_app, smtp_server):
    readers = ("ann@example.com", "bob@example.com")
    app, sink, client = _over_smtp(make_app, smtp_server, readers)
    campaign_id = _draft(client)
    client.post(f"/staff/campaigns/{campaign_id}/send", data={"confirmed": "yes"})
    deliver(app)
    deliver(app)
    text, _ = parts(next(m for m in sink.messages() if m["To"] == "bob@example.com"))
    unsubscribe = "/unsubscribe/" + text.split("/unsubscribe/")[1].split()[0]
    assert app.test_client().post(unsubscribe).status_code == 200

    page = client.get(f"/staff/campaigns/{campaign_id}").text

    row = page.split('id="campaign-figures"')[1].split("</tbody>")[0]
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["2", "2", "0", "0", "1"]
    assert f'href="/newsletters/briefing/{campaign_id}"' in page


def test_an_unknown_campaign_is_404(editor_client, newsroom):
    assert editor_client.get("/staff/campaigns/999").status_code == 404
    assert editor_client.post("/staff/campaigns/999/cancel").status_code == 404


def test_campaign_pages_carry_the_staff_headers_and_need_a_session(app, editor_client, newsroom):
    campaign_id = _draft(editor_client)
    for path in ("/staff/campaigns", "/staff/campaigns/new", f"/staff/campaigns/{campaign_id}"):
        response = editor_client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
        assert app.test_client().get(path).status_code == 302, path


def test_admins_send_campaigns_too(admin_client, newsroom):
    campaign_id = _draft(admin_client)

    admin_client.post(f"/staff/campaigns/{campaign_id}/send", data={"confirmed": "yes"})

    assert _queued() == ["ann@example.com", "bob@example.com"]


def test_the_campaigns_page_lists_them_newest_first(editor_client, newsroom):
    _draft(editor_client, subject="First issue")
    _draft(editor_client, subject="Second issue")

    page = editor_client.get("/staff/campaigns").text

    assert page.index("Second issue") < page.index("First issue")


def test_without_a_csrf_token_nothing_is_sent_and_the_preview_needs_the_header(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        add_newsletter()
        add_reader("ann@example.com")
        make_staff("editor@newsroom.test")
    client = app.test_client()
    login_token = _token_in(client.get("/staff/login").text)
    sign_in(client, "editor@newsroom.test", csrf_token=login_token)
    token = _token_in(client.get("/staff/campaigns/new").text)
    campaign_id = _draft(client, csrf_token=token)

    refused = client.post(f"/staff/campaigns/{campaign_id}/send", data={"confirmed": "yes"})
    bare = client.post("/staff/campaigns/preview", json=DRAFT)
    headers = {"X-CSRFToken": token}
    with_header = client.post("/staff/campaigns/preview", json=DRAFT, headers=headers)

    assert refused.status_code == 400
    with app.app_context():
        assert _queued() == []
    assert bare.status_code == 400
    assert with_header.status_code == 200


def _token_in(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_a_live_preview_answered_after_saving_does_not_undo_the_saved_message(
    app, editor_client, newsroom
):
    # Clicking "Save draft" blurs the body, so the page's live preview is often still on its
    # way when the save answers. A browser applies whatever session cookie answers last: had
    # the preview sent back the session it read (without the save's message), the message
    # would be gone from the page the save leads to.
    session_before_save = editor_client.get_cookie("session").value
    campaign_id = _draft(editor_client)
    preview_in_flight = app.test_client()
    preview_in_flight.set_cookie("session", session_before_save)

    answer = preview_in_flight.post(
        "/staff/campaigns/preview", json=DRAFT, headers={"X-CSRFToken": "unused in tests"}
    )

    assert answer.status_code == 200
    for cookie in answer.headers.getlist("Set-Cookie"):  # as the browser would take it
        name, _, value = cookie.split(";", 1)[0].partition("=")
        editor_client.set_cookie(name, value)
    assert "The draft was saved." in editor_client.get(f"/staff/campaigns/{campaign_id}").text
