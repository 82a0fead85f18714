"""Where mail goes, chosen by SMTP_URL.

    smtp://[user:pass@]host[:port][?starttls=auto|require|never&timeout=S&helo=NAME&cafile=PATH]
        Port 25 unless given. STARTTLS is used whenever the server offers it (`auto`, the
        default), so credentials and mail are encrypted with any ordinary relay; `require`
        refuses to send in clear text; `never` is for a local relay whose certificate cannot
        be verified. Certificates are verified against the system's trust store, or against
        `cafile` (a PEM bundle) for a relay signed by a private authority.
    smtps://[user:pass@]host[:port][?timeout=S&helo=NAME&cafile=PATH]
        Implicit TLS from the first byte, port 465 unless given.
    console
        Prints every message, decoded and readable, to standard output (what `make run` shows).
    memory
        Keeps every message in MEMORY_OUTBOX, a list in this process (for tests).

A sender reuses one connection for every message it is given and reconnects when the server
has dropped it. Its errors say what the worker should do with the message:
TemporaryFailure (retry later), PermanentFailure (never retry) or ServerUnavailable (nothing
can be sent now: stop the batch).
"""

from __future__ import annotations

import email
import re
import smtplib
import socket
import ssl
import sys
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Protocol, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from mailer.message import (
    BuiltMessage,
    Mail,
    Sender,
    UndeliverableAddress,
    UnusableSender,
    build_message,
)


class SmtpUrlError(ValueError):
    """SMTP_URL cannot be understood; nothing can be sent until it is fixed."""


class DeliveryError(Exception):
    """The message was not delivered this time."""


class TemporaryFailure(DeliveryError):
    """This message should be tried again later (a 4xx answer, a connection lost mid-message)."""


class PermanentFailure(DeliveryError):
    """This message will never be accepted (a 5xx answer, an address this server cannot take)."""


class ServerUnavailable(DeliveryError):
    """Nothing can be sent now (server down, refusing our sender or our login): stop the batch."""


class OutboxSender(Protocol):
    def send(self, mail: Mail) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: str = "auto"  # auto | require | never
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    helo: str | None = None
    cafile: str | None = None

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)


_QUERY_OPTIONS = {"starttls", "timeout", "helo", "cafile"}


def parse_smtp_url(url: str) -> SmtpSettings:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise SmtpUrlError(
            f"SMTP_URL {_redacted(url)!r}: expected smtp://, smtps://, 'console' or 'memory'"
        )
    try:
        port = parts.port
    except ValueError:
        raise SmtpUrlError(f"SMTP_URL {_redacted(url)!r}: the port is not a number") from None
    if not parts.hostname:
        raise SmtpUrlError(f"SMTP_URL {_redacted(url)!r}: no host name")
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    unknown = set(query) - _QUERY_OPTIONS
    if unknown:
        raise SmtpUrlError(f"SMTP_URL: unknown option(s) {', '.join(sorted(unknown))}")
    starttls = query.get("starttls", "auto")
    if starttls not in ("auto", "require", "never"):
        raise SmtpUrlError("SMTP_URL: starttls must be auto, require or never")
    try:
        timeout = float(query.get("timeout", "30"))
    except ValueError:
        raise SmtpUrlError("SMTP_URL: timeout must be a number of seconds") from None
    if "cafile" in query and not Path(query["cafile"]).is_file():
        raise SmtpUrlError(f"SMTP_URL: cafile {query['cafile']!r} is not a readable file")
    implicit_tls = parts.scheme == "smtps"
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if implicit_tls else 25),
        implicit_tls=implicit_tls,
        starttls="never" if implicit_tls else starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
        helo=query.get("helo"),
        cafile=query.get("cafile"),
    )


def make_sender(smtp_url: str, sender: Sender, *, stream: TextIO | None = None) -> OutboxSender:
    """The sender SMTP_URL names; raises SmtpUrlError when it names none."""
    kind = (smtp_url or "").strip()
    if kind.lower() in ("console", "console://"):
        return ConsoleSender(sender, stream=stream)
    if kind.lower() in ("memory", "memory://"):
        return MemorySender(sender)
    return SmtpSender(parse_smtp_url(kind), sender)


def describe_smtp_url(smtp_url: str) -> str:
    """SMTP_URL as it may appear in a log: without the password."""
    return _redacted(smtp_url)


def _redacted(url: str) -> str:
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


@cache
def _local_hostname() -> str:
    # Resolved once: socket.getfqdn() may wait on a slow reverse lookup.
    return socket.getfqdn()


def _build(mail: Mail, sender: Sender, *, smtputf8: bool) -> BuiltMessage:
    try:
        return build_message(mail, sender, smtputf8=smtputf8)
    except UnusableSender as error:  # every message would fail the same way: stop, keep them
        raise ServerUnavailable(str(error)) from None
    except UndeliverableAddress as error:
        raise PermanentFailure(str(error)) from None


class SmtpSender:
    def __init__(self, settings: SmtpSettings, sender: Sender) -> None:
        self.settings = settings
        self.sender = sender
        self._smtp: smtplib.SMTP | None = None

    def send(self, mail: Mail) -> None:
        for fresh_try in (False, True):
            smtp = self._connection()
            built = _build(mail, self.sender, smtputf8=smtp.has_extn("smtputf8"))
            try:
                self._transaction(smtp, built)
                return
            except _LostBeforeData as lost:
                # The server closed a connection we held (idle timeout, restart). Nothing of
                # this message reached it, so one immediate retry on a new connection is safe.
                self._drop()
                if fresh_try:
                    raise ServerUnavailable(f"connection lost: {lost}") from None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        settings = self.settings
        where = f"{settings.host}:{settings.port}"
        smtp: smtplib.SMTP | None = None
        try:
            helo = settings.helo or _local_hostname()
            if settings.implicit_tls:
                smtp = smtplib.SMTP_SSL(
                    settings.host,
                    settings.port,
                    local_hostname=helo,
                    timeout=settings.timeout,
                    context=settings.tls_context(),
                )
            else:
                smtp = smtplib.SMTP(
                    settings.host, settings.port, local_hostname=helo, timeout=settings.timeout
                )
            smtp.ehlo_or_helo_if_needed()
            if settings.starttls != "never" and smtp.has_extn("starttls"):
                smtp.starttls(context=settings.tls_context())
                smtp.ehlo()
            elif settings.starttls == "require" and not settings.implicit_tls:
                raise ServerUnavailable(
                    f"{where} does not offer STARTTLS and SMTP_URL says starttls=require"
                )
            if settings.username:
                smtp.login(settings.username, settings.password or "")
        except ServerUnavailable:
            _close_quietly(smtp)
            raise
        except (OSError, smtplib.SMTPException) as error:
            _close_quietly(smtp)
            raise ServerUnavailable(f"cannot use the SMTP server at {where}: {error}") from None
        self._smtp = smtp
        return smtp

    def _transaction(self, smtp: smtplib.SMTP, built: BuiltMessage) -> None:
        options = []
        if built.smtputf8:
            options.append("SMTPUTF8")
            if smtp.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
        try:
            code, reply = smtp.mail(built.envelope_from, options)
            if code != 250:
                self._refused("MAIL FROM", code, reply)
            code, reply = smtp.rcpt(built.envelope_to)
            if code not in (250, 251):
                self._refused("RCPT TO", code, reply)
        except smtplib.SMTPServerDisconnected as error:
            raise _LostBeforeData(str(error)) from None
        except smtplib.SMTPException as error:
            self._reset()
            raise TemporaryFailure(f"SMTP error: {error}") from None
        except OSError as error:  # reset, timed out: the socket is no use any more
            raise _LostBeforeData(str(error)) from None
        try:
            code, reply = smtp.data(built.data)
        except smtplib.SMTPDataError as error:  # DATA itself refused, before any content
            code, reply = error.smtp_code, error.smtp_error
        except (OSError, smtplib.SMTPException) as error:
            # The content may have arrived before the line died; retrying later (same
            # Message-ID) is the only choice, but never on this connection.
            self._drop()
            raise TemporaryFailure(f"connection lost while sending the message: {error}") from None
        if code != 250:
            self._refused("DATA", code, reply)

    def _refused(self, stage: str, code: int, reply: bytes | str) -> None:
        if isinstance(reply, bytes):
            reply = reply.decode("utf-8", "replace")
        text = f"{stage} refused: {code} {' '.join(reply.split())}"
        if code == 421:  # the server is closing this connection
            self._drop()
            raise ServerUnavailable(text)
        self._reset()
        if stage == "MAIL FROM":
            # Our own sender address or session was refused: every message would be, too.
            raise ServerUnavailable(text)
        if 500 <= code < 600:
            raise PermanentFailure(text)
        raise TemporaryFailure(text)

    def _reset(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        _close_quietly(smtp)


class _LostBeforeData(Exception):
    pass


def _close_quietly(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.close()
        except OSError:
            pass


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


class MemorySender:
    """Keeps what it is given in MEMORY_OUTBOX; tests clear it themselves."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender

    def send(self, mail: Mail) -> None:
        built = _build(mail, self.sender, smtputf8=True)
        MEMORY_OUTBOX.append(
            MemoryDelivery(mail.id, built.envelope_from, built.envelope_to, built.data)
        )

    def close(self) -> None:
        pass


_LINK = re.compile(r"https?://[^\s<>\"')\]]+")


class ConsoleSender:
    """Prints each message decoded, its links last, where a newcomer's eye lands."""

    def __init__(self, sender: Sender, *, stream: TextIO | None = None) -> None:
        self.sender = sender
        self.stream = stream

    def send(self, mail: Mail) -> None:
        built = _build(mail, self.sender, smtputf8=True)
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
