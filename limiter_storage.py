"""Rate-limit storage that keeps limiting when Redis is frozen or gone.

Flask-Limiter falls back to memory only for the request that met the first error: requests
already waiting on Redis then fail, and its recovery check waits on a frozen Redis without limit.
Here every storage call goes to Redis with short socket timeouts and no retries; any error
switches this process to its own memory counters (one warning, saying that limits are now per
process), and Redis is tried again every PROBE_SECONDS until it answers (one line saying so).

config.py names it as the storage with a `fallback+` prefix on REDIS_URL
(`fallback+redis://…`, `fallback+rediss://…`, `fallback+redis+unix://…`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.storage.base import MovingWindowSupport, SlidingWindowCounterSupport
from redis.backoff import NoBackoff
from redis.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

log = logging.getLogger(__name__)

# Fixed-window hits in order, each as limits' own incr_expire script does it (the counter
# increased by one, given its expiry when new); the first count past its limit ends the list:
# the counters after it are not counted. ARGV holds (expiry, limit) for each key.
_INCR_IN_ORDER = """
local counts = {}
for index, key in ipairs(KEYS) do
    local current = redis.call("incr", key)
    if current == 1 then
        redis.call("expire", key, ARGV[index * 2 - 1])
    end
    counts[index] = current
    if current > tonumber(ARGV[index * 2]) then
        break
    end
end
return counts
"""
_INCR_IN_ORDER_SHA = hashlib.sha1(_INCR_IN_ORDER.encode()).hexdigest()


class CounterHit(NamedTuple):
    """One hit of a fixed-window counter: its key (as limits' RateLimitItem.key_for makes it,
    without the storage's prefix), the window in seconds, and the count allowed in it."""

    key: str
    expiry: int
    limit: int


def incr_in_order(storage: Storage, hits: Sequence[CounterHit]) -> list[int]:
    """Count fixed-window hits in order, stopping after the first one past its limit.

    Returns the counts, one a hit up to and including the first breach (none after it). Through
    FallbackRedisStorage that is one round trip to Redis; any other storage (memory in
    development and tests) is asked one counter at a time.
    """
    if isinstance(storage, FallbackRedisStorage):
        return storage.incr_in_order(hits)
    return _incr_one_by_one(storage, hits)


def _incr_one_by_one(storage: Storage, hits: Sequence[CounterHit]) -> list[int]:
    counts = []
    for hit in hits:
        counts.append(storage.incr(hit.key, hit.expiry))
        if counts[-1] > hit.limit:
            break
    return counts


SCHEME_PREFIX = "fallback+"
PROBE_SECONDS = 5.0
T = TypeVar("T")


class FallbackRedisStorage(Storage, MovingWindowSupport, SlidingWindowCounterSupport):
    STORAGE_SCHEME = [SCHEME_PREFIX + scheme for scheme in ("redis", "rediss", "redis+unix")]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        options.setdefault("socket_connect_timeout", 0.3)
        options.setdefault("socket_timeout", 0.5)
        options.setdefault("retry", Retry(NoBackoff(), 0))  # redis-py retries 3 times by default
        self.redis = RedisStorage(uri.removeprefix(SCHEME_PREFIX), **options)
        self.memory = MemoryStorage()
        self._lock = threading.Lock()
        self._redis_down_since: float | None = None
        self._next_probe = 0.0
        # incr_in_order's connections not in use now, the one given back last on top; made in
        # this process (pid), since a connection made before a fork is the parent's.
        self._idle: list[Connection] = []
        self._idle_pid = os.getpid()

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return ()  # nothing escapes: see _call

    @property
    def using_memory(self) -> bool:
        return self._redis_down_since is not None

    def _call(self, operation: Callable[[Storage], T]) -> T:
        if self._should_use_redis():
            try:
                result = operation(self.redis)
            except Exception as error:  # noqa: BLE001 (any failure: limit in memory instead)
                self._redis_failed(error)
            else:
                self._redis_answered()
                return result
        return operation(self.memory)

    def _should_use_redis(self) -> bool:
        if self._redis_down_since is None:
            return True
        with self._lock:  # one request at a time probes a Redis that was down
            if time.monotonic() < self._next_probe:
                return False
            self._next_probe = time.monotonic() + PROBE_SECONDS
            return True

    def _redis_failed(self, error: Exception) -> None:
        with self._lock:
            self._next_probe = time.monotonic() + PROBE_SECONDS
            if self._redis_down_since is not None:
                return
            self._redis_down_since = time.monotonic()
        log.warning(
            "rate-limit storage (Redis) unreachable (%s): limits are now counted in each "
            "process's memory, so every worker process allows the full limit",
            type(error).__name__,
        )

    def _redis_answered(self) -> None:
        if self._redis_down_since is None:
            return
        with self._lock:
            down_since, self._redis_down_since = self._redis_down_since, None
        if down_since is not None:
            log.warning(
                "rate-limit storage (Redis) answers again after %.0f s: limits are shared again",
                time.monotonic() - down_since,
            )

    def redis_answers(self) -> bool:
        """Ping Redis now (within the socket timeouts); a success ends the fallback."""
        if self.redis.check():
            self._redis_answered()
            return True
        self._redis_failed(ConnectionError("no answer to PING"))
        return False

    def incr_in_order(self, hits: Sequence[CounterHit]) -> list[int]:
        """limiter_storage.incr_in_order() in one round trip (one script), or in this process's
        memory while Redis is down (then counted one by one, as every other call is)."""
        if hits and self._should_use_redis():
            keys = [self.redis.prefixed_key(hit.key) for hit in hits]
            arguments = [value for hit in hits for value in (hit.expiry, hit.limit)]
            try:
                counts = self._run_incr_in_order(keys, arguments)
            except Exception as error:  # noqa: BLE001 (any failure: counted in memory instead)
                self._redis_failed(error)
            else:
                self._redis_answered()
                return [int(count) for count in counts]
        return _incr_one_by_one(self.memory, hits)

    def _run_incr_in_order(self, keys: list[str], arguments: list[int]) -> list:
        """The script on a connection of this storage's own: a signup's one Redis command
        without the client pool's checkout and return around it (~40 µs of its CPU,
        bench/results.md). After any error the connection is closed, so that a reply half read
        or late is never read as the next request's; NOSCRIPT (Redis restarted, or its scripts
        flushed) sends the script's text, which Redis keeps again."""
        connection = self._take_connection()
        try:
            try:
                connection.send_command("EVALSHA", _INCR_IN_ORDER_SHA, len(keys), *keys, *arguments)
                return connection.read_response()
            except NoScriptError:
                connection.send_command("EVAL", _INCR_IN_ORDER, len(keys), *keys, *arguments)
                return connection.read_response()
        except BaseException:
            connection.disconnect()
            raise
        finally:
            self._give_back(connection)

    def _take_connection(self) -> Connection:
        """An idle connection, or a new one with the client pool's settings (its URL, database,
        timeouts, TLS). Not one a thread keeps: under gevent a "thread" is a greenlet, one a
        client connection, and each would open a Redis connection of its own and drop it with
        the client. Checked as the pool checks one it hands out: one that Redis closed since
        (CLIENT KILL, a restart, its idle timeout) is made again before use."""
        if self._idle_pid != os.getpid():
            self._idle, self._idle_pid = [], os.getpid()
        try:
            connection = self._idle.pop()  # atomic: no lock, no wait
        except IndexError:
            # Made as the pool makes one, but not counted against its max_connections: the
            # pool never gets it back, and the requests at the script at once could use it up.
            pool = self.redis.get_connection().connection_pool
            connection = pool.connection_class(**pool.connection_kwargs)
        connection.connect()
        try:
            stale = connection.can_read()
        except (RedisConnectionError, RedisTimeoutError, OSError):
            stale = True
        if stale:
            connection.disconnect()
            connection.connect()
        return connection

    def _give_back(self, connection: Connection) -> None:
        if self._idle_pid == os.getpid():  # else a fork came between: the parent's list
            self._idle.append(connection)

    # limits' Storage interface, each call through _call.

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._call(lambda storage: storage.incr(key, expiry, amount))

    def get(self, key: str) -> int:
        return self._call(lambda storage: storage.get(key))

    def get_expiry(self, key: str) -> float:
        return self._call(lambda storage: storage.get_expiry(key))

    def check(self) -> bool:
        return self.redis_answers()

    def reset(self) -> int | None:
        self.memory.reset()
        return self._call(lambda storage: storage.reset())

    def clear(self, key: str) -> None:
        self.memory.clear(key)
        return self._call(lambda storage: storage.clear(key))

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        return self._call(lambda storage: storage.acquire_entry(key, limit, expiry, amount))

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        return self._call(lambda storage: storage.get_moving_window(key, limit, expiry))

    def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        return self._call(
            lambda storage: storage.acquire_sliding_window_entry(key, limit, expiry, amount)
        )

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        return self._call(lambda storage: storage.get_sliding_window(key, expiry))

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        self.memory.clear_sliding_window(key, expiry)
        return self._call(lambda storage: storage.clear_sliding_window(key, expiry))
