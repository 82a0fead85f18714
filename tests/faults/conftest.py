"""Fault fixtures: the app talking to PostgreSQL or Redis through a proxy a test can cut or
freeze (tests/faults/tcp_proxy.py), never by stopping the machine's services."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from config import postgresql_engine_options
from tests.newsletters.helpers import add_default_list

# Small waits keep the tests fast; one test checks the production defaults themselves.
FAST_LIMITS = {"request_timeout": 0.5, "connect_timeout": 2, "pool_timeout": 1, "pool_size": 4}


@pytest.fixture
def proxied_app_factory(make_app, database_url, postgres_proxy):
    """make the app reach PostgreSQL through the proxy: factory(**engine limits, **settings)."""
    add_default_list(make_app())  # the schema, clean tables and a default list, reached directly

    def factory(limits: dict | None = None, **settings):
        engine_options = postgresql_engine_options(**(FAST_LIMITS if limits is None else limits))
        return make_app(
            SQLALCHEMY_DATABASE_URI=postgres_proxy.url(database_url),
            SQLALCHEMY_ENGINE_OPTIONS=engine_options,
            **settings,
        )

    return factory


@pytest.fixture
def proxied_app(proxied_app_factory):
    return proxied_app_factory()


def start_unix_socket_redis(path: Path) -> subprocess.Popen:
    """A redis-server of its own listening only on the Unix socket `path` (no disk)."""
    path.unlink(missing_ok=True)
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(path), "--save", ""]
        + ["--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not path.exists():
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    return server


@pytest.fixture
def unix_socket_redis(tmp_path):
    """A Redis of its own listening only on a Unix socket, stopped by the test when it likes."""
    path = tmp_path / "redis.sock"
    server = start_unix_socket_redis(path)
    yield server, path
    server.kill()
    server.wait()
