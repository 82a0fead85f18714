"""SMTP_URL=smtp://… or smtps://…: one connection reused for every message, reopened when lost.

Where the server offers PIPELINING (RFC 2920, as Postfix and Exim do) a message costs one round
trip: its content and final "." go in one write together with the next message's MAIL FROM,
RCPT TO and DATA, and the replies are read back in order. Without it each command waits for
its reply, as smtplib.sendmail does. Either way the server accepts a message only at its final
".", and the caller records that acceptance before the next "." is written: a worker killed at
any moment leaves at most one accepted-but-unrecorded message per connection.

The server's answers become the transport's errors: a 5xx to RCPT or DATA refuses the recipient
for good (RecipientRefused), a 4xx retries it later, a refused MAIL FROM, a 421 or a server
that cannot be reached stops the batch (every other message would meet the same).
"""

from __future__ import annotations

import smtplib
import socket
from functools import cache

from mailer.message import BuiltMessage, Mail, MailFrom
from mailer.smtp_url import SmtpSettings
from mailer.transports.base import (
    ALWAYS_OPEN,
    AcceptGate,
    DeliveryError,
    RecipientRefused,
    ServerUnavailable,
    TemporaryFailure,
    build_for_transport,
)


@cache
def _local_hostname() -> str:
    # Resolved once: socket.getfqdn() may wait on a slow reverse lookup.
    return socket.getfqdn()


class _LostBeforeData(Exception):
    """The connection died before the content was sent: nothing of it reached the server."""


class SmtpTransport:
    def __init__(self, settings: SmtpSettings, mail_from: MailFrom) -> None:
        self.settings = settings
        self.mail_from = mail_from
        self._smtp: smtplib.SMTP | None = None
        self._pipelining = False
        # A message whose MAIL FROM, RCPT TO and DATA were written ahead, replies not yet read.
        self._ahead: tuple[Mail, BuiltMessage] | None = None

    def send(
        self,
        mail: Mail,
        then: Mail | None = None,
        gate: AcceptGate = ALWAYS_OPEN,
    ) -> None:
        """Deliver `mail`; with PIPELINING, write `then`'s envelope along with its end.

        Raises a DeliveryError for `mail` only; `then` must be the next message sent here.
        The "." that makes the server accept it is written once `gate` is open; if its wait
        raises, the connection is dropped (the server discards the message) and the error
        goes to the caller.
        """
        for fresh_try in (False, True):
            try:
                self._deliver(mail, then, gate)
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
        if self._ahead is not None:  # a half-open transaction: hang up, the server drops it
            self._ahead = None
            _close_quietly(smtp)
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    def _deliver(self, mail: Mail, then: Mail | None, gate: AcceptGate) -> None:
        smtp = self._connection()
        if self._ahead is not None and self._ahead[0].id == mail.id:
            built = self._ahead[1]
        else:
            self._discard_ahead()
            built = self._build(mail)
            self._write(_envelope(built, smtp))
        self._ahead = None
        self._check_envelope(built)
        follow: tuple[Mail, BuiltMessage] | None = None
        if then is not None and self._pipelining:
            try:
                follow = (then, self._build(then))
            except DeliveryError:  # raised again when `then` is sent on its own
                follow = None
        content = _dot_stuffed(built.data)
        end = b".\r\n" + (_envelope(follow[1], smtp) if follow else b"")
        if not gate.is_open():
            self._write(content)  # without its final ".", nothing is accepted yet
            content = b""
            try:
                gate.wait()
            except BaseException:
                self._drop()
                raise
        try:
            smtp.send(content + end)
        except (OSError, smtplib.SMTPException) as error:
            self._lost_in_content(error)
        self._ahead = follow
        try:
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPException) as error:
            self._lost_in_content(error)
        if code != 250:
            # The transaction ended at the "."; a message written ahead goes on as planned.
            self._refused("DATA", code, reply, reset=False)

    def _build(self, mail: Mail) -> BuiltMessage:
        return build_for_transport(
            mail, self.mail_from, smtputf8=self._connection().has_extn("smtputf8")
        )

    def _check_envelope(self, built: BuiltMessage) -> None:
        """Read the replies to MAIL FROM, RCPT TO and DATA; return when DATA said 354."""
        smtp = self._connection()
        try:
            replies = [smtp.getreply() for _ in range(3 if self._pipelining else 1)]
            if not self._pipelining:
                replies.append(self._command(f"RCPT TO:<{built.envelope_to}>", replies))
                replies.append(self._command("DATA", replies))
        except (OSError, smtplib.SMTPException) as error:
            raise _LostBeforeData(str(error)) from None
        (mail_code, mail_reply), (rcpt_code, rcpt_reply), (data_code, data_reply) = replies
        if data_code == 354 and (mail_code != 250 or rcpt_code not in (250, 251)):
            # The server opened DATA although it refused the envelope: end it empty.
            self._write(b".\r\n")
            self._read_quietly()
        if mail_code != 250:
            self._refused("MAIL FROM", mail_code, mail_reply)
        if rcpt_code not in (250, 251):
            self._refused("RCPT TO", rcpt_code, rcpt_reply)
        if data_code != 354:
            self._refused("DATA", data_code, data_reply)

    def _command(self, line: str, replies: list[tuple[int, bytes]]) -> tuple[int, bytes]:
        """Without pipelining: one command, if every earlier one was accepted."""
        if any(code >= 400 for code, _ in replies):
            return 503, b"not sent: an earlier command was refused"
        smtp = self._connection()
        smtp.send(f"{line}\r\n".encode())
        return smtp.getreply()

    def _write(self, data: bytes) -> None:
        try:
            self._connection().send(data)
        except (OSError, smtplib.SMTPException) as error:
            raise _LostBeforeData(str(error)) from None

    def _lost_in_content(self, error: Exception) -> None:
        # The content may have arrived before the line died; retrying later (same Message-ID)
        # is the only choice, but never on this connection.
        self._drop()
        raise TemporaryFailure(f"connection lost while sending the message: {error}") from None

    def _discard_ahead(self) -> None:
        """A message written ahead is not the one sent now: read its replies and reset."""
        if self._ahead is None:
            return
        self._ahead = None
        try:
            codes = [self._connection().getreply()[0] for _ in range(3)]
        except (OSError, smtplib.SMTPException):
            self._drop()
            return
        if codes[2] == 354:
            # The server waits for content; a "." now would deliver an empty message, so the
            # only way out is to hang up.
            self._drop()
        else:
            self._reset()

    def _read_quietly(self) -> None:
        try:
            self._connection().getreply()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._ahead = None
            self._smtp = _open_connection(self.settings)
            self._pipelining = self._smtp.has_extn("pipelining")
        return self._smtp

    def _refused(self, stage: str, code: int, reply: bytes | str, *, reset: bool = True) -> None:
        if isinstance(reply, bytes):
            reply = reply.decode("utf-8", "replace")
        text = f"{stage} refused: {code} {' '.join(reply.split())}"
        if code == 421 or code == -1:  # the server is closing this connection
            self._drop()
            raise ServerUnavailable(text)
        if reset:
            self._reset()
        if stage == "MAIL FROM":
            # Our own MAIL FROM or session was refused: every message would be, too.
            raise ServerUnavailable(text)
        if 500 <= code < 600:
            raise RecipientRefused(text)
        raise TemporaryFailure(text)

    def _reset(self) -> None:
        if self._smtp is None:
            return
        if self._ahead is not None:
            self._discard_ahead()
            return
        try:
            self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        self._ahead = None
        _close_quietly(smtp)


def _envelope(built: BuiltMessage, smtp: smtplib.SMTP) -> bytes:
    """MAIL FROM, RCPT TO and DATA as written together (or MAIL FROM alone without PIPELINING)."""
    options = ""
    if built.smtputf8:
        options = " SMTPUTF8 BODY=8BITMIME" if smtp.has_extn("8bitmime") else " SMTPUTF8"
    mail_from = f"MAIL FROM:<{built.envelope_from}>{options}\r\n"
    if not smtp.has_extn("pipelining"):
        return mail_from.encode("utf-8")
    return f"{mail_from}RCPT TO:<{built.envelope_to}>\r\nDATA\r\n".encode()


def _dot_stuffed(data: bytes) -> bytes:
    """RFC 5321 4.5.2: a line starting with "." gets another; the final "." is not added."""
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed


def _open_connection(settings: SmtpSettings) -> smtplib.SMTP:
    """Connected, greeted, encrypted as SMTP_URL asks and logged in; else ServerUnavailable."""
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
        # Content and its final "." go in separate writes: without this, Nagle's algorithm
        # holds the "." until the server's delayed ACK (40 ms a message).
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
    return smtp


def _close_quietly(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.close()
        except OSError:
            pass
