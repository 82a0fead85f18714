"""Per request: an id, one JSON log line, and the latency histogram.

The logged path is the request's URL rule with its variables as <name> (an id stays a number),
so /confirm/<token>, /unsubscribe/<token>, /membership/portal/<token> and any route added later
never put a token in the log, whatever the token looks like. A path that matched no rule is
logged by its first segment only.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from functools import lru_cache

from flask import Flask, Response, g, request

import metrics
from logs import current_request_id, set_request_id

log = logging.getLogger("request")

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept when it is short and plain; anything else is replaced by our own.
_ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_RULE_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_SHOWN_CONVERTERS = {"int"}  # numbers (database ids) say which page, and grant nothing


def incoming_or_new_request_id() -> str:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    if _ACCEPTABLE_REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def loggable_path() -> str:
    """The path as the route names it: variables as <name>, except numbers."""
    rule = request.url_rule
    if rule is None:
        segments = request.path.split("/", 2)
        first = segments[1][:64] if len(segments) > 1 else ""
        return f"/{first}/…" if len(segments) > 2 else f"/{first}"
    template, shown_names = _path_template(rule.rule)
    if not shown_names:
        return template
    values = request.view_args or {}
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


def endpoint_label() -> str:
    rule = request.url_rule
    return rule.endpoint if rule is not None else metrics.UNMATCHED_ENDPOINT


@lru_cache(maxsize=4096)
def _duration_histogram(endpoint: str, method: str, status: int):
    """The histogram's child for these labels, looked up once (the label values are few)."""
    return metrics.REQUEST_DURATION.labels(endpoint=endpoint, method=method, status=str(status))


def _start() -> None:
    g.request_started = time.perf_counter()
    set_request_id(incoming_or_new_request_id())


def _finish(response: Response) -> Response:
    started = g.get("request_started", time.perf_counter())
    seconds = time.perf_counter() - started
    request_id = current_request_id() or incoming_or_new_request_id()
    response.headers[REQUEST_ID_HEADER] = request_id
    endpoint, path, status = endpoint_label(), loggable_path(), response.status_code
    method = request.method
    _duration_histogram(endpoint, method, status).observe(seconds)
    duration_ms = round(seconds * 1000, 1)
    log.log(
        logging.WARNING if status >= 500 else logging.INFO,
        "%s %s %s %.1f ms",
        method,
        path,
        status,
        duration_ms,
        extra={
            "method": method,
            "path": path,
            "endpoint": endpoint,
            "status": status,
            "duration_ms": duration_ms,
        },
    )
    return response


def init_app(app: Flask) -> None:
    # First of all before_request functions: a request the rate limiter refuses is timed too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
