"""SMTP_URL=console: every message printed decoded, its links last, where a newcomer's eye lands."""

from __future__ import annotations

import email
import re
import sys
from email import policy
from typing import TextIO

from mailer.message import Mail, MailFrom
from mailer.transports.base import ALWAYS_OPEN, AcceptGate, build_for_transport

_LINK = re.compile(r"https?://[^\s<>\"')\]]+")


class ConsoleTransport:
    def __init__(self, mail_from: MailFrom, *, stream: TextIO | None = None) -> None:
        self.mail_from = mail_from
        self.stream = stream

    def send(
        self,
        mail: Mail,
        then: Mail | None = None,
        gate: AcceptGate = ALWAYS_OPEN,
    ) -> None:
        built = build_for_transport(mail, self.mail_from, smtputf8=True)
        gate.wait()
        stream = self.stream or sys.stdout
        stream.write(render_for_console(mail.id, built.data))
        stream.flush()

    def close(self) -> None:
        pass


def render_for_console(mail_id: int, data: bytes) -> str:
    message = email.message_from_bytes(data, policy=policy.default)
    title = f" mail #{mail_id} to {message['To']} "
    lines = ["", f"{title:=^78}"]
    lines += [
        f"{name}: {value}"
        for name, value in message.items()
        if name not in ("Content-Type", "MIME-Version")
    ]
    text = ""
    for part in message.walk():
        if part.get_content_maintype() != "text":
            continue
        content = part.get_content().replace("\r\n", "\n")
        if part.get_content_subtype() == "plain":
            text = content
        lines += ["", f"--- {part.get_content_type()} ---", content.rstrip()]
    links = list(dict.fromkeys(link.rstrip(".,;:!?") for link in _LINK.findall(text)))
    if links:
        lines += ["", "--- links in this message ---"]
        lines += [f"  -> {link}" for link in links]
    lines += ["=" * 78, ""]
    return "\n".join(lines)
