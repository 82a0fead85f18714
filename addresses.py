"""Email addresses as readers type them: one validation for signups, checkout and staff."""

from __future__ import annotations

import sys
from functools import lru_cache

import dns.exception
import dns.resolver
from email_validator import (
    EmailNotValidError,
    EmailUndeliverableError,
    ValidatedEmail,
    validate_email,
)
from email_validator.deliverability import validate_email_deliverability
from flask import current_app


class InvalidEmail(ValueError):
    pass


# email-validator checks an address's domain by its text alone (a syntax check asks no DNS), and
# the same few domains come again and again: that check, about 60 % of a valid address's, is
# remembered per domain. validate_email() finds the function in its own module's namespace on
# each call (email-validator 2.4.0, pinned). A refusal raises, and is not remembered. Whoever
# changes email_validator.SPECIAL_USE_DOMAIN_NAMES must call its cache_clear() (we never do).
_VALIDATE_EMAIL_MODULE = sys.modules[validate_email.__module__]
_VALIDATE_EMAIL_MODULE.validate_email_domain_name = lru_cache(maxsize=1024)(
    _VALIDATE_EMAIL_MODULE.validate_email_domain_name
)


def normalise_email(raw: str) -> str:
    """The address as email-validator normalises it, or InvalidEmail.

    A DNS timeout during the deliverability check accepts the address: email-validator reports
    it as unknown deliverability rather than raising, and a slow resolver must not lose readers.
    """
    if not isinstance(raw, str):
        raise InvalidEmail("not a string")
    config = current_app.config
    address = raw.strip()
    try:
        info = _syntax(address)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from exc
    if config["EMAIL_CHECK_DELIVERABILITY"]:
        _check_deliverability(info.ascii_domain, info.domain, config["EMAIL_DNS_TIMEOUT"])
    return info.normalized


@lru_cache(maxsize=64)
def _syntax(address: str) -> ValidatedEmail:
    """email-validator's syntax check, no DNS. A signup asks it twice for one address (the
    per-address limit's key, then the signup): remembered for the last few addresses, as the
    answer depends on the text alone. Refusals raise and are not remembered."""
    return validate_email(address, check_deliverability=False, allow_display_name=False)


def _check_deliverability(ascii_domain: str, domain: str, timeout: float) -> None:
    """Refuse a domain that DNS says takes no mail; a slow or absent resolver refuses nothing."""
    try:
        validate_email_deliverability(ascii_domain, domain, timeout=timeout)
    except EmailUndeliverableError as exc:
        refusals = (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer)
        if exc.__cause__ is None or isinstance(exc.__cause__, refusals):
            raise InvalidEmail(str(exc)) from exc
        # email-validator wraps unexpected resolver failures the same way: not the reader's fault.
    except dns.exception.DNSException:
        pass  # e.g. no resolver configured on this machine


def email_key(address: str) -> str:
    """What makes two spellings one address for uniqueness and look-ups: case is ignored."""
    return address.strip().lower()


def rate_limit_key(raw: str) -> str | None:
    """The address as it will be stored, for the per-address limit: spellings that normalise
    to one address (case, Unicode forms) share one budget. Syntax only, never DNS."""
    try:
        info = _syntax(raw.strip()[:320])
    except EmailNotValidError:
        return None
    return email_key(info.normalized)
