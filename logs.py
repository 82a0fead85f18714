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
import math
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii
from typing import Any

from flask import g, has_request_context
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_FIELD = "request_id"
# Libraries that say at INFO what no operator needs (alembic lists its plugins for every app).
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


# Each pattern above needs a character outside these (":", "_", "=", "$", ".", "@", a space):
# a text of them alone (our request id, a method) is left as it is, unsearched (~15 µs for 32).
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
REMEMBERED_UP_TO = 200  # characters
_scrub_remembered = lru_cache(maxsize=4096)(scrub)


def scrub_recurring(text: str) -> str:
    """scrub(), remembered for short texts that come back (a method, a route's path)."""
    if _NOTHING_TO_SCRUB.fullmatch(text):  # kept out of the memory: a request id of ours
        return text
    return _scrub_remembered(text) if len(text) <= REMEMBERED_UP_TO else scrub(text)


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


# A record made by prescrubbed_record() names its extra fields and counts its attributes, so
# JsonLineFormatter can write its line straight from them while no filter has added to it.
_LINE_FIELDS = "_line_fields"
_LINE_SIZE = "_line_size"


def prescrubbed_record(
    logger: logging.Logger, level: int, message: str, fields: dict[str, Any]
) -> logging.LogRecord:
    """A record of `logger` at `level`, for logger.handle(), whose maker scrubbed `message` and
    the texts among `fields` already (with scrub_recurring(), as ScrubSecrets would): for a line
    written on every request. `fields` hold texts and numbers (or plain containers, no cycles).
    Neither ScrubSecrets nor JsonLineFormatter's general path goes over it again; the line's
    bytes are what that path would write (tests/test_logs.py)."""
    # makeRecord, not logger.log(): no walk up the stack for a file and line no JSON line shows.
    record = logger.makeRecord(logger.name, level, "(unknown file)", 0, message, None, None)
    attributes = record.__dict__
    if not _plain_records():
        # A record factory of someone's own (logging.setLogRecordFactory) may add fields the
        # line must show and that nobody scrubbed: the record goes the general way, whole.
        attributes.update(fields)
        return record
    size = len(attributes)
    attributes.update(fields)
    if len(attributes) != size + len(fields) or "message" in fields or "asctime" in fields:
        raise KeyError(f"fields {sorted(fields)} would overwrite a record's own attributes")
    # Set here, as formatting would set them, so formatting adds no attribute to count.
    attributes["message"] = message
    attributes["time"] = iso_time(record.created)
    attributes[SCRUBBED_BY_MAKER] = True
    attributes[_LINE_FIELDS] = tuple(fields)
    attributes[_LINE_SIZE] = len(attributes) + 1
    return record


def write_prescrubbed_line(
    logger: logging.Logger, level: int, message: str, fields: dict[str, Any]
) -> None:
    """logger.handle(prescrubbed_record(…)) once logger.isEnabledFor(level). Where logging is as
    configure_logging() sets it up, the same bytes go straight to the handler's stream: no
    LogRecord made, no filter or formatter called (~15 µs of a signup, bench/results.md)."""
    handler = _sole_json_handler(logger, level, fields)
    if handler is None:
        logger.handle(prescrubbed_record(logger, level, message, fields))
        return
    line = handler.formatter.prescrubbed_line(
        iso_time(time.time()), logging.getLevelName(level), logger.name, message, fields
    )
    with handler.lock:  # as Handler.handle() and StreamHandler.emit()
        try:
            handler.stream.write(line + handler.terminator)
            handler.flush()
        except RecursionError:
            raise
        except Exception:
            handler.handleError(prescrubbed_record(logger, level, message, fields))


def _plain_records() -> bool:
    """Whether logging makes its records as it does by default (no record factory of its own)."""
    return logging.getLogRecordFactory() is logging.LogRecord


def _sole_json_handler(logger: logging.Logger, level: int, fields: dict) -> Any:
    """json_handler()'s, unchanged, when it alone would write the record and its filters would
    leave it as it is (it names its request id; it is no development server's line). A logger
    of a class of its own (logging.setLoggerClass) may handle its records its own way, and a
    record factory of its own may add to them: either gets a record, through logger.handle()."""
    if type(logger) is not logging.Logger or not _plain_records():
        return None
    if logger.filters or logger.handlers or not logger.propagate or logger.disabled:
        return None
    handlers = logger.root.handlers
    if logger.parent is not logger.root or len(handlers) != 1 or logger.name == "werkzeug":
        return None
    handler, formatter = handlers[0], handlers[0].formatter
    if (
        type(handler) in _PLAIN_STREAM_HANDLERS
        and handler.level <= level
        and REQUEST_ID_FIELD in fields
        and type(formatter) is JsonLineFormatter
        and formatter._writes_prescrubbed_lines
        and tuple(type(each) for each in handler.filters) == _JSON_HANDLER_FILTERS
    ):
        return handler
    return None


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
        # A prescrubbed record's line is written directly only in the configuration that path
        # was made to match (not with other fields, renames, prefixes or a subclass's hooks).
        self._writes_prescrubbed_lines = not args and not kwargs
        self._writes_prescrubbed_lines &= type(self) is JsonLineFormatter
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("json_ensure_ascii", False)
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, SCRUBBED_BY_MAKER])
        super().__init__(["time", "levelname", "name", "message"], *args, **kwargs)
        # Built once (json.dumps(cls=…) and encode() build theirs for every line), the line's
        # without a check for cycles: a prescrubbed record's fields have none.
        self._encoder = encoder = (self.json_encoder or json.JSONEncoder)(
            default=self.json_default, indent=self.json_indent, ensure_ascii=self.json_ensure_ascii
        )
        self._encode_line = encoder.encode
        if c_make_encoder is not None and self._writes_prescrubbed_lines:
            chunks = c_make_encoder(
                None,
                encoder.default,
                encode_basestring_ascii if encoder.ensure_ascii else encode_basestring,
                None,
                encoder.key_separator,
                encoder.item_separator,
                encoder.sort_keys,
                encoder.skipkeys,
                encoder.allow_nan,
            )
            self._encode_line = lambda log_data: "".join(chunks(log_data, 0))

    def format(self, record: logging.LogRecord) -> str:
        attributes = record.__dict__
        if (
            attributes.get(_LINE_SIZE) == len(attributes)  # as made: no filter added a field
            and self._writes_prescrubbed_lines
            and type(attributes["msg"]) is str
            and not (record.args or record.exc_info or record.exc_text or record.stack_info)
        ):
            fields = {key: attributes[key] for key in attributes[_LINE_FIELDS]}
            named = (attributes[key] for key in ("time", "levelname", "name", "msg"))
            return self.prescrubbed_line(*named, fields)
        return super().format(record)

    def prescrubbed_line(
        self, time_text: str, level_name: str, logger_name: str, message: str, fields: dict
    ) -> str:
        """What format() writes for a prescrubbed record, without the general path's work: its
        message needs no arguments and there is no exception or stack to add; its extra
        fields are the ones it names, in their order, none of them renamed or reserved."""
        log_data = {
            "time": time_text,
            "level": level_name,
            "logger": logger_name,
            "message": message,
        }
        log_data.update(fields)
        if log_data.get(REQUEST_ID_FIELD, "") is None:
            del log_data[REQUEST_ID_FIELD]
        return self._encode_line(log_data)

    def jsonify_log_record(self, log_data: dict) -> str:
        if self.json_serializer is not json.dumps:
            return super().jsonify_log_record(log_data)
        return self._encoder.encode(log_data)

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        record.time = iso_time(record.created)
        super().add_fields(log_data, record, message_dict)
        if log_data.get(REQUEST_ID_FIELD) is None:
            log_data.pop(REQUEST_ID_FIELD, None)


def split_timestamp(timestamp: float) -> tuple[float, int]:
    """(whole second, microseconds) as datetime.fromtimestamp() splits `timestamp`: rounded to
    the microsecond, half to even, a fraction that rounds up to 1 carried into the second."""
    fraction, second = math.modf(timestamp)
    microseconds = round(fraction * 1e6)
    if microseconds >= 1_000_000:
        return second + 1.0, microseconds - 1_000_000
    if microseconds < 0:
        return second - 1.0, microseconds + 1_000_000
    return second, microseconds


class OncePerSecond:
    """The text `make` writes for a whole second (as split_timestamp() gives it), made again
    only when the second changes: a line or a header written many times a second."""

    def __init__(self, make: Callable[[float], str]) -> None:
        self._make = make
        self._last: tuple[float, str] = (math.nan, "")  # one tuple: threads swap it whole

    def __call__(self, second: float) -> str:
        last_second, text = self._last
        if second != last_second:
            text = self._make(second)
            self._last = (second, text)
        return text


_iso_second = OncePerSecond(
    lambda second: datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds")[:-6]
)


def iso_time(created: float) -> str:
    """A record's time as its line shows it: UTC, to the millisecond. The same text as
    datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"), whose date and
    time of day are worked out once a second (tests/test_logs.py)."""
    second, microseconds = split_timestamp(created)
    return f"{_iso_second(second)}.{microseconds // 1000:03d}+00:00"


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (test runners swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


_PLAIN_STREAM_HANDLERS = (logging.StreamHandler, _CurrentStderr)
_JSON_HANDLER_FILTERS = (DropDevServerRequestLines, AddRequestId, ScrubSecrets)


def json_handler(stream=None) -> logging.Handler:
    """A handler writing scrubbed JSON lines to `stream` (standard error by default)."""
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderr()
    handler.setFormatter(JsonLineFormatter())
    for filter_type in _JSON_HANDLER_FILTERS:
        handler.addFilter(filter_type())
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
