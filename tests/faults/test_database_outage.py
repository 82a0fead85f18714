"""PostgreSQL gone or frozen: the contract's 503 within 5 s, one log line, and recovery by itself.

The app reaches PostgreSQL through a proxy (tests/faults/tcp_proxy.py): cut() is a server gone,
freeze() a server stopped with SIGSTOP (connections accepted, never answered).
"""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import event, func, select

from extensions import db
from newsletters.models import Subscriber
from tests.newsletters.helpers import outbox, subscribe_api, subscribe_form

pytestmark = pytest.mark.postgresql

CONTRACT_SECONDS = 5  # CONTRACT.md "Operations": 503 within 5 s


def answered_within(seconds: float, request):
    """The response of `request()`, or a failure if it has not answered within `seconds`."""
    answers = []
    worker = threading.Thread(target=lambda: answers.append(request()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert answers, f"no answer within {seconds} s"
    return answers[0]


def lose_at_next_checkout(app, postgres_proxy, fault: str) -> None:
    """Cut or freeze the database the moment the app's pool next hands out a connection: after
    any ping, before the request's first statement."""

    def lose_the_database(*_args):
        getattr(postgres_proxy, fault)()

    with app.app_context():
        event.listen(db.engine, "checkout", lose_the_database, once=True)


def subscribers(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Subscriber)).scalar_one()


def test_a_signup_form_post_answers_a_503_page_while_the_database_is_gone(
    proxied_app, postgres_proxy
):
    client = proxied_app.test_client()
    postgres_proxy.cut()
    response = subscribe_form(client, "reader@example.com", ["daily"])
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert "unavailable for a moment" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0


def test_the_api_answers_unavailable_with_retry_after_while_the_database_is_gone(
    proxied_app, postgres_proxy
):
    client = proxied_app.test_client()
    postgres_proxy.cut()
    response = subscribe_api(client, "reader@example.com")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    assert int(response.headers["Retry-After"]) > 0


def test_with_the_production_defaults_a_frozen_database_answers_503_within_five_seconds(
    proxied_app_factory, postgres_proxy
):
    app = proxied_app_factory(limits={})  # postgresql_engine_options() as production has it
    client = app.test_client()
    assert subscribe_api(client, "first@example.com").status_code == 202  # a pooled connection
    postgres_proxy.freeze()
    api = answered_within(CONTRACT_SECONDS, lambda: subscribe_api(client, "second@example.com"))
    form = answered_within(
        CONTRACT_SECONDS, lambda: subscribe_form(client, "third@example.com", ["daily"])
    )
    assert (api.status_code, form.status_code) == (503, 503)


def test_each_failed_request_logs_one_line_without_a_traceback(proxied_app, postgres_proxy, caplog):
    client = proxied_app.test_client()
    postgres_proxy.cut()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        subscribe_api(client, "reader@example.com")
    # Besides the request's own access line (operations/requests.py logs every 5xx at WARNING).
    problems = [
        record
        for record in caplog.records
        if record.levelno >= logging.WARNING and record.name != "request"
    ]
    assert len(problems) == 1, [record.getMessage() for record in problems]
    assert problems[0].exc_info is None
    assert "database unavailable" in problems[0].getMessage()
    assert "reader@example.com" not in caplog.text


@pytest.mark.parametrize("fault", ["cut", "freeze"])
def test_signups_work_again_without_a_restart_once_the_database_is_back(
    proxied_app, postgres_proxy, fault
):
    client = proxied_app.test_client()
    assert subscribe_api(client, "before@example.com").status_code == 202
    getattr(postgres_proxy, fault)()
    assert subscribe_api(client, "during@example.com").status_code == 503
    postgres_proxy.restore()
    assert subscribe_api(client, "after@example.com").status_code == 202
    assert subscribers(proxied_app) == 2


def test_the_front_page_is_served_from_recent_figures_while_the_database_is_gone(
    proxied_app, postgres_proxy
):
    client = proxied_app.test_client()
    assert client.get("/").status_code == 200
    postgres_proxy.cut()
    response = client.get("/")
    assert response.status_code == 200
    assert 'name="email"' in response.get_data(as_text=True)


def test_the_front_page_answers_503_when_it_has_no_recent_figures(proxied_app, postgres_proxy):
    postgres_proxy.cut()
    assert proxied_app.test_client().get("/").status_code == 503


def test_a_stripe_event_is_answered_503_so_that_stripe_delivers_it_again(
    proxied_app, postgres_proxy
):
    from tests.stripe_helpers import make_event, post_event, subscription

    client = proxied_app.test_client()
    postgres_proxy.cut()
    response = post_event(client, make_event("customer.subscription.updated", subscription()))
    assert response.status_code == 503


def test_a_staff_page_answers_503_while_the_database_is_gone(proxied_app, postgres_proxy):
    from tests.staff.conftest import sign_in
    from tests.staff.factories import make_staff

    with proxied_app.app_context():
        make_staff("admin@newsroom.test", role="admin")
    client = proxied_app.test_client()
    assert sign_in(client, "admin@newsroom.test").status_code == 302
    postgres_proxy.cut()
    assert client.get("/staff/").status_code == 503


@pytest.mark.parametrize("fault", ["cut", "freeze"])
def test_a_new_readers_own_statement_losing_the_database_answers_503_and_recovers(
    proxied_app_factory, postgres_proxy, fault
):
    # The lists kept as in production, so a new address's statement runs alone (autocommit);
    # the database goes just after the pool's checkout, while that statement is on its way.
    # As with a COMMIT whose answer is lost, a frozen server may still run the statement once
    # it wakes: the reader asking again then gets the one confirmation either way.
    app = proxied_app_factory(LISTS_CACHE_SECONDS=600)
    client = app.test_client()
    assert subscribe_api(client, "before@example.com").status_code == 202  # lists now kept

    lose_at_next_checkout(app, postgres_proxy, fault)
    response = answered_within(
        CONTRACT_SECONDS, lambda: subscribe_api(client, "during@example.com")
    )
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    postgres_proxy.restore()
    assert subscribe_api(client, "during@example.com").status_code == 202
    assert subscribe_api(client, "after@example.com").status_code == 202
    assert subscribers(app) == 3
    confirmations = [mail.to_addr for mail in outbox(app, "confirm")]
    assert sorted(confirmations) == [
        "after@example.com",
        "before@example.com",
        "during@example.com",
    ]


@pytest.mark.parametrize("fault", ["cut", "freeze"])
def test_a_known_readers_statements_losing_the_database_answer_503_and_recover(
    proxied_app_factory, postgres_proxy, fault, monkeypatch, caplog
):
    # A known address's two statements run in a transaction on a connection the signup took
    # from the pool itself (newsletters/signup_writes.py); the database goes after the
    # first statement found the address, just before the two that lock and write.
    from newsletters import signup_statement

    app = proxied_app_factory(LISTS_CACHE_SECONDS=600)
    client = app.test_client()
    assert subscribe_api(client, "known@example.com").status_code == 202  # lists now kept
    alone = signup_statement.in_a_transaction_of_its_own

    def lose_the_database_once_known(driver, statement, parameters):
        row = alone(driver, statement, parameters)
        if row is None:  # the address is known: its two statements come next
            getattr(postgres_proxy, fault)()
        return row

    before = backend_pids(app, 2)  # the pool now holds two connections
    monkeypatch.setattr(
        signup_statement, "in_a_transaction_of_its_own", lose_the_database_once_known
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        response = answered_within(
            CONTRACT_SECONDS, lambda: subscribe_api(client, "known@example.com")
        )
    assert response.status_code == 503
    # One line, the app's, as for any outage: the lost connection is dropped here, not handed
    # back for the pool to fail resetting it ("Exception during reset", with a traceback).
    problems = [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.WARNING and record.name != "request"
    ]
    assert len(problems) == 1 and "database unavailable" in problems[0], problems
    monkeypatch.setattr(signup_statement, "in_a_transaction_of_its_own", alone)
    postgres_proxy.restore()
    assert subscribe_api(client, "known@example.com").status_code == 202
    assert subscribe_api(client, "after@example.com").status_code == 202
    assert subscribers(app) == 2
    # The pool's other connection, idle meanwhile (and alive again after a freeze), is not
    # trusted either: as after a disconnect on a session's connection, it is replaced.
    assert not set(backend_pids(app, 2)) & set(before)


def backend_pids(app, count: int) -> list[int]:
    """The PostgreSQL backends of `count` connections taken from the pool at once."""
    with app.app_context():
        taken = [db.engine.raw_connection() for _ in range(count)]
        pids = [connection.driver_connection.info.backend_pid for connection in taken]
        for connection in taken:
            connection.close()
    return pids
