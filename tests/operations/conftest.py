"""Operations fixtures: an app that answers /metrics, a server that accepts and never answers
(a frozen PostgreSQL or Redis), the JSON log as an operator reads it, and /metrics parsed."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from logs import configure_logging

METRICS_TOKEN = "metrics-token-for-tests-0123456789"
BEARER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def ops_app(app):
    """The test app with METRICS_TOKEN set (read per request, so fixtures built on `app` agree)."""
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    return app


@pytest.fixture
def ops_client(ops_app):
    return ops_app.test_client()


def scrape(client) -> dict[tuple[str, frozenset], float]:
    """GET /metrics with the token, as Prometheus reads it: {(sample, labels): value}."""
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.get_data(as_text=True)
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def sample(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


class SilentServer:
    """Accepts TCP connections and never says a word, as a server stopped with SIGSTOP does."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


class CapturedLog:
    """The root logger's JSON lines, at DEBUG, written where a test can read them."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]

    def requests(self) -> list[dict]:
        return [line for line in self.lines() if line.get("logger") == "request"]


@pytest.fixture
def captured_log(app):
    """Every record through the same handler production uses, at DEBUG (SQLAlchemy's too)."""
    captured = CapturedLog()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("DEBUG", stream=captured.stream)
    sql = logging.getLogger("sqlalchemy.engine")
    sql_level = sql.level
    sql.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        sql.setLevel(sql_level)
        root.removeHandler(handler)
        configure_logging(level)
