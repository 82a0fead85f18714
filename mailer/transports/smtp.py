"""SMTP_URL=smtp://… or smtps://…: one connection reused for every message, reopened when lost.

The server's answers become the transport's errors: a 5xx to RCPT or DATA fails the message for
good, a 4xx retries it later, a refused MAIL FROM, a 421 or a server that cannot be reached
stops the batch (every other message would meet the same).
"""

from __future__ import annotations

import smtplib
import socket
from functools import cache

from mailer.message import BuiltMessage, Mail, MailFrom
from mailer.smtp_url import SmtpSettings
from mailer.transports.base import (
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
    """The connection died before DATA: nothing of this message reached the server."""


class SmtpTransport:
    def __init__(self, settings: SmtpSettings, mail_from: MailFrom) -> None:
        self.settings = settings
        self.mail_from = mail_from
        self._smtp: smtplib.SMTP | None = None

    def send(self, mail: Mail) -> None:
        for fresh_try in (False, True):
            smtp = self._connection()
            built = build_for_transport(mail, self.mail_from, smtputf8=smtp.has_extn("smtputf8"))
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
        if self._smtp is None:
            self._smtp = _open_connection(self.settings)
        return self._smtp

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
            # Our own MAIL FROM or session was refused: every message would be, too.
            raise ServerUnavailable(text)
        if 500 <= code < 600:
            raise RecipientRefused(text)
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
