"""Redis (the rate-limit storage) frozen or gone: signups go on, limited in each process's
memory meanwhile, with one warning each way; /readyz's check says so; production without Redis
refuses to start unless told it runs one process."""

from __future__ import annotations

import logging
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from app import create_app
from config import limiter_storage_uri
from extensions import limiter_storage_healthy, limiter_storage_status
from tests.faults.test_database_outage import answered_within
from tests.newsletters.helpers import add_default_list, subscribe_api, subscribe_form

CLIENT = "198.51.100.7"


@pytest.fixture
def limited_app(make_app, redis_proxy, redis_url):
    return add_default_list(
        make_app(
            RATELIMIT_ENABLED=True,
            RATELIMIT_SIGNUP="3/minute",
            RATELIMIT_SIGNUP_EMAIL="50/hour",
            RATELIMIT_STORAGE_URI=limiter_storage_uri(redis_proxy.url(redis_url)),
            RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 0.3, "socket_timeout": 0.5},
        )
    )


def signup(client, number: int):
    return subscribe_api(client, f"reader{number}@example.com", address=CLIENT)


def limit_keys_in_redis(redis_url: str) -> list[bytes]:
    return redis.Redis.from_url(redis_url).keys("LIMITS:*")


def test_signups_are_counted_in_redis_while_it_answers(limited_app, redis_url):
    assert signup(limited_app.test_client(), 1).status_code == 202
    assert limit_keys_in_redis(redis_url)


@pytest.mark.parametrize("fault", ["freeze", "cut"])
def test_with_redis_frozen_or_gone_signups_are_answered_promptly(limited_app, redis_proxy, fault):
    client = limited_app.test_client()
    assert signup(client, 1).status_code == 202
    getattr(redis_proxy, fault)()
    for number in (2, 3):
        assert answered_within(2, lambda n=number: signup(client, n)).status_code == 202


def test_with_redis_frozen_the_limit_still_holds_in_this_process(limited_app, redis_proxy):
    client = limited_app.test_client()
    redis_proxy.freeze()
    answers = [signup(client, number).status_code for number in range(4)]
    assert answers == [202, 202, 202, 429]


def test_requests_already_waiting_on_redis_when_it_freezes_are_answered_too(
    make_app, redis_proxy, redis_url
):
    app = add_default_list(
        make_app(
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI=limiter_storage_uri(redis_proxy.url(redis_url)),
        )
    )
    redis_proxy.freeze()
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda n: subscribe_api(
                    app.test_client(), f"r{n}@example.com", address=f"10.0.0.{n}"
                ),
                range(8),
            )
        )
    assert [answer.status_code for answer in answers] == [202] * 8


def test_the_form_is_answered_too_while_redis_is_frozen(limited_app, redis_proxy):
    redis_proxy.freeze()
    response = subscribe_form(
        limited_app.test_client(), "reader@example.com", ["daily"], address=CLIENT
    )
    assert response.status_code == 200


def test_falling_back_to_memory_is_logged_once_and_says_limits_are_per_process(
    limited_app, redis_proxy, caplog
):
    client = limited_app.test_client()
    redis_proxy.cut()
    with caplog.at_level(logging.WARNING):
        for number in range(3):
            signup(client, number)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "per process" in warnings[0] or "each process" in warnings[0]


def test_readiness_check_says_redis_is_unavailable_then_ok_again(limited_app, redis_proxy):
    with limited_app.app_context():
        assert limiter_storage_status() == "ok"
        redis_proxy.freeze()
        assert answered_within(2, limiter_storage_status) == "unavailable"
        assert limiter_storage_healthy() is False
        redis_proxy.restore()
        assert limiter_storage_status() == "ok"


def test_once_redis_answers_again_limits_are_shared_again(
    limited_app, redis_proxy, redis_url, caplog
):
    client = limited_app.test_client()
    redis_proxy.cut()
    signup(client, 1)
    redis_proxy.restore()
    redis.Redis.from_url(redis_url).flushdb()
    with caplog.at_level(logging.WARNING), limited_app.app_context():
        assert limiter_storage_healthy()
    assert "limits are shared again" in caplog.text
    assert signup(client, 2).status_code == 202
    assert limit_keys_in_redis(redis_url)


def test_without_redis_the_readiness_check_says_not_configured(app):
    with app.app_context():
        assert limiter_storage_status() == "not configured"


def test_production_refuses_to_start_without_shared_rate_limit_storage(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("RATELIMIT_ALLOW_MEMORY", raising=False)
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        create_app()


def test_a_one_process_production_may_count_in_memory_and_is_warned_at_start(
    monkeypatch, tmp_path, caplog
):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("RATELIMIT_ALLOW_MEMORY", "1")
    with caplog.at_level(logging.WARNING):
        app = create_app()
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert "each process's memory" in caplog.text


def test_past_the_limit_in_redis_is_429_and_counts_no_further(limited_app, redis_url):
    client = limited_app.test_client()
    answers = [signup(client, number) for number in range(4)]
    assert [answer.status_code for answer in answers] == [202, 202, 202, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    # Per client first: past it, the refused address's own budget is not counted.
    keys = b" ".join(limit_keys_in_redis(redis_url))
    assert b"reader2@example.com" in keys
    assert b"reader3@example.com" not in keys


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
@pytest.mark.parametrize("scheme", ["unix://", "redis+unix://"])
def test_redis_on_a_unix_socket_counts_and_falls_back_when_it_stops(
    make_app, unix_socket_redis, scheme, caplog
):
    server, path = unix_socket_redis
    app = add_default_list(
        make_app(
            RATELIMIT_ENABLED=True,
            RATELIMIT_SIGNUP="3/minute",
            RATELIMIT_SIGNUP_EMAIL="50/hour",
            RATELIMIT_STORAGE_URI=limiter_storage_uri(f"{scheme}{path}"),
            REDIS_URL=f"{scheme}{path}",
        )
    )
    client = app.test_client()
    assert client.get("/readyz").get_json()["checks"]["redis"] == "ok"
    assert signup(client, 1).status_code == 202
    assert redis.Redis(unix_socket_path=str(path)).keys("LIMITS:*")

    server.terminate()
    server.wait()
    with caplog.at_level(logging.WARNING):
        answers = [answered_within(2, lambda n=n: signup(client, n)) for n in (2, 3, 4, 5)]
    # Counted afresh in this process's memory: three more, then the limit.
    assert [answer.status_code for answer in answers] == [202, 202, 202, 429]
    assert "limits are now counted in each process's memory" in caplog.text
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.get_json()["checks"]["redis"] != "ok"


@pytest.mark.parametrize(
    "url, scheme",
    [
        ("memcached://limits:s3cret@cache.internal:11211", "memcached"),
        ("valkey://:s3cret@cache.internal:6379/0", "valkey"),
        ("cache.internal:6379", "no scheme"),
    ],
)
def test_a_storage_other_than_redis_is_refused_at_start_naming_only_its_scheme(
    monkeypatch, tmp_path, url, scheme
):
    # Any other storage would answer 500 to every limited request once it failed.
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("REDIS_URL", url)
    with pytest.raises(RuntimeError) as refused:
        create_app()
    assert "REDIS_URL must be a Redis URL" in str(refused.value)
    assert repr(scheme) in str(refused.value)
    assert "s3cret" not in str(refused.value)
