"""The goal, the widget and the badge answered from a copy kept whole for a few seconds.

They sit on every article page, and their answers are the same for everyone who asks the same
way (they are marked shared_cacheable: no cookie, no session). Each process keeps each distinct
answer for GOAL_CACHE_SECONDS, the lifetime of the figures it shows (membership/goal.py), and
hands it out again without running the app: the answer's bytes and headers are the app's own,
with a fresh X-Request-ID and Date; the request is logged and timed as any other
(operations/requests.py). A copy is dropped as soon as this process learns of a new count or
goal, so it never shows older figures than the app itself would.

A copy is kept per path, query string (?lang=), and request header an answer can depend on:
Accept-Language, Cookie, Origin (CORS), and the conditional headers (a 304 is kept like a 200).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import formatdate

from flask import Flask

from logs import OncePerSecond, split_timestamp
from membership.goal import progress_generation
from operations.requests import REQUEST_ID_HEADER, log_request, offered_or_new_request_id

# Path -> the endpoint that answers it (for the log line and the latency histogram).
SHARED_PATHS = {
    "/api/goal": "membership.api_goal",
    "/membership/widget": "membership.widget",
    "/membership/progress.svg": "membership.progress_svg",
}
_KEYED_BY = (
    "QUERY_STRING",
    "HTTP_ACCEPT_LANGUAGE",
    "HTTP_COOKIE",
    "HTTP_ORIGIN",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "wsgi.url_scheme",
)
_KEPT_STATUSES = ("200 OK", "304 NOT MODIFIED")
MAX_COPIES = 512  # distinct ways of asking kept at once; past that the copies start again
_STAMPED = {REQUEST_ID_HEADER.lower(), "date"}


@dataclass(frozen=True)
class _Copy:
    status: str
    headers: list[tuple[str, str]]  # without X-Request-ID and Date
    body: bytes
    expires: float
    generation: int


class SharedAnswers:
    """WSGI middleware in front of the app (installed by operations' init_app)."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._copies: dict[tuple, _Copy] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "GET" or path not in SHARED_PATHS:
            return self.wsgi_app(environ, start_response)
        seconds = float(self.app.config.get("GOAL_CACHE_SECONDS", 0))
        if seconds <= 0:
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        key = (path, *map(environ.get, _KEYED_BY))
        now = time.monotonic()
        copy = self._copies.get(key)
        if copy is not None and now < copy.expires and copy.generation == progress_generation():
            return self._answer(copy, path, environ, start_response, started)
        generation = progress_generation()
        return self._keep(key, generation, now + seconds, environ, start_response)

    def _keep(self, key, generation, expires, environ, start_response) -> Iterable[bytes]:
        answered: list = []

        def remember(status, headers, exc_info=None):
            answered[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, remember)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = answered
        cookies = any(name.lower() == "set-cookie" for name, _ in headers)
        if status.upper() in _KEPT_STATUSES and not cookies:
            if len(self._copies) >= MAX_COPIES:
                self._copies.clear()
            kept = [(name, value) for name, value in headers if name.lower() not in _STAMPED]
            self._copies[key] = _Copy(status, kept, body, expires, generation)
        return [body]

    def _answer(self, copy: _Copy, path, environ, start_response, started) -> Iterable[bytes]:
        request_id = offered_or_new_request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        headers = [
            *copy.headers,
            ("Date", http_date()),
            (REQUEST_ID_HEADER, request_id),
        ]
        start_response(copy.status, headers)
        seconds = time.perf_counter() - started
        log_request("GET", path, SHARED_PATHS[path], int(copy.status[:3]), seconds, request_id)
        return [copy.body]


_date_of_second = OncePerSecond(lambda second: formatdate(second, usegmt=True))


def http_date(timestamp: float | None = None) -> str:
    """formatdate(timestamp, usegmt=True), by default for now: the time as a Date header shows
    it, worked out once a second (about 6 µs each time otherwise)."""
    second, _ = split_timestamp(time.time() if timestamp is None else timestamp)
    return _date_of_second(second)


def init_app(app: Flask) -> None:
    app.wsgi_app = SharedAnswers(app, app.wsgi_app)
