"""A record whose maker scrubbed it (the request line) is written as the general path writes it."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from logs import (
    JsonLineFormatter,
    iso_time,
    json_handler,
    prescrubbed_record,
    scrub,
    scrub_recurring,
    write_prescrubbed_line,
)

log = logging.getLogger("tests.logs")

# Texts the scrubbing patterns react to, mixed with quotes, back-slashes and non-ASCII letters
# the JSON encoder escapes or keeps.
_TEXTS = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.sampled_from(
            ["reader@example.com", "sk_live_abc123", "token=xyz", "/confirm/", "GET", "é", "\\"]
            + ['"', "\n", "\x00", "\u2028", " ", "ab.cdef.0123456789abcdefghijk", "Bearer q"]
        ),
        max_size=8,
    ).map("".join),
)
_VALUES = st.one_of(
    _TEXTS,
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
)
_NAMES = st.sampled_from(["method", "path", "endpoint", "status", "duration_ms", "request_id"])


def _written(record: logging.LogRecord) -> str:
    """The line the production handler (filters and formatter) writes for `record`."""
    stream = io.StringIO()
    json_handler(stream).handle(record)
    return stream.getvalue()


def _prescrubbed(level: int, message: str, fields: dict) -> logging.LogRecord:
    scrubbed = {
        name: scrub_recurring(value) if isinstance(value, str) else value
        for name, value in fields.items()
    }
    return prescrubbed_record(log, level, scrub(message), scrubbed)


@settings(max_examples=500, deadline=None)
@given(
    level=st.sampled_from([logging.INFO, logging.WARNING]),
    message=_TEXTS,
    fields=st.dictionaries(_NAMES, _VALUES, max_size=6),
)
@example(level=logging.INFO, message="GET /api/goal 200 0.1 ms", fields={"request_id": None})
def test_a_prescrubbed_records_line_is_the_line_the_general_path_writes(level, message, fields):
    made = _prescrubbed(level, message, fields)
    # The same record as any other code would log it, scrubbed by the handler's filter.
    general = log.makeRecord(
        log.name, level, "(unknown file)", 0, message, None, None, extra=fields
    )
    general.created = made.created

    assert _written(made) == _written(general)


def test_a_field_a_filter_adds_to_a_prescrubbed_record_is_written_too():
    stream = io.StringIO()
    handler = json_handler(stream)
    handler.addFilter(lambda record: setattr(record, "region", "eu-west") or True)

    handler.handle(_prescrubbed(logging.INFO, "GET /healthz 200 0.1 ms", {"status": 200}))

    assert stream.getvalue().endswith('"status": 200, "region": "eu-west"}\n')


def test_a_formatter_configured_otherwise_writes_a_prescrubbed_record_its_own_way():
    formatter = JsonLineFormatter(static_fields={"service": "newsletters"})
    record = _prescrubbed(logging.INFO, "GET /healthz 200 0.1 ms", {"status": 200})

    assert formatter.format(record).endswith('"service": "newsletters", "status": 200}')


def test_other_formatters_read_a_prescrubbed_record_as_any_other():
    record = _prescrubbed(logging.WARNING, "GET reader@example.com 500 1.0 ms", {"path": "/x"})

    text = logging.Formatter("%(levelname)s %(name)s %(message)s %(path)s").format(record)

    assert text == "WARNING tests.logs GET [email] 500 1.0 ms /x"


@pytest.mark.parametrize("name", ["msg", "levelname", "message", "asctime"])
def test_a_prescrubbed_record_keeps_its_own_attributes(name):
    with pytest.raises(KeyError):
        prescrubbed_record(log, logging.INFO, "text", {name: "overwritten"})


@settings(max_examples=2000, deadline=None)
@given(st.floats(0, 4e9))
@example(1764568282.9999995)  # rounds up into the next second
@example(1764568282.9995)
@example(1764568282.0005)
@example(0.0)
def test_a_records_time_is_the_text_datetime_makes_of_it(created):
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")

    assert iso_time(created) == expected


@pytest.fixture
def root_with_only(monkeypatch):
    """The root logger's handlers as configure_logging() leaves them in production (pytest adds
    its own while a test runs): `handlers` alone."""

    def only(*handlers: logging.Handler) -> None:
        monkeypatch.setattr(logging.getLogger(), "handlers", list(handlers))

    return only


@settings(max_examples=300, deadline=None)
@given(
    level=st.sampled_from([logging.INFO, logging.WARNING]),
    message=_TEXTS,
    fields=st.dictionaries(_NAMES, _VALUES, max_size=6).map(lambda f: {"request_id": "r1", **f}),
    created=st.floats(0, 4e9),
)
def test_a_line_written_straight_to_the_stream_is_the_line_the_record_makes(
    level, message, fields, created
):
    top = logging.getLogger("tests-line")  # the root's child, as "request" is
    made = _prescrubbed(level, message, fields)
    straight, by_record = io.StringIO(), io.StringIO()
    scrubbed = {name: made.__dict__[name] for name in fields}
    with (
        mock.patch.object(logging.getLogger(), "handlers", [json_handler(straight)]),
        mock.patch("time.time", return_value=created),
    ):
        with mock.patch.object(logging.Logger, "makeRecord", side_effect=AssertionError):
            write_prescrubbed_line(top, level, made.msg, scrubbed)  # no record made on the way
        record = prescrubbed_record(top, level, made.msg, scrubbed)
    json_handler(by_record).handle(record)

    assert straight.getvalue() == by_record.getvalue()
    assert straight.getvalue().count("\n") == 1


def test_another_handler_beside_ours_gets_the_record(root_with_only):
    ours, theirs = io.StringIO(), []
    other = logging.Handler()
    other.emit = theirs.append
    root_with_only(json_handler(ours), other)

    write_prescrubbed_line(
        logging.getLogger("tests-line"), logging.INFO, "GET / 200", {"request_id": "r"}
    )

    assert [record.getMessage() for record in theirs] == ["GET / 200"]
    assert '"message": "GET / 200"' in ours.getvalue()


def test_a_filter_on_the_logger_still_decides(root_with_only):
    ours = io.StringIO()
    root_with_only(json_handler(ours))
    logger = logging.getLogger("tests-line-filtered")
    logger.addFilter(lambda record: False)
    try:
        write_prescrubbed_line(logger, logging.INFO, "GET / 200", {"request_id": "r"})
    finally:
        logger.filters.clear()

    assert ours.getvalue() == ""


def test_a_logger_of_a_class_of_its_own_still_handles_its_record(root_with_only):
    handled = []

    class Counting(logging.Logger):  # as a library counting log lines by level might
        def handle(self, record):
            handled.append(record.levelname)
            super().handle(record)

    ours = io.StringIO()
    root_with_only(json_handler(ours))
    logger = Counting("tests-line-counting")
    logger.parent = logging.getLogger()

    write_prescrubbed_line(logger, logging.INFO, "GET / 200", {"request_id": "r"})

    assert handled == ["INFO"]
    assert '"message": "GET / 200"' in ours.getvalue()


def test_a_record_factory_of_its_own_adds_its_fields_and_they_are_scrubbed(root_with_only):
    made = logging.getLogRecordFactory()

    def with_release(*args, **kwargs):  # as a deployment tagging every line might
        record = made(*args, **kwargs)
        record.release = "r42"
        record.noted_by = "reader@example.com"
        return record

    ours = io.StringIO()
    root_with_only(json_handler(ours))
    logging.setLogRecordFactory(with_release)
    try:
        write_prescrubbed_line(
            logging.getLogger("tests-line-factory"), logging.INFO, "GET / 200", {"request_id": "r"}
        )
    finally:
        logging.setLogRecordFactory(made)

    line = json.loads(ours.getvalue())
    assert line["message"] == "GET / 200" and line["request_id"] == "r"
    assert line["release"] == "r42"
    assert "reader@example.com" not in ours.getvalue()


def test_a_stream_that_fails_is_reported_as_logging_reports_it(root_with_only, capsys):
    class Broken(io.StringIO):
        def write(self, text):
            raise OSError("disk full")

    root_with_only(json_handler(Broken()))

    write_prescrubbed_line(
        logging.getLogger("tests-line"), logging.INFO, "GET / 200", {"request_id": "r"}
    )

    assert "OSError: disk full" in capsys.readouterr().err
