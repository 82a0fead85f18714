"""Reading what mail servers send back: delivery reports (RFC 3464) and abuse reports (RFC 5965).

`read_report` takes one raw message and says which recipients should be suppressed: those
a delivery report names with `Action: failed` and a permanent `Status: 5.x.x`, and the reader
of an abuse report. Everything else (a delay, an auto-reply, a plain-text bounce in no standard
form, garbage) yields nothing, and nothing here ever raises: a mail server pipes every bounce
to `flask mail bounce`, and an exception would bounce the bounce.

Only the top-level message is read: a report forwarded inside another message (a reader
replying with a bounce attached) is not a report about that reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.parser import HeaderParser
from email.policy import Compat32
from email.utils import getaddresses

from addresses import InvalidEmail
from mailer.suppression_models import BOUNCE, COMPLAINT
from mailer.suppressions import normalised_address

DELIVERY_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
FEEDBACK_REPORT_TYPE = "message/feedback-report"
ORIGINAL_MESSAGE_TYPES = ("message/rfc822", "message/global")
ORIGINAL_HEADERS_TYPES = ("text/rfc822-headers", "message/rfc822-headers")

# RFC 5965 feedback types that mean "the reader did not want this"; not-spam, virus and
# auth-failure say nothing about the reader's wishes.
COMPLAINT_FEEDBACK_TYPES = frozenset({"abuse", "fraud", "other"})

DELIVERY_REPORT = "delivery report"
ABUSE_REPORT = "abuse report"
NOT_A_REPORT = "not a report"


class _RawHeaders(Compat32):
    """compat32, but header values come back as received (8-bit bytes surrogate-escaped):
    compat32 itself turns them into a Header that prints U+FFFD for every byte."""

    def header_fetch_parse(self, name, value):
        return value


_POLICY = _RawHeaders()
_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_BLANK_LINE = re.compile(r"\r?\n[ \t]*\r?\n")
_LONGEST_DETAIL = 300


@dataclass(frozen=True)
class Finding:
    """A recipient to suppress, and why."""

    address: str  # normalised
    reason: str  # BOUNCE or COMPLAINT
    detail: str


@dataclass(frozen=True)
class ReportReading:
    kind: str  # DELIVERY_REPORT, ABUSE_REPORT or NOT_A_REPORT
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()  # what was seen and left alone, in words for the operator


def read_report(raw: bytes) -> ReportReading:
    """What one raw message asks us to suppress; never raises."""
    try:
        return _read(raw)
    except Exception:  # the email package on hostile input: a report it is not
        return ReportReading(NOT_A_REPORT, notes=("the message could not be read",))


def _read(raw: bytes) -> ReportReading:
    # A message cut off mid-line (a size limit, a broken pipe) may end in half an address:
    # "reader@example.co" is an address too, just not the reader's.
    raw = raw[: raw.rfind(b"\n") + 1]
    if not raw.strip():
        return ReportReading(
            NOT_A_REPORT, notes=("nothing readable: empty, or cut off before its first line ended",)
        )
    message = message_from_bytes(raw, policy=_POLICY)
    if message.is_multipart():
        parts = [part for part in message.get_payload() if isinstance(part, Message)]
        for part in parts:
            content_type = part.get_content_type()
            if content_type in DELIVERY_STATUS_TYPES:
                return _delivery_report(part)
            if content_type == FEEDBACK_REPORT_TYPE:
                return _abuse_report(part, parts)
    return ReportReading(
        NOT_A_REPORT, notes=("not a delivery report or an abuse report: nothing to do",)
    )


def _delivery_report(status_part: Message) -> ReportReading:
    findings: list[Finding] = []
    notes: list[str] = []
    for group in _field_groups(status_part):
        named = _field(group, "Original-Recipient") or _field(group, "Final-Recipient")
        if not named:
            continue  # the per-message group (Reporting-MTA, Arrival-Date, ...)
        address = _recipient_address(_field(group, "Original-Recipient")) or _recipient_address(
            _field(group, "Final-Recipient")
        )
        if address is None:
            notes.append(f"{_clip(named)}: not an address, left alone")
            continue
        action = _field(group, "Action").lower().split(" ")[0]
        status = _status_code(_field(group, "Status"))
        if action == "failed" and status and status.startswith("5."):
            detail = " ".join(filter(None, [status, _field(group, "Diagnostic-Code")]))
            findings.append(Finding(address, BOUNCE, _clip(detail)))
        else:
            described = f"{action or 'no action'} ({status or 'no status'})"
            notes.append(f"{address}: {described}, not a permanent failure: left alone")
    if not findings and not notes:
        notes.append("a delivery report that names no recipient: nothing to do")
    return ReportReading(DELIVERY_REPORT, tuple(findings), tuple(notes))


def _abuse_report(report_part: Message, parts: list[Message]) -> ReportReading:
    groups = _field_groups(report_part)
    fields = groups[0] if groups else Message()
    feedback_type = _field(fields, "Feedback-Type").lower()
    if feedback_type not in COMPLAINT_FEEDBACK_TYPES:
        shown = feedback_type or "no feedback type"
        note = f"a {shown} report, not a complaint: left alone"
        return ReportReading(ABUSE_REPORT, notes=(note,))
    addresses = _valid_addresses(_all_fields(fields, "Original-Rcpt-To"))
    if not addresses:
        addresses = _original_recipient(parts)
    if not addresses:
        return ReportReading(
            ABUSE_REPORT, notes=("a complaint that names no recipient we can read: left alone",)
        )
    source = _field(fields, "User-Agent") or _field(fields, "Reporting-MTA")
    detail = _clip(f"Feedback-Type: {feedback_type}" + (f" from {source}" if source else ""))
    return ReportReading(
        ABUSE_REPORT, tuple(Finding(address, COMPLAINT, detail) for address in addresses)
    )


def _original_recipient(parts: list[Message]) -> list[str]:
    """The one To of the message complained about; a message to several was not one of ours."""
    for part in parts:
        content_type = part.get_content_type()
        headers: Message | None = None
        if content_type in ORIGINAL_MESSAGE_TYPES:
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                headers = payload[0]
        elif content_type in ORIGINAL_HEADERS_TYPES:
            headers = HeaderParser(policy=_POLICY).parsestr(_body_text(part))
        if headers is not None:
            pairs = getaddresses(_all_fields(headers, "To"))
            candidates = [address for _, address in pairs if address]
            return _valid_addresses(candidates) if len(candidates) == 1 else []
    return []


def _field_groups(part: Message) -> list[Message]:
    """The blank-line separated groups of fields in a report part, each as a Message.

    The email package splits message/delivery-status into its groups itself; other report
    types (feedback-report, global-delivery-status) arrive as one message whose headers are
    the first group and whose body holds the rest.
    """
    payload = part.get_payload()
    if isinstance(payload, str):
        return _parse_groups(_body_text(part))
    groups: list[Message] = []
    for block in payload:
        if not isinstance(block, Message):
            continue
        groups.append(block)
        if not block.is_multipart():
            groups.extend(_parse_groups(_body_text(block)))
    return groups


def _parse_groups(text: str) -> list[Message]:
    parser = HeaderParser(policy=_POLICY)
    blocks = _BLANK_LINE.split(text.strip())
    return [parser.parsestr(block.strip("\r\n") + "\n") for block in blocks if block.strip()]


def _recipient_address(value: str) -> str | None:
    """`rfc822; reader@example.com` (or `utf-8; ...`, RFC 6533) as a normalised address."""
    if not value:
        return None
    address_type, separator, address = value.partition(";")
    if not separator:
        address_type, address = "rfc822", value
    if address_type.strip().lower() not in ("rfc822", "utf-8"):
        return None
    found = _valid_addresses([address.strip().strip("<>").strip()])
    return found[0] if found else None


def _valid_addresses(candidates: list[str]) -> list[str]:
    found: list[str] = []
    for candidate in candidates:
        candidate = candidate.strip().strip("<>").strip()
        try:
            address = normalised_address(candidate)
        except InvalidEmail:
            continue
        if address not in found:
            found.append(address)
    return found


def _status_code(value: str) -> str | None:
    match = _STATUS.match(value)
    return ".".join(match.groups()) if match else None


def _field(message: Message, name: str) -> str:
    values = _all_fields(message, name)
    return values[0] if values else ""


def _all_fields(message: Message, name: str) -> list[str]:
    """Header values as plain unfolded text, whatever bytes the sender put there."""
    return [" ".join(_text(str(value)).split()) for value in message.get_all(name, [])]


def _body_text(part: Message) -> str:
    """A part's body as text: get_payload() alone would turn every 8-bit byte into U+FFFD."""
    body = part.get_payload(decode=True)
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else ""


def _text(value: object) -> str:
    """Text parsed from bytes carries undecodable bytes as surrogates: make them UTF-8 again."""
    if not isinstance(value, str):
        return ""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _LONGEST_DETAIL else text[: _LONGEST_DETAIL - 1] + "…"
