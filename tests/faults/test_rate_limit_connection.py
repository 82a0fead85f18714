"""The signup's limit script runs on a Redis connection each thread keeps (limiter_storage.py):
whatever happens to that connection, each call gets its own counts, from Redis while it answers.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time

import pytest
import redis

import limiter_storage
from limiter_storage import CounterHit, FallbackRedisStorage
from tests.faults.conftest import start_unix_socket_redis

HITS = [CounterHit("signup/client", 60, 1000), CounterHit("signup/email", 60, 1000)]
MANY = [CounterHit("signup/client", 60, 10_000), CounterHit("signup/email", 60, 10_000)]


def storage_for(url: str, **options) -> FallbackRedisStorage:
    return FallbackRedisStorage(limiter_storage.SCHEME_PREFIX + url, **options)


def counts_in_redis(url: str) -> list[int]:
    client = redis.Redis.from_url(url)
    return [int(client.get(f"LIMITS:{hit.key}") or 0) for hit in HITS]


def settled_counts_in_redis(url: str, quiet: float = 0.3, most: float = 3.0) -> list[int]:
    """The counts once they have not moved for `quiet` seconds (a command the proxy held back
    lands in its own time after a freeze)."""
    deadline = time.monotonic() + most
    counts, since = counts_in_redis(url), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.02)
        latest = counts_in_redis(url)
        if latest != counts:
            counts, since = latest, time.monotonic()
    return counts


def kill_our_script_connections(url: str) -> int:
    """CLIENT KILL the connections that ran the script in this test's database (others'
    suites may share the server: their databases are left alone)."""
    client = redis.Redis.from_url(url)
    database = client.connection_pool.connection_kwargs.get("db", 0)
    ours = [
        entry["id"]
        for entry in client.client_list()
        if int(entry["db"]) == database and entry["cmd"] in ("evalsha", "eval")
    ]
    for client_id in ours:
        client.client_kill_filter(_id=client_id)
    return len(ours)


def test_counts_are_redis_own_across_calls(redis_url):
    storage = storage_for(redis_url)
    assert storage.incr_in_order(HITS) == [1, 1]
    assert storage.incr_in_order(HITS) == [2, 2]
    assert counts_in_redis(redis_url) == [2, 2]


def test_redis_forgetting_its_scripts_costs_nothing(redis_url, caplog):
    storage = storage_for(redis_url)
    assert storage.incr_in_order(HITS) == [1, 1]
    redis.Redis.from_url(redis_url).script_flush()
    with caplog.at_level(logging.WARNING):
        assert storage.incr_in_order(HITS) == [2, 2]
        assert storage.incr_in_order(HITS) == [3, 3]
    assert not storage.using_memory
    assert caplog.text == ""


def test_a_connection_redis_closed_is_made_again_unseen(redis_url, caplog):
    storage = storage_for(redis_url)
    assert storage.incr_in_order(HITS) == [1, 1]
    assert kill_our_script_connections(redis_url) >= 1
    with caplog.at_level(logging.WARNING):
        assert storage.incr_in_order(HITS) == [2, 2]  # counted in Redis, not in memory
    assert not storage.using_memory
    assert caplog.text == ""
    assert counts_in_redis(redis_url) == [2, 2]


def test_a_reply_that_came_too_late_is_never_read_as_the_next_calls(
    redis_url, redis_proxy, monkeypatch
):
    monkeypatch.setattr(limiter_storage, "PROBE_SECONDS", 0)  # try Redis again at once
    storage = storage_for(redis_proxy.url(redis_url))
    assert storage.incr_in_order(HITS) == [1, 1]
    redis_proxy.freeze()
    assert storage.incr_in_order(HITS) == [1, 1]  # timed out: counted in memory meanwhile
    assert storage.using_memory
    redis_proxy.restore()  # the late command may now run, its reply arriving late
    settled_counts_in_redis(redis_url)  # compared below once the late command has landed
    for _ in range(3):
        counts = storage.incr_in_order(HITS)
        assert counts == counts_in_redis(redis_url)
    assert not storage.using_memory


def test_threads_each_count_every_hit_once(redis_url):
    storage = storage_for(redis_url)
    seen: list[int] = []
    lock = threading.Lock()

    def count(times: int) -> None:
        for _ in range(times):
            first, _second = storage.incr_in_order(MANY)
            with lock:
                seen.append(first)

    threads = [threading.Thread(target=count, args=(150,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 1201))
    assert counts_in_redis(redis_url) == [1200, 1200]


def test_threads_that_come_and_go_share_one_connection_outside_the_pools_cap(redis_url):
    # A server that makes a thread per request (Flask's development server), or gevent's
    # worker, a greenlet per client connection: a connection for each would open one to Redis
    # per client and drop it after. The script's connections are the storage's, never the
    # client pool's, so the pool's cap is never used up either.
    kill_our_script_connections(redis_url)  # earlier tests' storages may still hold theirs
    storage = storage_for(redis_url, max_connections=3)
    for _ in range(8):
        thread = threading.Thread(target=storage.incr_in_order, args=(MANY,))
        thread.start()
        thread.join()
    assert not storage.using_memory
    assert counts_in_redis(redis_url) == [8, 8]
    assert kill_our_script_connections(redis_url) == 1


def test_a_call_past_the_limit_ends_the_counting_there(redis_url):
    storage = storage_for(redis_url)
    hits = [CounterHit("signup/client", 60, 1), CounterHit("signup/email", 60, 1000)]
    assert storage.incr_in_order(hits) == [1, 1]
    assert storage.incr_in_order(hits) == [2]  # the address is not counted past the breach
    assert counts_in_redis(redis_url) == [2, 1]
    ttl = redis.Redis.from_url(redis_url).ttl("LIMITS:signup/client")
    assert 0 < ttl <= 60


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_counts_on_a_connection_of_its_own(redis_url):
    # gunicorn forks its workers: a connection made before shared by two processes would mix
    # their replies. Both count at once here, and every count is one of a kind.
    storage = storage_for(redis_url)
    assert storage.incr_in_order(MANY) == [1, 1]  # this thread now holds a connection
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through the pipe)
        try:
            firsts = [storage.incr_in_order(MANY)[0] for _ in range(300)]
            os.write(writing, json.dumps([firsts, storage.using_memory]).encode())
        finally:
            os._exit(0)
    os.close(writing)
    parents = [storage.incr_in_order(MANY)[0] for _ in range(300)]
    os.waitpid(child, 0)
    with os.fdopen(reading) as pipe:
        childs, child_used_memory = json.loads(pipe.read())
    assert not child_used_memory and not storage.using_memory
    assert sorted(parents + childs) == list(range(2, 602))
    assert counts_in_redis(redis_url) == [601, 601]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_a_restarted_redis_is_counted_in_again_without_falling_back(tmp_path, caplog):
    path = tmp_path / "redis.sock"
    server = start_unix_socket_redis(path)
    try:
        storage = storage_for(f"unix://{path}")
        assert storage.incr_in_order(HITS) == [1, 1]
        server.terminate()
        server.wait()
        server = start_unix_socket_redis(path)  # empty, and without the script
        with caplog.at_level(logging.WARNING):
            assert storage.incr_in_order(HITS) == [1, 1]
            assert storage.incr_in_order(HITS) == [2, 2]
        assert not storage.using_memory
        assert caplog.text == ""
    finally:
        server.kill()
        server.wait()
