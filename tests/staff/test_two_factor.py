"""Two-factor sign-in: authenticator codes, their window and replay, the QR code, recovery codes.

Codes come from RFC 6238's own test vectors (SHA-1, 8 digits cut to the 6 an app shows), so
the check does not lean on the library it tests.
"""

from __future__ import annotations

import base64
import re
import time
from datetime import UTC, datetime

import pyotp
import pytest
import zxingcpp

from staff.two_factor import (
    RECOVERY_CODE_COUNT,
    hash_recovery_code,
    new_recovery_codes,
    new_secret,
    provisioning_uri,
    qr_code_svg,
    redeem_recovery_code,
    time_step,
    verify_code,
)

# RFC 6238 appendix B: the ASCII secret "12345678901234567890".
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
AT_1111111109 = "081804"  # step 37037036
AT_1111111111 = "050471"  # step 37037037
STEP_OF_1111111109 = 37037036


def test_the_code_the_app_shows_now_is_accepted_and_its_step_returned():
    assert verify_code(RFC_SECRET, AT_1111111109, None, now=1111111109) == STEP_OF_1111111109


def test_a_code_from_the_rfc_vectors_at_another_time_is_accepted():
    assert verify_code(RFC_SECRET, "005924", None, now=1234567890) == 1234567890 // 30


def test_a_wrong_code_is_refused():
    assert verify_code(RFC_SECRET, "123456", None, now=1111111109) is None


def test_the_previous_steps_code_is_accepted_for_a_phone_clock_30_seconds_behind():
    assert verify_code(RFC_SECRET, AT_1111111109, None, now=1111111109 + 30) == STEP_OF_1111111109


def test_the_next_steps_code_is_accepted_for_a_phone_clock_30_seconds_ahead():
    assert verify_code(RFC_SECRET, AT_1111111109, None, now=1111111109 - 30) == STEP_OF_1111111109


def test_a_code_two_steps_old_is_refused():
    assert verify_code(RFC_SECRET, AT_1111111109, None, now=1111111109 + 60) is None


def test_a_code_two_steps_ahead_is_refused():
    assert verify_code(RFC_SECRET, AT_1111111109, None, now=1111111109 - 60) is None


def test_a_code_accepted_once_is_refused_the_second_time():
    used = verify_code(RFC_SECRET, AT_1111111109, None, now=1111111109)

    assert verify_code(RFC_SECRET, AT_1111111109, used, now=1111111109) is None


def test_a_used_code_is_still_refused_later_while_it_is_inside_the_window():
    used = verify_code(RFC_SECRET, AT_1111111109, None, now=1111111109)

    assert verify_code(RFC_SECRET, AT_1111111109, used, now=1111111109 + 30) is None


def test_an_older_code_is_refused_once_a_newer_one_was_used():
    used = verify_code(RFC_SECRET, AT_1111111111, None, now=1111111111)

    assert verify_code(RFC_SECRET, AT_1111111109, used, now=1111111111) is None


def test_the_next_code_is_accepted_after_one_was_used():
    used = verify_code(RFC_SECRET, AT_1111111109, None, now=1111111109)

    assert verify_code(RFC_SECRET, AT_1111111111, used, now=1111111111) == used + 1


def test_a_code_typed_with_a_space_in_the_middle_is_accepted():
    assert verify_code(RFC_SECRET, " 081 804 ", None, now=1111111109) == STEP_OF_1111111109


@pytest.mark.parametrize("typed", ["", "08180", "0818045", "abcdef", "０８１８０４", "08-804"])
def test_malformed_input_is_refused_without_an_error(typed):
    assert verify_code(RFC_SECRET, typed, None, now=1111111109) is None


def test_the_time_may_be_given_as_an_aware_datetime():
    moment = datetime.fromtimestamp(1111111109, UTC)

    assert time_step(moment) == STEP_OF_1111111109
    assert verify_code(RFC_SECRET, AT_1111111109, None, now=moment) == STEP_OF_1111111109


def test_a_new_secret_is_160_random_bits_and_never_repeats():
    first, second = new_secret(), new_secret()

    assert first != second
    assert len(base64.b32decode(first)) == 20


def test_a_code_an_app_computes_from_a_new_secret_is_accepted_now():
    secret = new_secret()
    moment = time.time()
    shown_by_app = pyotp.TOTP(secret).at(moment)

    assert verify_code(secret, shown_by_app, None, now=moment) == time_step(moment)


def test_the_provisioning_uri_names_the_site_and_the_account(make_app):
    with make_app(SITE_NAME="Kyiv Ledger").app_context():
        uri = provisioning_uri(RFC_SECRET, "fiona@newsroom.test")

    assert uri.startswith("otpauth://totp/")
    parsed = pyotp.parse_uri(uri)
    assert parsed.issuer == "Kyiv Ledger"
    assert parsed.name == "fiona@newsroom.test"
    assert parsed.secret == RFC_SECRET
    assert "issuer=Kyiv%20Ledger" in uri


def _modules_of(svg: str) -> list[list[bool]]:
    """Reads segno's dark path ("M x y", "m dx dy", "h dx") back into a grid of modules."""
    size = int(re.search(r'width="(\d+)"', svg).group(1)) // 4  # drawn at scale 4
    path = re.search(r'class="qrline"[^>]*\sd="([^"]+)"', svg).group(1)
    dark = [[False] * size for _ in range(size)]
    x = y = 0.0
    for command, numbers in re.findall(r"([Mmh])([-\d. ]+)", path):
        values = [float(n) for n in numbers.split()]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        else:
            for column in range(int(x), int(x + values[0])):
                dark[int(y)][column] = True
            x += values[0]
    return dark


def _decode(svg: str, pixels_per_module: int = 8) -> str:
    rows = []
    for modules in _modules_of(svg):
        row = bytes(0 if is_dark else 255 for is_dark in modules for _ in range(pixels_per_module))
        rows.extend([row] * pixels_per_module)
    image = memoryview(b"".join(rows)).cast("B", (len(rows), len(rows[0])))
    # QR codes only: in about one image in thirty, zxing also "finds" a barcode of another kind
    # in the QR code's modules.
    (barcode,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return barcode.text


def test_the_qr_code_reads_back_as_the_provisioning_uri():
    uri = "otpauth://totp/Kyiv%20Ledger:fiona%40newsroom.test?secret=GEZDGNBV&issuer=Kyiv%20Ledger"

    assert _decode(str(qr_code_svg(uri))) == uri


def test_the_qr_code_is_inline_svg_with_no_script_and_nothing_fetched():
    svg = str(qr_code_svg("otpauth://totp/Newsroom:fiona%40newsroom.test?secret=GEZDGNBV"))

    assert svg.startswith("<svg ")
    assert svg.endswith("</svg>")
    assert "<?xml" not in svg
    assert "script" not in svg.lower()
    assert "href" not in svg
    assert "http" not in svg


def test_the_qr_code_has_a_text_alternative_for_screen_readers():
    svg = str(qr_code_svg("otpauth://totp/Newsroom:f?secret=GEZDGNBV", title="Scan me"))

    assert 'role="img"' in svg
    assert "<title>Scan me</title>" in svg


def test_ten_recovery_codes_are_made_and_only_their_hashes_are_kept():
    made = new_recovery_codes()

    assert len(made.codes) == RECOVERY_CODE_COUNT == 10
    assert len(set(made.codes)) == 10
    assert all(re.fullmatch(r"[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}", c) for c in made.codes)
    stored = " ".join(made.hashes)
    assert not any(code.replace("-", "") in stored.upper() for code in made.codes)


def test_a_recovery_code_is_accepted_once_and_leaves_the_other_nine():
    made = new_recovery_codes()

    remaining = redeem_recovery_code(made.codes[3], made.hashes)

    assert remaining is not None
    assert len(remaining) == 9
    assert hash_recovery_code(made.codes[3]) not in remaining


def test_a_spent_recovery_code_is_refused_the_second_time():
    made = new_recovery_codes()
    remaining = redeem_recovery_code(made.codes[0], made.hashes)

    assert redeem_recovery_code(made.codes[0], remaining) is None


def test_a_recovery_code_typed_in_lower_case_without_dashes_is_accepted():
    made = new_recovery_codes()
    typed = made.codes[5].replace("-", "").lower()

    assert len(redeem_recovery_code(typed, made.hashes)) == 9


def test_a_recovery_code_typed_with_spaces_for_dashes_is_accepted():
    made = new_recovery_codes()

    assert len(redeem_recovery_code(made.codes[1].replace("-", " "), made.hashes)) == 9


@pytest.mark.parametrize("typed", ["", "ABCD-EFGH", "0000-0000-0000-0000", "not a code at all!"])
def test_a_recovery_code_that_is_not_one_of_them_is_refused(typed):
    made = new_recovery_codes()

    assert redeem_recovery_code(typed, made.hashes) is None
