"""Reading returned mail as mail servers really write it (samples/ holds one of each)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mailer.bounces import ABUSE_REPORT, DELIVERY_REPORT, NOT_A_REPORT, read_report
from mailer.suppression_models import BOUNCE, COMPLAINT

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def suppressed(raw: bytes) -> list[tuple[str, str]]:
    return [(finding.address, finding.reason) for finding in read_report(raw).findings]


def test_postfix_user_unknown_suppresses_the_original_recipient():
    reading = read_report(sample("postfix_user_unknown.eml"))

    assert reading.kind == DELIVERY_REPORT
    [finding] = reading.findings
    assert (finding.address, finding.reason) == ("Gone.Reader@example.org", BOUNCE)
    assert finding.detail.startswith("5.1.1 smtp; 550 5.1.1")
    assert "User unknown in virtual mailbox table" in finding.detail


def test_exim_report_with_crlf_line_ends_suppresses_the_failed_recipient():
    raw = sample("exim_mailbox_gone.eml")
    assert b"\r\n" in raw

    assert suppressed(raw) == [("left.company@example.net", BOUNCE)]


def test_sendmail_report_suppresses_the_5xx_recipient_but_not_the_4xx_one():
    reading = read_report(sample("sendmail_mixed_failures.eml"))

    assert [(f.address, f.reason) for f in reading.findings] == [
        ("old.address@example.com", BOUNCE)
    ]
    assert any("slow.host@example.net" in note and "4.4.7" in note for note in reading.notes)


def test_a_delayed_delivery_suppresses_nobody():
    reading = read_report(sample("postfix_delayed.eml"))

    assert reading.kind == DELIVERY_REPORT
    assert reading.findings == ()
    assert reading.notes == (
        "slow.reader@example.net: delayed (4.4.1), not a permanent failure: left alone",
    )


def test_an_smtputf8_report_suppresses_the_non_ascii_address():
    assert suppressed(sample("postfix_smtputf8_global_dsn.eml")) == [
        ("читач@новини.example", BOUNCE)
    ]


def test_a_yahoo_style_abuse_report_suppresses_the_original_rcpt_to():
    reading = read_report(sample("arf_yahoo_style_abuse.eml"))

    assert reading.kind == ABUSE_REPORT
    assert [(f.address, f.reason) for f in reading.findings] == [
        ("Annoyed.Reader@example.com", COMPLAINT)
    ]
    assert "Yahoo!-Mail-Feedback/2.0" in reading.findings[0].detail


def test_an_abuse_report_without_original_rcpt_to_uses_the_to_of_the_attached_headers():
    assert suppressed(sample("arf_gmail_style_headers_only.eml")) == [
        ("marta.k@example.com", COMPLAINT)
    ]


def test_an_abuse_report_without_original_rcpt_to_uses_the_to_of_the_attached_message():
    raw = sample("arf_yahoo_style_abuse.eml").replace(
        b"Original-Rcpt-To: <Annoyed.Reader@example.com>\n", b""
    )
    assert b"Original-Rcpt-To" not in raw

    assert suppressed(raw) == [("Annoyed.Reader@example.com", COMPLAINT)]


@pytest.mark.parametrize("feedback_type", [b"not-spam", b"auth-failure", b"virus"])
def test_a_feedback_report_that_is_not_a_complaint_suppresses_nobody(feedback_type):
    raw = sample("arf_yahoo_style_abuse.eml").replace(
        b"Feedback-Type: abuse", b"Feedback-Type: " + feedback_type
    )

    reading = read_report(raw)

    assert reading.kind == ABUSE_REPORT
    assert reading.findings == ()


def test_a_complaint_about_a_message_to_several_people_suppresses_nobody():
    raw = sample("arf_gmail_style_headers_only.eml").replace(
        b'To: "Marta K." <marta.k@example.com>', b"To: marta.k@example.com, boss@example.com"
    )

    assert suppressed(raw) == []


@pytest.mark.parametrize(
    "name",
    [
        "out_of_office.eml",
        "qmail_plain_text_bounce.eml",
        "malformed_report_without_boundary.eml",
        "malformed_fields.eml",
    ],
)
def test_anything_but_a_permanent_failure_or_a_complaint_suppresses_nobody(name):
    assert suppressed(sample(name)) == []


def test_malformed_recipient_fields_are_reported_and_left_alone():
    notes = read_report(sample("malformed_fields.eml")).notes

    assert "rfc822; not an address at all: not an address, left alone" in notes
    assert any(note.startswith("x400;") for note in notes)


def test_a_report_forwarded_inside_another_message_is_not_about_its_sender():
    original = sample("postfix_user_unknown.eml")
    forwarded = (
        b"From: Reader <reader@example.com>\nTo: letters@newsroom.example\n"
        b"Subject: Fwd: why did this bounce?\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="fwd"\n\n--fwd\nContent-Type: text/plain\n\n'
        b"See below.\n--fwd\nContent-Type: message/rfc822\n\n" + original + b"\n--fwd--\n"
    )

    assert suppressed(forwarded) == []


@pytest.mark.parametrize("seed", range(20))
def test_binary_garbage_is_not_a_report(seed):
    garbage = random.Random(seed).randbytes(random.Random(seed).randint(1, 20_000))

    assert read_report(garbage).kind == NOT_A_REPORT


@pytest.mark.parametrize("raw", [b"", b"\r\n\r\n", b"   ", b"\x00" * 64, b"Subject: x"])
def test_empty_or_headless_input_is_not_a_report(raw):
    assert read_report(raw).kind == NOT_A_REPORT


@pytest.mark.parametrize("name", sorted(path.name for path in SAMPLES.glob("*.eml")))
def test_a_report_cut_off_anywhere_never_names_anyone_the_whole_one_does_not(name):
    raw = sample(name)
    whole = set(suppressed(raw))

    for cut in range(len(raw)):
        assert set(suppressed(raw[:cut])) <= whole, f"cut at byte {cut}"


def test_a_truncated_postfix_report_still_counts_once_its_status_group_is_complete():
    raw = sample("postfix_user_unknown.eml")
    cut = raw.index(b"Content-Description: Undelivered Message\n")

    assert suppressed(raw[:cut]) == [("Gone.Reader@example.org", BOUNCE)]


def test_hostile_shapes_never_raise():
    deep = b"Content-Type: message/rfc822\n\n" * 5000 + b"body"
    wide = b"Content-Type: multipart/report; boundary=b\n\n" + b"--b\n\n" * 20000 + b"--b--"
    long_header = b"Final-Recipient: rfc822; " + b"a" * 1_000_000 + b"@example.com\n"
    bad_bytes = sample("postfix_user_unknown.eml").replace(b"Action: failed", b"Action: \xff\xfe")

    for raw in (deep, wide, long_header, bad_bytes):
        assert read_report(raw).findings == ()
