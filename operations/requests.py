"""Per request: an id, one JSON log line, and the latency histogram.

The logged path is the request's URL rule with its variables as <name> (an id stays a number),
so /confirm/<token>, /unsubscribe/<token>, /membership/portal/<token> and any route added later
never put a token in the log, whatever the token looks like. A path that matched no rule is
logged by its first segment only.
"""

from __future__ import annotations

import logging
import os
import re
import time
from functools import lru_cache

from flask import Flask, Request, Response, g, request

import metrics
from logs import (
    REMEMBERED_UP_TO,
    current_request_id,
    scrub,
    scrub_recurring,
    set_request_id,
    write_prescrubbed_line,
)

log = logging.getLogger("request")

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"  # read from the WSGI environ: no header object built
# An incoming id is kept when it is short and plain; anything else is replaced by our own.
_ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_RULE_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_SHOWN_CONVERTERS = {"int"}  # numbers (database ids) say which page, and grant nothing


def incoming_or_new_request_id(current: Request | None = None) -> str:
    environ = (current if current is not None else request).environ
    return offered_or_new_request_id(environ.get(_REQUEST_ID_ENVIRON, ""))


def offered_or_new_request_id(offered: str) -> str:
    """The id a client or proxy offered when it is short and plain, else one of our own."""
    if _ACCEPTABLE_REQUEST_ID.fullmatch(offered):
        return offered
    return new_request_id()


def new_request_id() -> str:
    """A random (version 4) UUID's 32 hex digits, as uuid.uuid4().hex, in a third of its time
    (the uuid.UUID object it builds on the way is the most of it)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # variant RFC 4122
    return raw.hex()


def loggable_path(current: Request | None = None) -> str:
    """The path as the route names it: variables as <name>, except numbers."""
    current = current if current is not None else request._get_current_object()
    rule = current.url_rule
    if rule is None:
        segments = current.path.split("/", 2)
        first = segments[1][:64] if len(segments) > 1 else ""
        return f"/{first}/…" if len(segments) > 2 else f"/{first}"
    template, shown_names = _path_template(rule.rule)
    if not shown_names:
        return template
    values = current.view_args or {}
    return template.format_map({name: values.get(name, f"<{name}>") for name in shown_names})


@lru_cache(maxsize=1024)
def _path_template(rule: str) -> tuple[str, tuple[str, ...]]:
    """A rule's path as a str.format template, worked out once per rule: its hidden variables
    written as <name>, its shown ones (numbers) as {name} fields, and the shown names."""
    shown_names: list[str] = []

    def placeholder(match: re.Match) -> str:
        name = match["name"]
        if match["converter"] in _SHOWN_CONVERTERS:
            shown_names.append(name)
            return "{" + name + "}"
        return f"<{name}>"

    escaped = rule.replace("{", "{{").replace("}", "}}")
    return _RULE_VARIABLE.sub(placeholder, escaped), tuple(shown_names)


def endpoint_label(current: Request | None = None) -> str:
    rule = (current if current is not None else request).url_rule
    return rule.endpoint if rule is not None else metrics.UNMATCHED_ENDPOINT


@lru_cache(maxsize=4096)
def _duration_histogram(endpoint: str, method: str, status: int):
    """The histogram's child for these labels, looked up once (the label values are few)."""
    return metrics.REQUEST_DURATION.labels(endpoint=endpoint, method=method, status=str(status))


def _start() -> None:
    g.request_started = time.perf_counter()
    set_request_id(incoming_or_new_request_id())


def _finish(response: Response) -> Response:
    current = request._get_current_object()  # one look through the proxy, not one per use
    started = g.get("request_started", time.perf_counter())
    seconds = time.perf_counter() - started
    request_id = current_request_id() or incoming_or_new_request_id(current)
    response.headers[REQUEST_ID_HEADER] = request_id
    path, endpoint = loggable_path(current), endpoint_label(current)
    log_request(current.method, path, endpoint, response.status_code, seconds, request_id)
    return response


def log_request(
    method: str, path: str, endpoint: str, status: int, seconds: float, request_id: str
) -> None:
    """A request's latency in the histogram and its JSON line in the log (every request's, the
    shared answers' too): `path` as loggable_path() gives it, `endpoint` as endpoint_label()."""
    _duration_histogram(endpoint, method, status).observe(seconds)
    level = logging.WARNING if status >= 500 else logging.INFO
    if log.isEnabledFor(level):
        write_prescrubbed_line(
            log, level, *request_line(method, path, endpoint, status, seconds, request_id)
        )


def request_line(
    method: str, path: str, endpoint: str, status: int, seconds: float, request_id: str
) -> tuple[str, dict]:
    """The request line's message, "METHOD PATH STATUS DURATION ms", and its fields, scrubbed
    here from parts scrubbed before (logs.prescrubbed_record), so that neither the log's
    filter nor its formatter goes over them field by field again."""
    method, path, endpoint, start = _scrubbed_line_parts(method, path, endpoint, status)
    duration_ms = round(seconds * 1000, 1)
    fields = {
        "method": method,
        "path": path,
        "endpoint": endpoint,
        "status": status,
        "duration_ms": duration_ms,
        "request_id": scrub_recurring(request_id),  # given: AddRequestId need not look it up
    }
    # The message scrubbed as a whole would be the same: the duration after the status (a
    # number) cannot extend or start a match (tests/operations/test_log_scrubbing.py).
    return f"{start} {duration_ms:.1f} ms", fields


def _scrubbed_line_parts(method: str, path: str, endpoint: str, status: int) -> tuple[str, ...]:
    """method, path, endpoint and "METHOD PATH STATUS" scrubbed, as ScrubSecrets would scrub
    them; remembered per request shape, which repeats (a route, its method, its status)."""
    if len(method) + len(path) + len(endpoint) > REMEMBERED_UP_TO:
        return _scrub_line_parts(method, path, endpoint, status)
    return _remembered_line_parts(method, path, endpoint, status)


def _scrub_line_parts(method: str, path: str, endpoint: str, status: int) -> tuple[str, ...]:
    return scrub(method), scrub(path), scrub(endpoint), scrub(f"{method} {path} {status}")


_remembered_line_parts = lru_cache(maxsize=4096)(_scrub_line_parts)


def init_app(app: Flask) -> None:
    # First of all before_request functions: a request the rate limiter refuses is timed too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
