"""queue_mail and the worker together: a row lives and dies with the caller's transaction."""

from email.utils import parseaddr

import pytest
from jinja2 import ChoiceLoader, DictLoader

from extensions import db
from mailer.services import list_id_header, queue_mail
from mailer.worker import deliver_due

TEMPLATES = {
    "email/digest.subject.txt": "This week in {{ list_name }}\n",
    "email/digest.txt": "Hello,\n\nLeave this list: {{ unsubscribe_url }}\n",
    "email/digest.html": '<p>Hello,</p><p><a href="{{ unsubscribe_url }}">Leave this list</a></p>',
}
UNSUBSCRIBE_URL = "http://newsroom.test/unsubscribe/dG9rZW4"


@pytest.fixture
def mail_app(make_app, smtp_server):
    sink, smtp_url = smtp_server
    app = make_app(SMTP_URL=smtp_url)
    app.jinja_env.loader = ChoiceLoader([DictLoader(TEMPLATES), app.jinja_env.loader])
    return app, sink


def _queue_digest(list_name: str):
    return queue_mail(
        to="reader@example.com",
        template="digest",
        context={"list_name": list_name},
        list_id=list_id_header(list_name, "explaining-ukraine"),
        unsubscribe_url=UNSUBSCRIBE_URL,
    )


def test_mail_queued_in_a_transaction_that_rolls_back_is_never_sent(mail_app):
    app, sink = mail_app
    with app.app_context():
        _queue_digest("Explaining Ukraine")
        db.session.rollback()

        result = deliver_due()

    assert result.sent == 0
    assert sink.messages() == []


def test_list_mail_arrives_with_list_id_and_one_click_unsubscribe(mail_app):
    app, sink = mail_app
    with app.app_context():
        _queue_digest("Explaining Ukraine with Kate Tsurkan")
        db.session.commit()

        deliver_due()

    [received] = sink.messages()
    assert received["Subject"] == "This week in Explaining Ukraine with Kate Tsurkan"
    assert received["List-Id"] == (
        '"Explaining Ukraine with Kate Tsurkan" <explaining-ukraine.newsroom.test>'
    )
    assert received["List-Unsubscribe"] == f"<{UNSUBSCRIBE_URL}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_mail_from_written_as_name_and_address_sends_from_that_name_and_address(
    make_app, smtp_server
):
    # listmonk and Ghost take their From address this way, so operators write it this way.
    sink, smtp_url = smtp_server
    app = make_app(SMTP_URL=smtp_url, MAIL_FROM="The Kyiv Desk <desk@newsroom.test>")
    app.jinja_env.loader = ChoiceLoader([DictLoader(TEMPLATES), app.jinja_env.loader])
    with app.app_context():
        _queue_digest("Explaining Ukraine")
        db.session.commit()
        assert deliver_due().sent == 1

    [received] = sink.messages()
    assert parseaddr(received["From"]) == ("The Kyiv Desk", "desk@newsroom.test")
    assert sink.envelopes[0].mail_from == "desk@newsroom.test"
    assert received["Message-ID"].endswith("@newsroom.test>")
