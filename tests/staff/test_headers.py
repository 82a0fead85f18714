"""Headers on every staff answer: no framing, no sniffing, no caching."""

from __future__ import annotations

from tests.staff.factories import make_consent, make_newsletter, make_subscriber, subscribe


def _every_staff_path() -> list[str]:
    daily = make_newsletter("daily")
    reader = make_subscriber("reader@example.org")
    subscribe(reader, daily)
    make_consent(reader, "daily")
    return [
        "/staff/",
        "/staff/?days=365",
        "/staff/lists",
        f"/staff/lists/{daily.id}",
        f"/staff/lists/{daily.id}/edit",
        "/staff/lists/new",
        "/staff/people",
        "/staff/people?kind=members",
        f"/staff/people/subscribers/{reader.id}",
        "/staff/settings/goal",
        "/staff/audit",
        f"/staff/lists/{daily.id}/export.csv",
        "/staff/members/export.csv",
        "/staff/lists/999",
    ]


def test_every_staff_page_forbids_framing_and_sniffing(admin_client):
    for path in ["/staff/login", *_every_staff_path()]:
        response = admin_client.get(path)
        response.close()  # the exports stream: end them here, not at garbage collection
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        if response.mimetype == "text/html":
            policy = response.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in policy, path
            assert "script-src 'self'" in policy and "style-src 'self'" in policy, path


def test_pages_an_editor_may_not_see_are_refused_with_the_same_headers(editor_client):
    for path in ["/staff/settings/goal", "/staff/audit", "/staff/members/export.csv"]:
        response = editor_client.get(path)
        assert response.status_code == 403, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path


def test_without_a_session_every_staff_page_leads_to_the_login_page(client, app_ctx):
    for path in _every_staff_path()[:-1]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/staff/login?next="), path
