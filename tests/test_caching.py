"""The per-process TTL cache behind the goal figures and the open lists."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from caching import TTLCache
from extensions import db


def counting(values):
    """A compute function that hands out the next value and counts its calls."""
    calls = []

    def compute():
        calls.append(1)
        return values[len(calls) - 1]

    return compute, calls


def test_a_cached_value_is_reused_until_the_ttl_is_over(make_app):
    app = make_app(TEST_CACHE_SECONDS=3600)
    cache = TTLCache("TEST_CACHE_SECONDS", default_ttl=5)
    compute, calls = counting(["first", "second"])
    with app.app_context():
        assert (cache.get(compute), cache.get(compute)) == ("first", "first")
    assert len(calls) == 1


def test_with_a_ttl_of_zero_every_call_computes_afresh(make_app):
    app = make_app(TEST_CACHE_SECONDS=0)
    cache = TTLCache("TEST_CACHE_SECONDS", default_ttl=5)
    compute, _ = counting(["first", "second"])
    with app.app_context():
        assert (cache.get(compute), cache.get(compute)) == ("first", "second")


def test_a_value_computed_while_the_cache_was_cleared_is_not_kept(make_app):
    app = make_app(TEST_CACHE_SECONDS=3600)
    cache = TTLCache("TEST_CACHE_SECONDS", default_ttl=5)

    def stale_then_cleared():
        cache.clear()  # a change commits while the old figures are still being read
        return "stale"

    with app.app_context():
        assert cache.get(stale_then_cleared) == "stale"
        assert cache.get(lambda: "fresh") == "fresh"


def test_a_committed_change_clears_the_value_and_a_rolled_back_one_does_not(make_app):
    app = make_app(TEST_CACHE_SECONDS=3600)
    cache = TTLCache("TEST_CACHE_SECONDS", default_ttl=5)
    with app.app_context():
        cache.get(lambda: "before")
        db.session.execute(text("SELECT 1"))  # a transaction that changes something, then:
        cache.clear_after_commit()
        db.session.rollback()
        db.session.execute(text("SELECT 1"))
        db.session.commit()  # a later transaction that changed nothing of it
        assert cache.get(lambda: "after") == "before"
        cache.clear_after_commit()
        db.session.commit()
        assert cache.get(lambda: "after") == "after"


def test_two_apps_in_one_process_never_read_each_others_value(make_app):
    first, second = make_app(TEST_CACHE_SECONDS=3600), make_app(TEST_CACHE_SECONDS=3600)
    cache = TTLCache("TEST_CACHE_SECONDS", default_ttl=5)
    with first.app_context():
        cache.get(lambda: "first app")
    with second.app_context():
        assert cache.get(lambda: "second app") == "second app"


def database_gone():
    raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


def test_while_the_database_is_unreachable_the_last_value_is_served(make_app):
    app = make_app(TEST_CACHE_SECONDS=0)
    cache = TTLCache("TEST_CACHE_SECONDS", default_ttl=5)
    with app.app_context():
        assert cache.get(lambda: "figures") == "figures"
        assert cache.get(database_gone) == "figures"


def test_after_an_outage_the_database_is_asked_again_only_after_a_pause(make_app):
    app = make_app(TEST_CACHE_SECONDS=0)
    cache = TTLCache("TEST_CACHE_SECONDS", default_ttl=5)
    compute, calls = counting(["fresh"])
    with app.app_context():
        cache.get(lambda: "figures")
        cache.get(database_gone)
        assert cache.get(compute) == "figures"
    assert calls == []


def test_without_an_earlier_value_an_outage_is_raised_for_the_503_page(make_app):
    app = make_app(TEST_CACHE_SECONDS=0)
    cache = TTLCache("TEST_CACHE_SECONDS", default_ttl=5)
    with app.app_context(), pytest.raises(OperationalError):
        cache.get(database_gone)


def test_an_error_that_is_not_an_outage_is_never_hidden_behind_an_old_value(make_app):
    app = make_app(TEST_CACHE_SECONDS=0)
    cache = TTLCache("TEST_CACHE_SECONDS", default_ttl=5)

    def bug():
        raise KeyError("a bug, not an outage")

    with app.app_context():
        cache.get(lambda: "figures")
        with pytest.raises(KeyError):
            cache.get(bug)
