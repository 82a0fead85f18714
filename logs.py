"""Logging: one JSON object per line, with nothing personal or secret in it.

configure_logging() puts one handler on the root logger, so the app's own messages, the
request lines (operations/requests.py), SQLAlchemy's and gunicorn's all come out the same way
(gunicorn.conf.py hands gunicorn's own loggers the same formatter and filter). Every record
passes ScrubSecrets on its way out: email addresses, signed tokens, passwords, credentials in
URLs and Stripe secrets are replaced, in the message, its arguments, extra fields and the
exception's text alike. A shared module: it imports no feature.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from flask import g, has_request_context
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_FIELD = "request_id"
# Libraries that say at INFO what nobody operating the service needs (alembic lists its plugins
# every time an app is created).
QUIET_LOGGERS = ("alembic.runtime.plugins",)

# One pass over the text, trying at each position these alternatives in turn. A URL's
# credentials are seen at the scheme, before the "pass@host" inside them could pass for an
# address; a key=value's value may be "Bearer <token>" or a password hash with commas in it.
_PASSWORD_HASH = r"""\$argon2(?:id|i|d)\$[^\s"';)}\]]+"""
_SECRET_VALUE = rf"""(?:{_PASSWORD_HASH}|(?i:bearer)\s+[^\s"',;]+|[^\s"'&,;)}}\]]+)"""
_SECRETS = re.compile(
    "|".join(
        [
            r"(?P<url>(?i:\b[a-z][a-z0-9+.-]*://))[^\s/@:]+:[^\s/@]*@",
            r"(?P<stripe>\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9_]+|\bwhsec_[A-Za-z0-9_]+)",
            r"(?P<key>(?i:(?:password|passwd|secret|token|api_?key|authorization)[\w-]*)"
            r"""["']?\s*[:=]\s*["']?)""" + _SECRET_VALUE,
            r"(?P<bearer>(?i:bearer))\s+[^\s\"',;]+",
            rf"(?P<hash>{_PASSWORD_HASH})",
            # itsdangerous: payload.timestamp.signature (a compressed payload starts with a dot).
            r"(?P<signed>\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{4,12}\.[A-Za-z0-9_-]{20,})",
            r"(?P<email>[\w.!#$%&'*+/=?^`{|}~-]+@(?:[\w-]+\.)+[\w-]{2,})",
        ]
    )
)
_PLACEHOLDERS = {
    "stripe": "[secret]",
    "hash": "[password-hash]",
    "signed": "[token]",
    "email": "[email]",
}


def _placeholder(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "url":
        return match["url"] + "[credentials]@"
    if kind == "key":
        return match["key"] + "[redacted]"
    if kind == "bearer":
        return match["bearer"] + " [token]"
    return _PLACEHOLDERS[kind]


# Each pattern above needs a character outside these (":", "_", "=", "$", ".", "@" or white
# space): a text made of them alone (a request id of ours, a method) is left as it is without a
# search, which costs more on such a run of letters than anywhere else (about 15 µs for 32).
_NOTHING_TO_SCRUB = re.compile(r"[A-Za-z0-9/-]*")


def scrub(text: str) -> str:
    """`text` with addresses, tokens, passwords and secrets replaced by a [placeholder]."""
    if _NOTHING_TO_SCRUB.fullmatch(text):
        return text
    return _SECRETS.sub(_placeholder, text)


_RECORD_ATTRIBUTES = frozenset(RESERVED_ATTRS)
# Set to True on a record whose maker scrubbed its message and extra fields already.
SCRUBBED_BY_MAKER = "_scrubbed"
# Extra fields repeat from record to record (a method, a route's path, an endpoint): short ones
# are scrubbed once and remembered, so each request line runs the pattern over its message only.
_REMEMBERED_UP_TO = 200
_scrub_remembered = lru_cache(maxsize=4096)(scrub)


def scrubbed_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` scrubbed as ScrubSecrets scrubs a record's extra fields, and marked so it does
    not scrub them again: for a line written on every request, whose maker scrubs its message."""
    return {**{key: _scrubbed(value) for key, value in fields.items()}, SCRUBBED_BY_MAKER: True}


def scrub_recurring(text: str) -> str:
    """scrub(), remembered for short texts that come back (a method, a route's path)."""
    if _NOTHING_TO_SCRUB.fullmatch(text):  # kept out of the memory: a request id of ours
        return text
    return _scrub_remembered(text) if len(text) <= _REMEMBERED_UP_TO else scrub(text)


def _scrubbed(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return scrub_recurring(value)
    if depth > 4:
        return value
    if isinstance(value, dict):
        return {key: _scrubbed(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item, depth + 1) for item in value]
    return value


class ScrubSecrets(logging.Filter):
    """Rewrites each record so no address, token, password or secret leaves the process.

    Put on a handler (not a logger), so it sees the records of every logger under it.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, SCRUBBED_BY_MAKER, False):
            self._scrub(record)
        return True

    def _scrub(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, dict):
            record.msg = _scrubbed(record.msg)
        else:
            record.msg = scrub(record.getMessage())
            record.args = None
        if record.exc_info:
            record.exc_text = self._formatter.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _RECORD_ATTRIBUTES:
                record.__dict__[key] = _scrubbed(value)
        setattr(record, SCRUBBED_BY_MAKER, True)


class AddRequestId(logging.Filter):
    """Adds the id of the request being answered (if any) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, REQUEST_ID_FIELD):
            setattr(record, REQUEST_ID_FIELD, current_request_id())
        return True


class DropDevServerRequestLines(logging.Filter):
    """The development server's own line per request: ours (operations) replaces it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        return not (record.name == "werkzeug" and message.endswith('"%s" %s %s'))


def set_request_id(request_id: str) -> None:
    g.request_id = request_id


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class JsonLineFormatter(JsonFormatter):
    """{"time", "level", "logger", "message", "request_id", …extra fields} on one line."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("json_ensure_ascii", False)
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, SCRUBBED_BY_MAKER])
        super().__init__(["time", "levelname", "name", "message"], *args, **kwargs)
        # Built once: json.dumps(cls=…) would build an encoder for every line.
        self._encoder = (self.json_encoder or json.JSONEncoder)(
            default=self.json_default, indent=self.json_indent, ensure_ascii=self.json_ensure_ascii
        )

    def jsonify_log_record(self, log_data: dict) -> str:
        if self.json_serializer is not json.dumps:
            return super().jsonify_log_record(log_data)
        return self._encoder.encode(log_data)

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        record.time = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        super().add_fields(log_data, record, message_dict)
        if log_data.get(REQUEST_ID_FIELD) is None:
            log_data.pop(REQUEST_ID_FIELD, None)


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (test runners swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def json_handler(stream=None) -> logging.Handler:
    """A handler writing scrubbed JSON lines to `stream` (standard error by default)."""
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderr()
    handler.setFormatter(JsonLineFormatter())
    for log_filter in (DropDevServerRequestLines(), AddRequestId(), ScrubSecrets()):
        handler.addFilter(log_filter)
    return handler


def configure_logging(level: str | int = "INFO", stream=None) -> logging.Handler:
    """JSON lines on the root logger, at `level`; safe to call again (one handler stays).

    Without `stream`, a JSON handler already there (gunicorn.conf.py's) is kept as it is.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h.formatter, JsonLineFormatter)]
    if ours and stream is None:
        handler = ours[0]
    else:
        for old in ours:
            root.removeHandler(old)
        handler = json_handler(stream)
        root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
