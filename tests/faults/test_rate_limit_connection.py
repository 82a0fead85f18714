"""The signup limits' script on each thread's own Redis connection (limiter_storage.py,
`_run_incr_in_order`): the script cache flushed, the connection killed or Redis restarted
between two calls, a reply that timed out, a fork, many threads."""

from __future__ import annotations

import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

import limiter_storage
from config import limiter_storage_uri
from limiter_storage import _INCR_IN_ORDER_SHA, CounterHit, FallbackRedisStorage
from tests.newsletters.helpers import add_default_list, subscribe_api


@pytest.fixture
def options():
    """Each test's connections named, so that it finds them among those earlier tests left."""
    name = f"test-rate-limit-connection-{uuid.uuid4().hex[:12]}"
    return {"socket_connect_timeout": 0.3, "socket_timeout": 0.5, "client_name": name}


def hit(storage: FallbackRedisStorage, key: str, limit: int = 1000) -> list[int]:
    return storage.incr_in_order([CounterHit(key, 60, limit)])


def script_connections(redis_url: str, name: str) -> list[dict]:
    """This test's connections whose last command was the script."""
    return [
        client
        for client in redis.Redis.from_url(redis_url).client_list()
        if client["name"] == name and client["cmd"] in ("evalsha", "eval")
    ]


def kill_script_connections(redis_url: str, name: str) -> int:
    server = redis.Redis.from_url(redis_url)
    return sum(
        server.client_kill_filter(_id=client["id"])
        for client in script_connections(redis_url, name)
    )


def test_the_script_is_loaded_again_after_script_flush(redis_url, options, caplog):
    storage = FallbackRedisStorage(limiter_storage_uri(redis_url), **options)
    assert hit(storage, "a") == [1]
    redis.Redis.from_url(redis_url).script_flush()
    with caplog.at_level(logging.WARNING):
        assert hit(storage, "a") == [2]
    assert not storage.using_memory
    assert not caplog.records
    assert redis.Redis.from_url(redis_url).script_exists(_INCR_IN_ORDER_SHA.decode()) == [True]


def test_counts_and_stops_after_the_first_breach(redis_url, options):
    storage = FallbackRedisStorage(limiter_storage_uri(redis_url), **options)
    hits = [CounterHit("client", 60, 1), CounterHit("address", 3600, 5)]
    assert storage.incr_in_order(hits) == [1, 1]
    assert storage.incr_in_order(hits) == [2]  # past the first: the second is not counted
    server = redis.Redis.from_url(redis_url)
    assert server.get(storage.redis.prefixed_key("address")) == b"1"
    assert 3590 < server.ttl(storage.redis.prefixed_key("address")) <= 3600


def test_a_connection_killed_between_two_calls_is_made_again_without_falling_back(
    redis_url, options, caplog
):
    storage = FallbackRedisStorage(limiter_storage_uri(redis_url), **options)
    assert hit(storage, "a") == [1]
    assert kill_script_connections(redis_url, options["client_name"]) == 1
    with caplog.at_level(logging.WARNING):
        assert hit(storage, "a") == [2]
    assert not storage.using_memory
    assert not caplog.records


def test_after_a_restart_the_next_call_connects_again_without_falling_back(
    redis_url, options, redis_proxy, caplog
):
    storage = FallbackRedisStorage(limiter_storage_uri(redis_proxy.url(redis_url)), **options)
    assert hit(storage, "a") == [1]
    redis_proxy.cut()  # every connection reset, as a restarted server's clients see it
    time.sleep(0.3)  # the server down a moment (the proxy's relays end before it listens again)
    redis_proxy.restore()
    with caplog.at_level(logging.WARNING):
        assert hit(storage, "a") == [2]
    assert not storage.using_memory
    assert not caplog.records
    assert redis_proxy.connections == 2


def test_a_reply_that_timed_out_is_never_read_by_the_next_call(
    redis_url, options, redis_proxy, monkeypatch
):
    monkeypatch.setattr(limiter_storage, "PROBE_SECONDS", 0.0)
    storage = FallbackRedisStorage(limiter_storage_uri(redis_proxy.url(redis_url)), **options)
    assert hit(storage, "a") == [1]
    redis_proxy.freeze()
    assert hit(storage, "a") == [1]  # timed out: counted in memory
    assert storage.using_memory
    redis_proxy.restore()
    redis.Redis.from_url(redis_url).set(storage.redis.prefixed_key("b"), 41)
    assert hit(storage, "b") == [42]  # its own reply, not the one that came late
    assert not storage.using_memory
    assert redis_proxy.connections == 2


def test_a_forked_child_makes_its_own_connection(redis_url, options):
    storage = FallbackRedisStorage(limiter_storage_uri(redis_url), **options)
    assert hit(storage, "a") == [1]
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through the pipe)
        try:
            counts = hit(storage, "a")
            connections = script_connections(
                redis_url, options["client_name"]
            )  # the parent's and its own
            answer = b"%d:%d:%d" % (counts[0], storage.using_memory, len(connections))
        except BaseException as error:  # noqa: BLE001
            answer = repr(error).encode()
        os.write(writing, answer)
        os._exit(0)
    os.close(writing)
    _, status = os.waitpid(child, 0)
    assert os.read(reading, 200) == b"2:0:2"
    os.close(reading)
    assert status == 0
    assert hit(storage, "a") == [3]  # the parent's connection was left alone
    assert not storage.using_memory


def test_threads_count_on_their_own_connections(redis_url, options):
    storage = FallbackRedisStorage(limiter_storage_uri(redis_url), **options)
    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(lambda _: hit(storage, "shared")[0], range(400)))
    assert sorted(counts) == list(range(1, 401))
    assert not storage.using_memory


def test_a_signup_after_its_connection_was_killed_is_counted_in_redis(
    make_app, redis_url, options, caplog
):
    app = add_default_list(
        make_app(
            RATELIMIT_ENABLED=True,
            RATELIMIT_SIGNUP="3/minute",
            RATELIMIT_STORAGE_URI=limiter_storage_uri(redis_url),
            RATELIMIT_STORAGE_OPTIONS=options,
        )
    )
    client = app.test_client()
    assert subscribe_api(client, "one@example.com", address="198.51.100.9").status_code == 202
    assert kill_script_connections(redis_url, options["client_name"]) == 1
    with caplog.at_level(logging.WARNING):
        answers = [
            subscribe_api(client, f"r{n}@example.com", address="198.51.100.9").status_code
            for n in range(3)
        ]
    assert answers == [202, 202, 429]  # counted in Redis together with the first signup
    assert not [r for r in caplog.records if "unreachable" in r.getMessage()]
