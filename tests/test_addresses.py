"""An address's domain is checked once and remembered: the answers stay email-validator's own."""

from __future__ import annotations

import sys

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

import addresses

_MODULE = sys.modules[validate_email.__module__]
_UNREMEMBERED = _MODULE.validate_email_domain_name.__wrapped__

# Domains as readers type them, right and wrong: case, Unicode (IDNA), a trailing dot, special-use
# names, labels too long, characters no domain has.
_DOMAINS = st.one_of(
    st.sampled_from(
        ["example.com", "Example.COM", "gmail.com.", "ukr.net", "пошта.укр", "ПОШТА.укр"]
        + ["localhost", "test", "x.local", "a" * 64 + ".com", "bad_domain.com", "exa mple.com"]
        + ["xn--80a1acny.xn--j1amh", "[127.0.0.1]", "com", "-a.com", "1.2.3.4"]
    ),
    st.text(alphabet="abcdeABCDE.-_ёЁ0", min_size=1, max_size=20),
)
_LOCALS = st.sampled_from(["reader", "Reader.Name", "a+b", "ім'я", '"quoted"', "", "a..b"])


def _outcome(address: str):
    """What validate_email says about `address`: its normalised form, or the refusal's text."""
    try:
        return validate_email(address, check_deliverability=False, allow_display_name=False)
    except EmailNotValidError as refusal:
        return f"refused: {refusal}"


def _summary(outcome) -> object:
    if isinstance(outcome, str):
        return outcome
    return (outcome.normalized, outcome.ascii_email, outcome.domain, outcome.ascii_domain)


@settings(max_examples=300, deadline=None)
@given(local=_LOCALS, domain=_DOMAINS)
@example(local="reader", domain="example.com")
def test_a_remembered_domain_gives_the_answer_a_fresh_check_gives(local, domain):
    address = f"{local}@{domain}"
    first, again = _outcome(address), _outcome(address)  # the second from what was remembered
    with pytest.MonkeyPatch.context() as unremembered:
        unremembered.setattr(_MODULE, "validate_email_domain_name", _UNREMEMBERED)
        fresh = _outcome(address)

    assert _summary(first) == _summary(again) == _summary(fresh)


def test_a_domain_is_checked_once_for_many_addresses():
    _MODULE.validate_email_domain_name.cache_clear()

    keys = [addresses.rate_limit_key(f"reader{n}@Remembered.example") for n in range(50)]

    assert keys == [f"reader{n}@remembered.example" for n in range(50)]
    info = _MODULE.validate_email_domain_name.cache_info()
    assert (info.misses, info.hits) == (1, 49)


def test_a_refused_domain_is_refused_every_time():
    for _ in range(3):
        with pytest.raises(EmailNotValidError):
            validate_email("reader@nowhere", check_deliverability=False)
    assert addresses.rate_limit_key("reader@nowhere") is None
