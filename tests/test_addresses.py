"""addresses.py remembers email-validator's domain check per domain: validate_email must answer
exactly as the plain library does, for valid and refused addresses alike."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

import addresses

DOMAINS = [
    "gmail.com",
    "ukr.net",
    "Example.COM",
    "exämple.com",
    "xn--exmple-cua.com",
    "bücher.de",
    "пример.рф",
    "例え.jp",
    "straße.de",
    "a.b.c.d.example.org",
    "localhost",
    "test",
    "example.test",
    "invalid",
    "-bad.com",
    "bad-.com",
    "a..com",
    ".com",
    "com.",
    "ex ample.com",
    "xn--zz.com",
    "x" * 64 + ".com",
    ".".join(["abcdefghij"] * 26) + ".com",
    "[127.0.0.1]",
    "[IPv6:::1]",
    "",
    "exa_mple.com",
    "ex\u200bample.com",
    "ＥＸＡＭＰＬＥ.com",
    "ⓔxample.com",
    "a\u0301.com",
    "123.com",
    "1.2.3.4",
]

LABEL = st.text(st.sampled_from("abcxyzäöüßяж例ＡZ0129-_\u0301\u200d."), min_size=1, max_size=20)
DOMAIN = st.one_of(
    st.sampled_from(DOMAINS),
    st.builds(lambda a, b: f"{a}.{b}", LABEL, st.sampled_from(["com", "de", "рф", "c0m", ""])),
    st.text(max_size=30),
)
LOCAL = st.one_of(
    st.text(st.sampled_from("abcXYZ09.+-_!#$%&'*/=?^`{|}~"), max_size=20),
    st.text(max_size=12),
    st.builds(lambda s: f'"{s}"', st.text(max_size=10)),
    st.sampled_from(["Postmaster", "ABUSE", "ünïcode", "a" * 65, "", ".a", "a..b", "é"]),
)
OPTIONS = st.sampled_from(
    [
        {"check_deliverability": False, "allow_display_name": False},  # the app's
        {"check_deliverability": False},
        {"check_deliverability": False, "test_environment": True},
        {"check_deliverability": False, "globally_deliverable": False},
        {"check_deliverability": False, "allow_quoted_local": True, "allow_domain_literal": True},
        {"check_deliverability": False, "allow_smtputf8": False},
    ]
)


def _answer(address: str, options: dict) -> tuple:
    try:
        info = validate_email(address, **options)
    except EmailNotValidError as exc:
        return ("refused", type(exc), str(exc))
    return ("valid", info.as_dict())


def _plain_answer(address: str, options: dict) -> tuple:
    module = addresses._validate_email_module
    module.validate_email_domain_name = addresses._plain_domain_check
    try:
        return _answer(address, options)
    finally:
        module.validate_email_domain_name = addresses._remembered_domain_check


def test_validate_email_looks_up_the_remembered_domain_check():
    addresses._checked_domain.cache_clear()
    validate_email("a@example.org", check_deliverability=False)
    validate_email("b@example.org", check_deliverability=False)
    assert addresses._checked_domain.cache_info().hits == 1


@settings(max_examples=600, deadline=None)
@given(local=LOCAL, domain=DOMAIN, options=OPTIONS, display=st.booleans())
@example(local="reader", domain="gmail.com", options={"check_deliverability": False}, display=False)
@example(local="Reader", domain="Exämple.COM", options={}, display=True)
def test_the_same_answer_as_plain_email_validator(local, domain, options, display):
    options = {"check_deliverability": False, **options}
    address = f"{local}@{domain}"
    if display:
        address = f"Reader <{address}>"
    expected = _plain_answer(address, options)
    # Twice: the first may fill the domain's entry, the second must answer from it alike.
    assert _answer(address, options) == expected
    assert _answer(address, options) == expected
