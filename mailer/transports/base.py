"""What every transport promises the worker, and the errors that tell it what to do next.

A transport takes one message at a time and keeps whatever connection it needs between them.
Its errors say what should happen to the message: TemporaryFailure (retry later),
PermanentFailure (never retry) or ServerUnavailable (nothing can be sent now: stop the batch).
"""

from __future__ import annotations

from typing import Protocol

from mailer.message import (
    BuiltMessage,
    Mail,
    MailFrom,
    UndeliverableAddress,
    UnusableMailFrom,
    build_message,
)


class DeliveryError(Exception):
    """The message was not delivered this time."""


class TemporaryFailure(DeliveryError):
    """This message should be tried again later (a 4xx answer, a connection lost mid-message)."""


class PermanentFailure(DeliveryError):
    """This message will never be accepted (a 5xx answer, an address this server cannot take)."""


class RecipientRefused(PermanentFailure):
    """The receiving server refused this recipient or message with a 5xx: the address is
    suppressed (reason `refused`) as well as the message failed."""


class ServerUnavailable(DeliveryError):
    """Nothing can be sent now (server down, refusing our MAIL FROM or our login): stop."""


class Transport(Protocol):
    """Carries messages somewhere: an SMTP server, the console, a list in memory."""

    def send(self, mail: Mail, then: Mail | None = None, gate: AcceptGate = ...) -> None:
        """Deliver one message or raise a DeliveryError saying what to do with it.

        `then` is the message this transport will be given next, if known: one that pipelines
        (SMTP) may start its transaction early; the error raised is always `mail`'s.
        The message is let through to where the server can accept it (SMTP's final ".") only
        once `gate` is open; an error gate.wait() raises abandons the message and reaches the
        caller.
        """

    def close(self) -> None:
        """Let go of any connection; the transport may be used again afterwards."""


class AcceptGate(Protocol):
    """What a message waits for before the server may accept it (the sender's last message
    written as sent)."""

    def is_open(self) -> bool:
        """True when wait() would return at once."""

    def wait(self) -> None:
        """Return once open; raise to abandon the message."""


class _AlwaysOpen:
    def is_open(self) -> bool:
        return True

    def wait(self) -> None:
        pass


ALWAYS_OPEN: AcceptGate = _AlwaysOpen()


def build_for_transport(mail: Mail, mail_from: MailFrom, *, smtputf8: bool) -> BuiltMessage:
    """build_message, its errors turned into what the worker does about them."""
    try:
        return build_message(mail, mail_from, smtputf8=smtputf8)
    except UnusableMailFrom as error:  # every message would fail the same way: stop, keep them
        raise ServerUnavailable(str(error)) from None
    except UndeliverableAddress as error:
        raise PermanentFailure(str(error)) from None
