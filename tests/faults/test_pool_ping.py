"""The pool pings a connection only when it sat unused a while or its server ended it
(database.py, config.PING_AFTER_IDLE_SECONDS): a connection back from a request a moment ago
goes straight to the next one, with no round trip, and a dead one is still replaced unseen.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, text

from config import PING_AFTER_IDLE_ARG, postgresql_engine_options
from extensions import db
from membership.goal import count_members_exactly
from tests.faults.conftest import FAST_LIMITS
from tests.faults.test_database_outage import (
    CONTRACT_SECONDS,
    answered_within,
    lose_at_next_checkout,
)
from tests.newsletters.helpers import add_default_list, subscribe_api
from tests.stripe_helpers import add_tiers, make_event, post_event, subscription

pytestmark = pytest.mark.postgresql


def count_pings(app):
    """app.pings counts the pings its engine sends from now on."""
    app.pings = 0
    with app.app_context():
        dialect = db.engine.dialect  # this app's engine's own dialect object
    ping = dialect.do_ping

    def counted(dbapi_connection):
        app.pings += 1
        return ping(dbapi_connection)

    dialect.do_ping = counted
    return app


@pytest.fixture
def app_pinging_after(make_app, database_url):
    """factory(idle seconds): the app with the production pool options but that threshold,
    its pings counted."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the pool's pings are PostgreSQL's: run with TEST_DATABASE_URL")
    add_default_list(make_app())

    def factory(idle_seconds: float):
        options = postgresql_engine_options(**FAST_LIMITS)
        options["connect_args"][PING_AFTER_IDLE_ARG] = idle_seconds
        return count_pings(make_app(SQLALCHEMY_ENGINE_OPTIONS=options))

    return factory


def backend_of_the_pooled_connection(app) -> int:
    with app.app_context():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.session.commit()
    return pid


def end_backend(app, pid: int) -> None:
    """pg_terminate_backend from another connection, then wait until the backend is gone
    (it tells its client and closes the socket as it exits)."""
    with app.app_context():
        db.session.execute(select(func.pg_terminate_backend(pid)))
        db.session.commit()
        for _ in range(100):
            still = db.session.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar_one()
            db.session.commit()
            if not still:
                return
            time.sleep(0.05)
    raise AssertionError(f"backend {pid} did not end")


def test_a_connection_back_from_a_request_a_moment_ago_is_not_pinged(app_pinging_after):
    app = app_pinging_after(600)
    client = app.test_client()
    for number in range(3):
        assert subscribe_api(client, f"reader{number}@example.com").status_code == 202
    assert app.pings == 0


def test_a_connection_unused_longer_than_the_threshold_is_pinged(app_pinging_after):
    app = app_pinging_after(0)  # every reused connection counts as idle
    client = app.test_client()
    assert subscribe_api(client, "first@example.com").status_code == 202  # a new connection
    assert app.pings == 0
    assert subscribe_api(client, "second@example.com").status_code == 202
    assert app.pings == 1


def test_a_pooled_connection_its_server_ended_is_replaced_before_a_request_uses_it(
    app_pinging_after, make_app
):
    # A server restarted, or the backend ended by an operator, while the connection was hot:
    # the socket says so, the ping fails, and the request goes on on a new connection. (A
    # Stripe event: its first statement is the claim, with no cached figure to fall back on.)
    app = app_pinging_after(600)
    with app.app_context():
        add_tiers()
    client = app.test_client()
    assert subscribe_api(client, "before@example.com").status_code == 202
    pid = backend_of_the_pooled_connection(app)
    end_backend(make_app(), pid)
    delivery = make_event("customer.subscription.created", subscription())
    assert post_event(client, delivery).status_code == 200
    assert app.pings == 1
    assert backend_of_the_pooled_connection(app) != pid
    with app.app_context():
        assert count_members_exactly() == 1


def test_a_hot_connection_reset_by_the_network_is_replaced_once_the_database_is_back(
    proxied_app, postgres_proxy
):
    # PostgreSQL restarted between two requests a moment apart: the pooled connection was
    # reset, and the next request pings it, finds it dead and goes on on a new one.
    with proxied_app.app_context():
        add_tiers()
    count_pings(proxied_app)
    client = proxied_app.test_client()
    assert subscribe_api(client, "before@example.com").status_code == 202
    connections = postgres_proxy.connections
    postgres_proxy.cut()  # every connection reset while it sits in the pool
    time.sleep(0.2)  # the proxy's resets land (its relay threads poll every 50 ms)
    postgres_proxy.restore()
    delivery = make_event("customer.subscription.created", subscription())
    assert post_event(client, delivery).status_code == 200
    assert proxied_app.pings == 1
    assert postgres_proxy.connections == connections + 1
    with proxied_app.app_context():
        assert count_members_exactly() == 1


@pytest.mark.parametrize("fault", ["cut", "freeze"])
def test_a_hot_connection_lost_before_its_first_statement_answers_503_then_recovers(
    proxied_app, postgres_proxy, fault
):
    # The server goes just after a hot connection was handed out unpinged: the event's first
    # statement meets the outage, the answer is the contract's 503 (Stripe delivers it again),
    # and the next delivery, on a new connection, is handled.
    with proxied_app.app_context():
        add_tiers()
    count_pings(proxied_app)
    client = proxied_app.test_client()
    assert subscribe_api(client, "before@example.com").status_code == 202  # a hot connection

    lose_at_next_checkout(proxied_app, postgres_proxy, fault)
    delivery = make_event("customer.subscription.created", subscription())
    response = answered_within(CONTRACT_SECONDS, lambda: post_event(client, delivery))
    assert response.status_code == 503
    assert proxied_app.pings == 0  # handed out unpinged: the statement met the outage
    postgres_proxy.restore()
    assert post_event(client, delivery).status_code == 200
    with proxied_app.app_context():
        assert count_members_exactly() == 1
