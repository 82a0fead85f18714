"""The whole reader flow over real SMTP (aiosmtpd): signup → mail → confirm → welcome → leave.

Mail goes out as an operator sends it, with `flask outbox work --once`.
"""

from __future__ import annotations

from tests.newsletters.helpers import links_in, load_lists, path_of, statuses, subscribe_form


def deliver(app) -> None:
    result = app.test_cli_runner().invoke(args=["outbox", "work", "--once"])
    assert result.exit_code == 0, result.output


def parts(message) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    return text.get_content(), html.get_content()


def test_signup_confirm_welcome_and_one_click_unsubscribe_over_smtp(make_app, smtp_server):
    sink, smtp_url = smtp_server
    app = load_lists(make_app(SMTP_URL=smtp_url))
    client = app.test_client()

    response = subscribe_form(client, "reader@example.com", ["morning-briefing"])
    assert response.status_code == 200
    deliver(app)
    (confirmation,) = sink.messages()
    assert confirmation["To"] == "reader@example.com"
    text, html = parts(confirmation)
    (link,) = links_in(text, "/confirm/")
    assert links_in(html, "/confirm/") == [link]

    assert client.get(path_of(link)).status_code == 200
    assert statuses(app, "reader@example.com") == {"morning-briefing": "pending"}
    assert client.post(path_of(link)).status_code == 200
    assert statuses(app, "reader@example.com") == {"morning-briefing": "confirmed"}

    deliver(app)
    welcome = sink.messages()[1]
    for header in ("Message-ID", "Date", "From", "To", "Subject"):
        assert welcome[header]
    assert welcome["List-Id"] == '"Morning Briefing" <morning-briefing.newsroom.test>'
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = welcome["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe.startswith("http://newsroom.test/unsubscribe/")

    response = app.test_client().post(
        path_of(unsubscribe),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert statuses(app, "reader@example.com") == {"morning-briefing": "unsubscribed"}
    deliver(app)
    assert len(sink.messages()) == 2
