"""International addresses: SMTPUTF8 when the server offers it, punycode when it does not."""

from mailer.models import FAILED, QUEUED, SENT

IDN_ADDRESS = "reader@exämple.com"
PUNYCODE_ADDRESS = "reader@xn--exmple-cua.com"


def test_non_ascii_domain_goes_as_utf8_when_the_server_offers_smtputf8(
    make_app, start_smtp, queue_message, work_once, outbox_row
):
    sink, smtp_url = start_smtp(smtputf8=True)
    app = make_app(SMTP_URL=smtp_url)
    message_id = queue_message(to_addr=IDN_ADDRESS)

    work_once(app)

    [envelope] = sink.envelopes
    assert envelope.smtp_utf8 is True
    assert envelope.rcpt_tos == [IDN_ADDRESS]
    assert sink.messages()[0]["To"] == IDN_ADDRESS
    assert outbox_row(message_id).status == SENT


def test_non_ascii_domain_goes_as_punycode_when_the_server_lacks_smtputf8(
    make_app, start_smtp, queue_message, work_once, outbox_row
):
    sink, smtp_url = start_smtp(smtputf8=False)
    app = make_app(SMTP_URL=smtp_url)
    message_id = queue_message(to_addr=IDN_ADDRESS)

    work_once(app)

    [envelope] = sink.envelopes
    assert envelope.smtp_utf8 is False
    assert envelope.rcpt_tos == [PUNYCODE_ADDRESS]
    assert sink.messages()[0]["To"] == PUNYCODE_ADDRESS
    assert outbox_row(message_id).status == SENT


def test_non_ascii_local_part_fails_for_good_when_the_server_lacks_smtputf8(
    make_app, start_smtp, queue_message, work_once, outbox_row
):
    sink, smtp_url = start_smtp(smtputf8=False)
    app = make_app(SMTP_URL=smtp_url)
    message_id = queue_message(to_addr="читач@example.com")

    result = work_once(app)

    assert result.exit_code == 0
    row = outbox_row(message_id)
    assert (row.status, row.attempts) == (FAILED, 1)
    assert "does not offer SMTPUTF8" in row.last_error
    assert sink.envelopes == []


def test_non_ascii_local_part_is_delivered_when_the_server_offers_smtputf8(
    make_app, start_smtp, queue_message, work_once
):
    sink, smtp_url = start_smtp(smtputf8=True)
    app = make_app(SMTP_URL=smtp_url)
    queue_message(to_addr="читач@приклад.укр")

    work_once(app)

    assert sink.envelopes[0].rcpt_tos == ["читач@приклад.укр"]


def test_a_mail_from_address_the_server_cannot_take_keeps_every_message_queued(
    make_app, start_smtp, queue_message, work_once, outbox_row
):
    sink, smtp_url = start_smtp(smtputf8=False)
    app = make_app(SMTP_URL=smtp_url, MAIL_FROM="розсилка@newsroom.test")
    ids = [queue_message() for _ in range(3)]

    result = work_once(app)

    assert result.exit_code == 0
    assert "MAIL_FROM" in result.output
    assert [outbox_row(i).status for i in ids] == [QUEUED, QUEUED, QUEUED]
    assert sink.envelopes == []
