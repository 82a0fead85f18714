"""Encryption on the way to the relay: STARTTLS when offered, smtps://, certificates verified."""

import shutil
import ssl
import subprocess

import pytest

from mailer.models import QUEUED, SENT


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (certificate path, server TLS context)."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def test_smtp_upgrades_with_starttls_when_the_server_offers_it(
    make_app, start_smtp, certificate, queue_message, work_once, outbox_row
):
    cert, context = certificate
    sink, smtp_url = start_smtp(starttls=context)
    app = make_app(SMTP_URL=f"{smtp_url}?cafile={cert}")
    message_id = queue_message()

    work_once(app)

    assert outbox_row(message_id).status == SENT
    assert sink.encrypted == [True]


def test_smtps_speaks_tls_from_the_first_byte(
    make_app, start_smtp, certificate, queue_message, work_once, outbox_row
):
    cert, context = certificate
    sink, smtp_url = start_smtp(implicit_tls=context)
    app = make_app(SMTP_URL=f"{smtp_url}?cafile={cert}")
    message_id = queue_message()

    work_once(app)

    assert smtp_url.startswith("smtps://")
    assert outbox_row(message_id).status == SENT
    assert sink.encrypted == [True]


def test_a_certificate_that_cannot_be_verified_keeps_the_mail_queued(
    make_app, start_smtp, certificate, queue_message, work_once, outbox_row
):
    _, context = certificate
    sink, smtp_url = start_smtp(implicit_tls=context)
    app = make_app(SMTP_URL=smtp_url)  # no cafile: the system does not trust this certificate
    message_id = queue_message()

    work_once(app)

    row = outbox_row(message_id)
    assert (row.status, row.attempts) == (QUEUED, 1)
    assert "CERTIFICATE_VERIFY_FAILED" in row.last_error
    assert sink.envelopes == []


def test_starttls_require_sends_nothing_in_clear_text(
    make_app, start_smtp, queue_message, work_once, outbox_row
):
    sink, smtp_url = start_smtp()
    app = make_app(SMTP_URL=f"{smtp_url}?starttls=require")
    message_id = queue_message()

    work_once(app)

    row = outbox_row(message_id)
    assert row.status == QUEUED
    assert "does not offer STARTTLS" in row.last_error
    assert sink.envelopes == []
