"""Every Flask extension object, created unbound; app.create_app() binds them."""

from flask_cors import CORS
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from limiter_storage import FallbackRedisStorage


class Base(DeclarativeBase):
    pass


def client_address() -> str:
    """The reader's address after ProxyFix has applied PROXY_COUNT."""
    from flask import request

    return request.remote_addr or "unknown"


_KEPT_CONNECTION = "core_statements_connection"


class Session(FlaskSession):
    """Flask-SQLAlchemy's session; a Core statement goes straight to the transaction's connection.

    Session.execute() on a Core statement (no ORM entity in it) autoflushes and hands it to the
    connection, but first looks up the bind (Flask-SQLAlchemy's get_bind, per statement), finds
    the transaction's connection again and merges execution options: ~15 µs a statement, about
    4 % of a Stripe event's CPU (its four or so statements are all Core). Here the connection is
    chosen as Session.execute would (session.connection(), which begins the transaction if need
    be), kept for the transaction it belongs to and used directly; the autoflush stays. ORM
    statements, explicit options and a transaction no longer active go the ORM's way.
    One connection per transaction holds because the app has one database (no
    SQLALCHEMY_BINDS); with a second bind the kept connection would have to be per bind.
    """

    def execute(
        self,
        statement,
        params=None,
        *,
        execution_options=None,
        bind_arguments=None,
        _parent_execute_state=None,  # SQLAlchemy's own, passed on by scoped_session
        _add_event=None,
    ):
        if (
            execution_options
            or bind_arguments
            or _parent_execute_state is not None
            or _add_event is not None
            or self.execution_options
            or self.dispatch.do_orm_execute
        ):
            return super().execute(
                statement,
                params,
                execution_options=execution_options or {},
                bind_arguments=bind_arguments,
                _parent_execute_state=_parent_execute_state,
                _add_event=_add_event,
            )
        # What Session.execute itself asks to tell a Core statement from an ORM one.
        attributes = getattr(statement, "_propagate_attrs", None)
        if attributes is None or attributes.get("compile_state_plugin") == "orm":
            return super().execute(statement, params)
        transaction = self.get_transaction()
        kept = self.info.get(_KEPT_CONNECTION)
        if transaction is not None and kept is not None and kept[0] is transaction:
            if not transaction.is_active:
                return super().execute(statement, params)  # raises as the ORM would
            self._autoflush()  # as Session.execute does for Core statements (SQLAlchemy #9809)
            return kept[1].execute(statement, params)
        self._autoflush()
        # The connection Session.execute would choose (begun here if need be), kept.
        connection = self.connection(bind_arguments={"clause": statement})
        self.info[_KEPT_CONNECTION] = (self.get_transaction(), connection)
        return connection.execute(statement, params)


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})
migrate = Migrate()
csrf = CSRFProtect()


class _Limiter(Limiter):
    """Flask-Limiter, asking its request filters before it looks anything up.

    Its app-wide check weighs the filters only after identifying the request and resolving the
    route's limits, then evaluates the empty list it is left with: ~35 µs for every request it
    has nothing to count on (newsletters/limits.py's filter: the Stripe webhook, the signups,
    whose limits are counted there). With no meta limits configured, a filtered request leaves
    its context as it found it, so nothing else changes."""

    def _check_request_limit(self, callable_name=None, in_middleware=True) -> None:
        filtered = in_middleware and self.enabled and self.initialized and not self._meta_limits
        if filtered and any(exempt() for exempt in self._request_filters):
            return
        super()._check_request_limit(callable_name, in_middleware)


limiter = _Limiter(key_func=client_address)
login_manager = LoginManager()
cors = CORS()


def limiter_storage_status() -> str:
    """For /readyz: "ok" when Redis answers a PING now (within the storage's socket timeouts),
    "unavailable" when it does not (limits are then per process), "not configured" without
    REDIS_URL or with rate limiting off."""
    storage = limiter.storage if limiter.enabled else None
    if not isinstance(storage, FallbackRedisStorage):
        return "not configured"
    return "ok" if storage.redis_answers() else "unavailable"


def limiter_storage_healthy() -> bool:
    """False only while a configured Redis does not answer."""
    return limiter_storage_status() != "unavailable"
