"""SMTP_URL=memory: every message kept in MEMORY_OUTBOX, a list in this process, for tests."""

from __future__ import annotations

import email
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from mailer.message import Mail, MailFrom
from mailer.transports.base import ALWAYS_OPEN, AcceptGate, build_for_transport


@dataclass(frozen=True)
class MemoryDelivery:
    mail_id: int
    envelope_from: str
    envelope_to: str
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=policy.default)


MEMORY_OUTBOX: list[MemoryDelivery] = []


class MemoryTransport:
    """Keeps what it is given in MEMORY_OUTBOX; tests clear it themselves."""

    def __init__(self, mail_from: MailFrom) -> None:
        self.mail_from = mail_from

    def send(
        self,
        mail: Mail,
        then: Mail | None = None,
        gate: AcceptGate = ALWAYS_OPEN,
    ) -> None:
        built = build_for_transport(mail, self.mail_from, smtputf8=True)
        gate.wait()
        MEMORY_OUTBOX.append(
            MemoryDelivery(mail.id, built.envelope_from, built.envelope_to, built.data)
        )

    def close(self) -> None:
        pass
