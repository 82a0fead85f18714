"""PostgreSQL and Redis behind a proxy a test can cut or freeze (tests/faults/tcp_proxy.py),
never by stopping the machine's services: the fault tests' and the gevent worker's."""

from __future__ import annotations

import pytest
import redis

from tests.faults.tcp_proxy import TcpProxy


@pytest.fixture
def postgres_proxy(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("database outages are PostgreSQL's: run with TEST_DATABASE_URL")
    proxy = TcpProxy.in_front_of(database_url)
    yield proxy
    proxy.stop()


@pytest.fixture
def redis_url(redis_database):
    """This test's own Redis database, emptied before and after."""
    redis.Redis.from_url(redis_database).flushdb()
    yield redis_database
    redis.Redis.from_url(redis_database).flushdb()


@pytest.fixture
def redis_proxy(redis_url):
    proxy = TcpProxy.in_front_of(redis_url)
    yield proxy
    proxy.stop()
