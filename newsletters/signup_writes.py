"""The PostgreSQL signup's connections: which one each statement runs on, and new addresses
from a worker's threads written together.

A signup that is its request's whole transaction (the form, the embed, the API) takes a pool
connection of its own. A new address is one autocommit statement (signup_statement.py); while
one is with PostgreSQL, the new addresses reaching this point in the worker's other threads
wait, and the first of them then writes them all in one statement: one round trip, one
transaction, one commit (group_write.py). Under load, one pipeline of their statements saved a
third of PostgreSQL's CPU a signup and a fifth of the statement's own in the worker; one
statement for them all saves more again (bench/results.md, "new addresses written together"
and "one statement a batch"). Alone, a signup goes at once, exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import psycopg
from flask import current_app
from psycopg import Connection

from database import session_in_transaction
from extensions import db
from newsletters import signup_batch
from newsletters import signup_statement as statement
from newsletters.group_write import GroupWriter

T = TypeVar("T")


def signup_statements(parameters: dict, *, alone: bool = False) -> tuple[int, bool, bool]:
    """(subscriber id, confirmation queued, already subscribed), in the session's transaction,
    or, alone, committed on a connection of its own; `parameters` as
    signup_statement.signup_parameters() makes them.

    alone: the caller commits right after and wrote nothing before. While the session holds no
    transaction, the signup takes a pool connection of its own and commits there
    (_signup_on_a_pool_connection); otherwise a new address may still be written by one
    statement committed by itself (signup_statement.in_a_transaction_of_its_own). The
    session's transaction then has nothing left to commit.
    """
    if alone and not session_in_transaction():
        return _signup_on_a_pool_connection(parameters)
    # The session's own connection and transaction (psycopg sends the BEGIN first).
    driver = db.session.connection().connection.driver_connection
    return statement.write_signup(driver, parameters, alone=alone)


def _signup_on_a_pool_connection(parameters: dict) -> tuple[int, bool, bool]:
    """The signup that is its request's whole transaction, on a connection taken from the pool
    directly (the same checkout, ping and return) rather than through a session transaction
    begun only to reach it and then committed with nothing in it: ~43 µs of a signup's CPU
    (bench/results.md, branch p11-chain).

    A new address: its one autocommit statement, written together with the new addresses of
    this worker's other threads that arrive meanwhile (_new_addresses, below). A known one:
    its two statements in one transaction on a connection of its own, committed here.
    """
    outcome = _new_addresses().write(parameters)
    if outcome is None:  # a known address, found in a batch: straight to its transaction
        outcome = _on_a_pool_connection(
            lambda driver: _signup_and_commit(driver, parameters, new_maybe=False)
        )
    return outcome


def _signup_and_commit(
    driver: Connection, parameters: dict, *, new_maybe: bool = True
) -> tuple[int, bool, bool]:
    """new_maybe: first try the address as a new one in a statement of its own (False: it was
    found known a moment ago, and its transaction begins at once)."""
    outcome = statement.write_signup(driver, parameters, alone=new_maybe)
    driver.commit()  # a known address's transaction (nothing is sent for a new one's)
    return outcome


def _on_a_pool_connection(work: Callable[[Connection], T]) -> T:
    """work(driver) on a connection from the pool, which gets it back after.

    A connection lost on the way (closed by the deadline, or broken) is dropped, and the pool's
    others are replaced as they are next taken; anything else the pool rolls back when the
    connection goes back.
    """
    pooled = db.engine.raw_connection()
    driver = pooled.driver_connection
    failure: BaseException | None = None
    try:
        return work(driver)
    except BaseException as error:
        failure = error
        raise
    finally:
        # Lost on the way, also where work() answered (a batch's signups written before the
        # break). As SQLAlchemy does for a disconnect on a session's connection: the pool's
        # other connections are not trusted either, each replaced at its next checkout (one
        # lost in a failover would otherwise cost a request its wait and a 503 each).
        if driver.closed or driver.broken:
            db.engine.pool._invalidate(pooled, failure)
        pooled.close()


def _write_new_addresses(batch: list[dict]) -> list:
    """Each signup's outcome, or its error. Alone, a signup is written whole as before; in a
    batch, a known address's is None (its thread goes on in a transaction of its own)."""
    if len(batch) == 1:
        return [_on_a_pool_connection(lambda driver: _signup_and_commit(driver, batch[0]))]
    return _on_a_pool_connection(lambda driver: _new_addresses_on(driver, batch))


def _new_addresses_on(driver: Connection, batch: list[dict]) -> list:
    """The signups' new addresses in one statement: one round trip and one transaction. Each
    address goes once, with its first signup in the batch; a later signup of it goes on as a
    known address's. Should the statement fail, it wrote nothing, and each signup is written
    again on its own: the error stays that signup's."""
    first_signups: dict[str, int] = {}  # an address's first signup: its index in the batch
    for index, parameters in enumerate(batch):
        first_signups.setdefault(parameters["email_key"], index)
    sent = list(first_signups.values())
    try:
        rows = signup_batch.new_addresses_in_one_statement(driver, [batch[index] for index in sent])
    except psycopg.Error:
        if driver.closed or driver.broken:
            raise
        return _each_alone(driver, batch)
    outcomes: list = [None] * len(batch)
    for index, subscriber_id in zip(sent, rows, strict=True):
        outcomes[index] = _new_address_outcome(subscriber_id)
    return outcomes


def _new_address_outcome(subscriber_id: int | None) -> tuple[int, bool, bool] | None:
    return None if subscriber_id is None else (subscriber_id, True, False)


def _each_alone(driver: Connection, batch: list[dict]) -> list:
    """Each signup of a batch whose statement failed, written on its own. Should the connection
    break on the way, the signups written before stand, committed and answered so; the one it
    broke under and those after it fail as the connection did, each with an error of its own."""
    outcomes = []
    for parameters in batch:
        if driver.closed or driver.broken:
            outcomes.append(psycopg.OperationalError("the connection broke before this signup"))
        else:
            outcomes.append(_alone_or_its_error(driver, parameters))
    return outcomes


def _alone_or_its_error(driver: Connection, parameters: dict):
    try:
        row = statement.in_a_transaction_of_its_own(driver, statement.SIGNUP_NEW_ALONE, parameters)
    except psycopg.Error as error:
        return error
    return _new_address_outcome(None if row is None else row[0])


def _new_addresses() -> GroupWriter:
    """The app's writer of new addresses: the threads of a gunicorn worker write theirs
    together. One an app, so that a batch is only ever written to its own app's database."""
    extensions = current_app.extensions
    writer = extensions.get(_WRITER)
    if writer is None:
        writer = extensions.setdefault(_WRITER, GroupWriter(_write_new_addresses))
    return writer


_WRITER = "newsletters.new_addresses"
