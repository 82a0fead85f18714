"""What a reader's mail server receives: structure, headers and bodies, over real SMTP."""

from email.utils import parseaddr, parsedate_to_datetime

from database import utcnow
from tests.mailer.conftest import CONFIRM_LINK, message_id_of


def _deliver_one(make_app, smtp_server, queue_message, work_once, **fields):
    sink, smtp_url = smtp_server
    app = make_app(SMTP_URL=smtp_url, MAIL_FROM_NAME="The Kyiv Newsroom")
    message_id = queue_message(**fields)
    result = work_once(app)
    assert result.exit_code == 0, result.output
    [received] = sink.messages()
    return received, message_id


def test_message_is_multipart_alternative_with_text_then_html_in_utf8(
    make_app, smtp_server, queue_message, work_once
):
    received, _ = _deliver_one(
        make_app,
        smtp_server,
        queue_message,
        work_once,
        text_body=f"Привіт! Confirm here: {CONFIRM_LINK}\n",
        html_body=f'<p>Привіт!</p><p><a href="{CONFIRM_LINK}">Confirm</a></p>',
    )

    assert received.get_content_type() == "multipart/alternative"
    parts = list(received.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert [part.get_content_charset() for part in parts] == ["utf-8", "utf-8"]
    # On the wire every line ends in CRLF, and quoted-printable keeps them.
    assert parts[0].get_content().splitlines() == [f"Привіт! Confirm here: {CONFIRM_LINK}"]
    assert "<p>Привіт!</p>" in parts[1].get_content()


def test_message_has_date_message_id_from_to_and_subject(
    make_app, smtp_server, queue_message, work_once, outbox_row
):
    before = utcnow().replace(microsecond=0)
    received, message_id = _deliver_one(make_app, smtp_server, queue_message, work_once)
    row = outbox_row(message_id)

    assert received["Message-ID"] == message_id_of(row)
    assert before <= parsedate_to_datetime(received["Date"]) <= utcnow()
    assert parseaddr(received["From"]) == ("The Kyiv Newsroom", "newsletters@newsroom.test")
    assert received["To"] == "reader@example.com"
    assert received["Subject"] == "Confirm your subscription"


def test_list_headers_are_carried_through(make_app, smtp_server, queue_message, work_once):
    headers = {
        "List-Id": '"Explaining Ukraine with Kate Tsurkan" <explaining-ukraine.newsroom.test>',
        "List-Unsubscribe": "<http://newsroom.test/unsubscribe/dG9rZW4>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    received, _ = _deliver_one(make_app, smtp_server, queue_message, work_once, headers=headers)

    for name, value in headers.items():
        assert received[name] == value


def test_a_long_unsubscribe_link_arrives_exactly_as_queued(
    make_app, smtp_server, queue_message, work_once
):
    # A real token for a reader of two lists: far longer than a 78-character header line.
    link = (
        "http://newsroom.test/unsubscribe/eyJzIjoxNCwibCI6WyJtb3JuaW5nLWJyaWVmaW5nIiwiY3VsdH"
        "VyZS1ub3RlcyJdfQ.awfSKg.5UQYONgMQaxBWPk41ZJRRqjAG-Q"
    )
    headers = {"List-Unsubscribe": f"<{link}>"}
    received, _ = _deliver_one(make_app, smtp_server, queue_message, work_once, headers=headers)

    assert received["List-Unsubscribe"] == f"<{link}>"


def test_non_ascii_subject_and_list_name_arrive_intact(
    make_app, smtp_server, queue_message, work_once
):
    sink, _ = smtp_server
    received, _ = _deliver_one(
        make_app,
        smtp_server,
        queue_message,
        work_once,
        subject="Підтвердіть підписку на «Пояснюємо Україну»",
        headers={"List-Id": '"Пояснюємо Україну" <explaining-ukraine.newsroom.test>'},
    )

    assert received["Subject"] == "Підтвердіть підписку на «Пояснюємо Україну»"
    assert received["List-Id"].endswith("<explaining-ukraine.newsroom.test>")
    assert "Пояснюємо Україну" in received["List-Id"]
    # Headers travel as RFC 2047 words: any server, SMTPUTF8 or not, can take them.
    raw_headers = sink.envelopes[0].original_content.split(b"\r\n\r\n", 1)[0]
    assert raw_headers.isascii()
