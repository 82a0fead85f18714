"""SMTP_URL: which transport carries the mail, and how to reach an SMTP server.

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
    Keeps every message in a list in this process (for tests).
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

CONSOLE = "console"
MEMORY = "memory"


class SmtpUrlError(ValueError):
    """SMTP_URL cannot be understood; nothing can be sent until it is fixed."""


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


def transport_kind(smtp_url: str) -> str:
    """`console`, `memory` or `smtp` (for smtp:// and smtps://, checked by parse_smtp_url)."""
    kind = (smtp_url or "").strip().lower()
    for named in (CONSOLE, MEMORY):
        if kind in (named, f"{named}://"):
            return named
    return "smtp"


def parse_smtp_url(url: str) -> SmtpSettings:
    parts = urlsplit(url.strip())
    shown = f"SMTP_URL {describe_smtp_url(url)!r}"
    if parts.scheme not in ("smtp", "smtps"):
        raise SmtpUrlError(f"{shown}: expected smtp://, smtps://, 'console' or 'memory'")
    try:
        port = parts.port
    except ValueError:
        raise SmtpUrlError(f"{shown}: the port is not a number") from None
    if not parts.hostname:
        raise SmtpUrlError(f"{shown}: no host name")
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


def describe_smtp_url(smtp_url: str) -> str:
    """SMTP_URL as it may appear in a log or an error: without the password."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", smtp_url)
