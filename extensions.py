"""Every Flask extension object, created unbound; app.create_app() binds them."""

from flask_cors import CORS
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from limiter_storage import FallbackRedisStorage


class Base(DeclarativeBase):
    pass


def client_address() -> str:
    """The reader's address after ProxyFix has applied PROXY_COUNT."""
    from flask import request

    return request.remote_addr or "unknown"


db = SQLAlchemy(model_class=Base)
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
