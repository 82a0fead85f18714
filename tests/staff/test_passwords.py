"""The staff password rule: what a person choosing a password is told, and what passes."""

from __future__ import annotations

import pytest

from staff.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PasswordRejected,
    check_password,
    common_passwords,
    password_problem,
)

EMAIL = "Fiona.Macpherson@newsroom.test"
GOOD = "violet tractor sings under 9 bridges"


def test_a_long_uncommon_password_is_accepted():
    assert password_problem(GOOD, EMAIL) is None
    check_password(GOOD, EMAIL)


def test_a_password_one_character_short_is_refused_with_the_minimum_named():
    problem = password_problem("x7#kq9!mzt2", EMAIL)

    assert problem is not None
    assert f"at least {MIN_PASSWORD_LENGTH} characters" in problem


def test_a_password_of_exactly_the_minimum_length_is_accepted():
    assert password_problem("x7#kq9!mzt2w", EMAIL) is None


def test_spaces_around_a_short_password_do_not_make_it_long_enough():
    assert "at least" in password_problem("   x7#kq9!   ", EMAIL)


def test_a_password_past_the_maximum_is_refused_with_the_maximum_named():
    problem = password_problem("a" * (MAX_PASSWORD_LENGTH + 1), EMAIL)

    assert problem is not None
    assert f"at most {MAX_PASSWORD_LENGTH} characters" in problem


def test_a_password_of_exactly_the_maximum_length_is_accepted():
    assert password_problem("violet tractor " * 68 + "abcd", EMAIL) is None
    assert len("violet tractor " * 68 + "abcd") == MAX_PASSWORD_LENGTH


@pytest.mark.parametrize("password", ["qwerty123456", "QWERTY123456", " 1Q2w3E4r5T6y "])
def test_a_common_password_is_refused_whatever_its_case(password):
    problem = password_problem(password, EMAIL)

    assert problem is not None
    assert "common passwords" in problem


@pytest.mark.parametrize(
    "password", ["fiona.macpherson@newsroom.test", "FIONA.MACPHERSON@NEWSROOM.TEST"]
)
def test_the_accounts_own_address_is_refused_whatever_its_case(password):
    assert "email address" in password_problem(password, EMAIL)


@pytest.mark.parametrize("password", ["fiona.macpherson", "Fiona.MacPherson"])
def test_the_part_of_the_address_before_the_at_is_refused_whatever_its_case(password):
    assert "before the @" in password_problem(password, EMAIL)


def test_another_accounts_address_is_not_refused_as_an_address():
    assert password_problem("fiona.macpherson@newsroom.test", "editor@newsroom.test") is None


def test_check_password_raises_the_message_a_person_reads():
    with pytest.raises(PasswordRejected, match="common passwords"):
        check_password("qwerty123456", EMAIL)


def test_the_shipped_list_holds_djangos_twenty_thousand_lowercased_entries():
    passwords = common_passwords()

    assert len(passwords) > 19_000
    assert "123456" in passwords
    assert all(entry == entry.lower() for entry in passwords)


def test_the_list_is_read_on_first_use_and_only_once():
    common_passwords.cache_clear()
    assert common_passwords.cache_info().currsize == 0

    password_problem("qwerty123456", EMAIL)
    password_problem("1q2w3e4r5t6y", EMAIL)

    assert common_passwords.cache_info().misses == 1
    assert common_passwords.cache_info().hits == 1
