"""Signup rate limits, shared by the form, the embed and the JSON API (one budget for all three).

Counted here with the `limits` library, not by Flask-Limiter's decorators: its bookkeeping per
limit cost about 15 % of a signup's CPU. The budgets, keys, counters and answers are the ones
Flask-Limiter's shared limits had (scopes "signup-client" and "signup-email", fixed windows,
RATELIMIT_KEY_PREFIX, RATELIMIT_ENABLED), so counters in Redis carry over. Every hit of a
request is counted in one round trip (limiter_storage.incr_in_order), per client first, then
per address, each limit's shortest window first, stopping at the first breach.

Limits are read from the settings at request time, so make_app(RATELIMIT_SIGNUP=...) applies.

This module is also the one owner of "Flask-Limiter has nothing to count on this view": the
views its decorators wrap, and those marked `never_limited`, are skipped by Flask-Limiter's
app-wide check through its public `request_filter` hook (see `_counted_here`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import NamedTuple

from flask import current_app, request
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import HTTPException, TooManyRequests

import security
from addresses import rate_limit_key
from extensions import client_address, limiter
from limiter_storage import CounterHit, incr_in_order

# The logger and line Flask-Limiter wrote for a refused request, kept for whoever reads the logs.
breach_log = logging.getLogger("flask-limiter")


def signup_limit() -> str:
    """Signups per client; checkout and "Manage membership" apply the same figure."""
    return current_app.config["RATELIMIT_SIGNUP"]


def _signup_email_limit() -> str:
    return current_app.config["RATELIMIT_SIGNUP_EMAIL"]


def signup_email_key() -> str:
    """The address being signed up, read without trusting the body (garbage must not raise).

    A body too large still raises 413 here, which is the answer it deserves.
    """
    email = None
    if request.is_json:
        data = request.get_json(silent=True)
        if isinstance(data, dict):
            email = data.get("email")
    else:
        email = request.form.get("email")
    key = rate_limit_key(email) if isinstance(email, str) else None
    if key:
        return "email:" + key
    return "no-email:" + client_address()


class Budget(NamedTuple):
    """One signup budget: its limits (a setting's string), whose they are, and its scope."""

    limits: Callable[[], str]
    key: Callable[[], str]
    scope: str


class Counter(NamedTuple):
    item: RateLimitItem
    identifiers: list[str]  # [RATELIMIT_KEY_PREFIX,] the budget's key, its scope


_PER_CLIENT = Budget(signup_limit, client_address, "signup-client")
_PER_ADDRESS = Budget(_signup_email_limit, signup_email_key, "signup-email")


@lru_cache(maxsize=32)
def _items(limits: str) -> list[RateLimitItem]:
    return sorted(parse_many(limits))  # shortest window first, as Flask-Limiter checked them


def _counters(budgets: tuple[Budget, ...]) -> tuple[list[Counter], HTTPException | None]:
    """Each limit with the identifiers of its counter, keyed as Flask-Limiter keyed them.

    A budget whose key cannot be read (a form body over the size limit: 413) ends the list
    there, with that refusal: the budgets before it are still counted, so a client past its
    limit hears 429 first.
    """
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    counters = []
    for budget in budgets:
        try:
            identifiers = [budget.key(), budget.scope]
        except HTTPException as unreadable:
            return counters, unreadable
        if prefix:
            identifiers.insert(0, prefix)
        counters.extend(Counter(item, identifiers) for item in _items(budget.limits()))
    return counters, None


def _enforce(*budgets: Budget) -> None:
    """Count this request against the budgets; past one, raise 429 (with its Retry-After)."""
    if request.method != "POST" or not limiter.enabled:
        return
    counters, unreadable = _counters(budgets)
    hits = [
        CounterHit(item.key_for(*identifiers), item.get_expiry(), item.amount)
        for item, identifiers in counters
    ]
    storage = limiter.storage
    counts = incr_in_order(storage, hits)
    for (item, identifiers), hit, count in zip(counters, hits, counts, strict=False):
        if count > item.amount:
            key, scope = identifiers[-2:]
            breach_log.info("ratelimit %s (%s) exceeded at endpoint: %s", item, key, scope)
            # As Flask-Limiter's RequestLimit.reset_at: the window's end, rounded up.
            security.limit_breached(resets_at=int(storage.get_expiry(hit.key) + 1))
            raise TooManyRequests()
    if unreadable is not None:
        raise unreadable


# The view functions Flask-Limiter has nothing to count on: their limits are counted here, or
# they have none. Its app-wide before_request check would still resolve and weigh each one's
# limits on every request (~7 % of a signup's CPU, ~5 % of a webhook event's). Kept by identity,
# as the functions are registered: a Flask-Limiter decorator put above ours (POST
# /membership/manage) registers its own wrapper, which is not here, so that view's limit is
# still checked. Flask-Limiter's decorators go above ours: one below would be skipped too.
_COUNTED_HERE: set[Callable] = set()


def _counted_here(view):
    _COUNTED_HERE.add(view)
    return view


@limiter.request_filter
def _flask_limiter_has_nothing_to_count() -> bool:
    return current_app.view_functions.get(request.endpoint) in _COUNTED_HERE


def never_limited(view):
    """A view no limit applies to (the Stripe webhook, CONTRACT.md; the health probes)."""
    return _counted_here(view)


def _limited_by(*budgets: Budget):
    def decorator(view):
        @wraps(view)
        def limited(*args, **kwargs):
            _enforce(*budgets)
            return view(*args, **kwargs)

        return _counted_here(limited)

    return decorator


def signup_limits(view):
    """Both signup budgets, per client then per address: the form, the embed and the API."""
    return _limited_by(_PER_CLIENT, _PER_ADDRESS)(view)


def signup_per_client(view):
    """The signup budget per client alone (a fresh confirmation link)."""
    return _limited_by(_PER_CLIENT)(view)


def signup_per_email(view):
    """The signup budget per address alone (each "Manage membership" link is a mail to it)."""
    return _limited_by(_PER_ADDRESS)(view)
