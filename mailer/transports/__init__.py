"""Transports: where the worker hands each message (an SMTP server, the console, memory).

Each call of make_transport gives a transport of its own, with its own connection, so several
can run side by side.
"""

from __future__ import annotations

from mailer.message import MailFrom
from mailer.smtp_url import CONSOLE, MEMORY, parse_smtp_url, transport_kind
from mailer.transports.base import Transport
from mailer.transports.console import ConsoleTransport
from mailer.transports.memory import MemoryTransport
from mailer.transports.smtp import SmtpTransport


def make_transport(smtp_url: str, mail_from: MailFrom) -> Transport:
    """The transport SMTP_URL names; raises SmtpUrlError when it names none."""
    kind = transport_kind(smtp_url)
    if kind == CONSOLE:
        return ConsoleTransport(mail_from)
    if kind == MEMORY:
        return MemoryTransport(mail_from)
    return SmtpTransport(parse_smtp_url(smtp_url), mail_from)
