"""Reading import files: what the person importing a Mailchimp export or a CSV would notice."""

from __future__ import annotations

import codecs
import io
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletters.import_file import ImportFile
from newsletters.import_rows import ImportFileError, ImportKind, normalised_address
from tests.gevent_probe import run_beside_a_ticker
from tools.make_mailchimp_export import write_export

SAMPLES = Path(__file__).parent / "samples"
MAILCHIMP_HEADER = '"Email Address","OPTIN_TIME","OPTIN_IP","CONFIRM_TIME","CONFIRM_IP"\n'


def read(content: str | bytes, **options) -> tuple[ImportFile, list]:
    data = content.encode() if isinstance(content, str) else content
    with ImportFile(io.BytesIO(data), **options) as upload:
        return upload, list(upload.rows())


def refusal(content: str | bytes, **options) -> str:
    with pytest.raises(ImportFileError) as refused:
        read(content, **options)
    return str(refused.value)


# --- Mailchimp's own exports -----------------------------------------------------------------


def test_mailchimp_subscribed_sample_gives_each_reader_with_times_and_ips():
    with ImportFile(SAMPLES / "subscribed_members_export_sample.csv") as upload:
        rows = list(upload.rows())
    assert upload.kind is ImportKind.SUBSCRIBED
    assert upload.name == "subscribed_members_export_sample.csv"
    assert [row.email for row in rows] == [
        "olena.k@example.com",
        "mark.t@example.com",
        "no.confirm@example.com",
        "Mixed.Case@Example.com",
        "not-an-address",
    ]
    olena = rows[0]
    assert olena.line == 2
    assert olena.optin_time == datetime(2024, 2, 24, 8, 12, 3, tzinfo=UTC)
    assert olena.optin_ip == "203.0.113.7"
    assert olena.confirm_time == datetime(2024, 2, 24, 8, 14, 55, tzinfo=UTC)
    assert olena.confirm_ip == "203.0.113.7"
    assert olena.problem is None


def test_mailchimp_subscribed_sample_row_without_confirm_time_has_none():
    with ImportFile(SAMPLES / "subscribed_members_export_sample.csv") as upload:
        no_confirm = [row for row in upload.rows() if row.email == "no.confirm@example.com"][0]
    assert no_confirm.confirm_time is None
    assert no_confirm.optin_time == datetime(2025, 1, 10, 12, 0, tzinfo=UTC)


def test_backslashed_quotes_in_mailchimp_tags_do_not_break_the_row():
    with ImportFile(SAMPLES / "subscribed_members_export_sample.csv") as upload:
        mark = [row for row in upload.rows() if row.email == "mark.t@example.com"][0]
    assert mark.problem is None and mark.line == 3


def test_mailchimp_unsubscribed_sample_is_recognised_with_its_unsub_time():
    with ImportFile(SAMPLES / "unsubscribed_members_export_sample.csv") as upload:
        rows = list(upload.rows())
    assert upload.kind is ImportKind.UNSUBSCRIBED and upload.kind.suppresses
    assert [(row.line, row.email) for row in rows] == [(2, "left.us@example.com")]
    assert rows[0].left_at == datetime(2024, 8, 8, 8, 8, 8, tzinfo=UTC)


def test_mailchimp_cleaned_sample_is_recognised_with_its_clean_time():
    with ImportFile(SAMPLES / "cleaned_members_export_sample.csv") as upload:
        rows = list(upload.rows())
    assert upload.kind is ImportKind.CLEANED and upload.kind.suppresses
    assert rows[0].email == "bounced.away@example.com"
    assert rows[0].left_at == datetime(2024, 9, 9, 9, 9, 9, tzinfo=UTC)


def test_mailchimp_columns_are_found_whatever_their_case_spaces_and_order():
    upload, rows = read(
        " confirm_time ,Email address,Optin_IP, OPTIN_TIME,confirm_ip\n"
        "2024-02-24 08:14:55,a@example.com,,,\n"
    )
    assert upload.kind is ImportKind.SUBSCRIBED
    assert rows[0].email == "a@example.com"
    assert rows[0].confirm_time == datetime(2024, 2, 24, 8, 14, 55, tzinfo=UTC)


def test_mailchimp_file_missing_a_confirmation_column_is_read_as_a_plain_list():
    upload, rows = read("Email Address,OPTIN_TIME,CONFIRM_TIME\na@example.com,,2024-01-01\n")
    assert upload.kind is ImportKind.GENERIC
    assert rows[0].confirm_time is None


def test_times_with_a_zone_are_turned_into_utc():
    _, rows = read(MAILCHIMP_HEADER + "a@example.com,,,2024-02-24T10:14:55+02:00,\n")
    assert rows[0].confirm_time == datetime(2024, 2, 24, 8, 14, 55, tzinfo=UTC)


def test_unreadable_confirm_time_makes_the_row_unusable_with_the_reason():
    _, rows = read(MAILCHIMP_HEADER + "a@example.com,,,24/02/2024 08:14,\n")
    assert rows[0].problem == (
        "CONFIRM_TIME '24/02/2024 08:14' is not a time like 2024-02-24 08:12:03 (UTC)"
    )


def test_unreadable_optin_ip_makes_the_row_unusable_with_the_reason():
    _, rows = read(MAILCHIMP_HEADER + "a@example.com,,10.0.0.999,,\n")
    assert rows[0].problem == "OPTIN_IP '10.0.0.999' is not an IP address"


def test_ip_addresses_are_kept_in_their_canonical_form():
    _, rows = read(MAILCHIMP_HEADER + "a@example.com,,2001:DB8:0::1,,192.0.2.1\n")
    assert (rows[0].optin_ip, rows[0].confirm_ip) == ("2001:db8::1", "192.0.2.1")


def test_unreadable_unsub_time_still_gives_the_address_to_suppress():
    _, rows = read('"Email Address","UNSUB_TIME"\n"left@example.com","yesterday"\n')
    assert rows[0].problem is None and rows[0].left_at is None


def test_unsub_time_without_mailchimps_address_column_is_refused():
    message = refusal("email,UNSUB_TIME\nleft@example.com,2024-01-01 00:00:00\n")
    assert "UNSUB_TIME" in message and "Email Address" in message


# --- any other CSV -----------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["email", "Email", " EMAIL ", "E-mail", "email_address"])
def test_csv_with_an_email_column_is_a_plain_list(column):
    upload, rows = read(f"name,{column}\nAnn,ann@example.com\n")
    assert upload.kind is ImportKind.GENERIC
    assert [(row.line, row.email, row.confirm_time) for row in rows] == [
        (2, "ann@example.com", None)
    ]


def test_csv_without_an_email_column_is_refused_naming_the_columns_found():
    message = refusal("name,address,phone\nAnn,1 Main St,555\n")
    assert '"name", "address", "phone"' in message
    assert '"email"' in message


def test_csv_with_two_address_columns_is_refused():
    assert "Several columns" in refusal("email,E-mail\na@example.com,b@example.com\n")


def test_empty_file_is_refused():
    assert refusal(b"") == "The file is empty."


def test_file_of_blank_lines_is_refused_for_want_of_a_header():
    assert "no header" in refusal("\n\n  \n")


def test_header_alone_gives_no_rows():
    upload, rows = read("email\n")
    assert (upload.row_count, rows) == (0, [])


def test_surrounding_spaces_of_an_address_are_dropped():
    _, rows = read('email\n"  a@example.com "\n')
    assert rows[0].email == "a@example.com"


def test_row_without_an_address_is_unusable():
    _, rows = read("email,name\n,Ann\n")
    assert (rows[0].line, rows[0].problem) == (2, "no address")


def test_row_with_the_wrong_number_of_fields_is_unusable():
    _, rows = read("email,name\na@example.com,Ann,extra\nb@example.com\n")
    assert [row.problem for row in rows] == [
        "the row has 3 fields where the header has 2",
        "the row has 1 fields where the header has 2",
    ]
    assert rows[0].email == "a@example.com"


def test_blank_lines_and_rows_of_empty_fields_are_no_rows():
    upload, rows = read("email,name\n\na@example.com,Ann\n,\n  \nb@example.com,Bo\n,\n")
    assert upload.row_count == 2
    assert [(row.line, row.email) for row in rows] == [(3, "a@example.com"), (6, "b@example.com")]


# --- separators, quotes and lines -------------------------------------------------------------


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_separator_is_taken_from_the_header_line(separator):
    upload, rows = read(f"name{separator}email\n" + f'"Doe, Jane"{separator}j@example.com\n')
    assert upload.delimiter == separator
    assert rows[0].email == "j@example.com"


def test_separator_inside_quoted_header_names_does_not_count():
    upload, _ = read('"Email; primary",email,"a;b;c"\nx,a@example.com,y\n')
    assert upload.delimiter == ","


def test_doubled_quotes_inside_a_field_are_read_as_one_quote():
    upload, rows = read('email,note\na@example.com,"she said ""yes"""\n')
    assert rows[0].problem is None


def test_line_numbers_count_the_line_breaks_inside_quoted_fields():
    _, rows = read('email,note\na@example.com,"one\ntwo\nthree"\nb@example.com,x\n')
    assert [(row.line, row.email) for row in rows] == [(2, "a@example.com"), (5, "b@example.com")]


@pytest.mark.parametrize("ending", ["\r\n", "\r"])
def test_line_numbers_follow_crlf_and_cr_line_endings(ending):
    lines = ["email,note", "a@example.com,x", 'b@example.com,"two', 'lines"', "", "c@example.com,y"]
    _, rows = read(ending.join(lines) + ending)
    assert [row.line for row in rows] == [2, 3, 6]


def test_quote_left_open_at_the_end_is_refused_with_its_line():
    message = refusal('email,note\na@example.com,x\nb@example.com,"never closed\nc@example.com,y\n')
    assert message == "The row starting on line 3 opens a quote that is never closed."


def test_quote_left_open_over_a_long_stretch_is_refused_with_its_line():
    body = "".join(f"r{n}@example.com,x\n" for n in range(12_000))
    message = refusal(f'email,note\na@example.com,"oops\n{body}')
    assert message.startswith("Line 2 cannot be read as CSV")


# --- encodings --------------------------------------------------------------------------------


def test_utf8_with_byte_order_mark_finds_the_first_column():
    upload, rows = read(codecs.BOM_UTF8 + "Email,name\nолена@приклад.укр,Олена\n".encode())
    assert upload.kind is ImportKind.GENERIC
    assert rows[0].email == "олена@приклад.укр"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_byte_order_mark_are_read(codec):
    text = "\ufeffemail;name\r\nолена@приклад.укр;Олена\r\n"
    data = text.encode(codec) if codec.endswith(("le", "be")) else text[1:].encode(codec)
    upload, rows = read(data)
    assert (upload.delimiter, rows[0].email, rows[0].line) == (";", "олена@приклад.укр", 2)


def test_utf16_without_byte_order_mark_is_refused_unless_named():
    data = "email\nолена@приклад.укр\n".encode("utf-16-le")
    assert "UTF-16 without a byte-order mark" in refusal(data)
    _, rows = read(data, encoding="utf-16-le")
    assert rows[0].email == "олена@приклад.укр"


def test_windows_1251_file_is_refused_with_the_line_of_the_first_bad_byte():
    data = "email,name\na@example.com,Ann\nb@example.com,Петро\n".encode("cp1251")
    message = refusal(data)
    assert message.startswith("The file is not UTF-8: line 3 holds the bytes 0xCF")
    assert "cp1251" in message and "CSV UTF-8" in message


def test_windows_1251_file_is_read_when_its_encoding_is_named():
    data = "email,name\nпетро@приклад.укр,Петро\n".encode("cp1251")
    _, rows = read(data, encoding="cp1251")
    assert rows[0].email == "петро@приклад.укр"


def test_bad_byte_deep_in_a_large_file_is_refused_before_any_row_is_given():
    good = "".join(f"r{n}@example.com,x\n" for n in range(200_000))
    data = ("email,note\n" + good).encode() + "z@example.com,Zoë\n".encode("cp1252")
    message = refusal(data)
    assert message.startswith("The file is not UTF-8: line 200002 holds the bytes 0xEB")


def test_bad_byte_after_crlf_split_across_chunks_is_placed_on_its_line():
    # CR ends one read chunk and LF starts the next: still one line break
    head = "email\r\n" + "a" * (1024 * 1024 - len("email\r\n") - 1) + "\r\n"
    data = head.encode() + b"b\xff@example.com\r\n"
    assert "line 3 holds the bytes 0xFF" in refusal(data)


def test_cp1252_file_with_a_byte_cp1252_lacks_is_refused_as_not_that_encoding():
    message = refusal(b"email\na\x81@example.com\n", encoding="cp1252")
    assert message == "The file is not valid cp1252: line 2 holds the bytes 0x81."


def test_unknown_encoding_name_is_refused():
    assert refusal("email\n", encoding="klingon") == "Unknown encoding 'klingon'."


def test_naming_utf8_for_a_file_with_a_byte_order_mark_skips_the_mark():
    upload, rows = read(codecs.BOM_UTF8 + b"email\na@example.com\n", encoding="utf-8")
    assert upload.kind is ImportKind.GENERIC and rows[0].line == 2


def test_nul_inside_a_line_is_refused():
    message = refusal("email\na@example.com\nb\x00@example.com\n", encoding="utf-8")
    assert message.startswith("Line 3 holds a NUL character")


# --- sources ----------------------------------------------------------------------------------


def test_stream_that_cannot_seek_is_read_whole_first(tmp_path):
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "wb") as writer:
        writer.write(b"email\na@example.com\n")
    with os.fdopen(read_end, "rb") as pipe, ImportFile(pipe, name="upload.csv") as upload:
        rows = list(upload.rows())
    assert (upload.name, rows[0].email) == ("upload.csv", "a@example.com")


def test_rows_can_be_read_again():
    with ImportFile(io.BytesIO(b"email\na@example.com\n")) as upload:
        assert list(upload.rows()) == list(upload.rows())


def test_path_is_closed_when_the_file_is_refused(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name\nAnn\n")
    open_before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        with pytest.raises(ImportFileError):
            ImportFile(path)
    assert len(os.listdir("/proc/self/fd")) == open_before


def test_path_is_closed_when_the_import_file_is_closed(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("email\na@example.com\n")
    open_before = len(os.listdir("/proc/self/fd"))
    with ImportFile(path) as upload:
        list(upload.rows())
        assert len(os.listdir("/proc/self/fd")) == open_before + 1
    assert len(os.listdir("/proc/self/fd")) == open_before


# --- generated exports ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"kind": "subscribed"},
        {"kind": "subscribed", "encoding": "utf-8", "bom": True, "line_ending": "\r\n"},
        {"kind": "subscribed", "encoding": "utf-16", "delimiter": "\t"},
        {"kind": "unsubscribed", "encoding": "cp1251", "delimiter": ";"},
        {"kind": "cleaned", "encoding": "utf-16-be", "bom": True},
    ],
    ids=["utf8", "utf8-bom-crlf", "utf16-tab", "cp1251-semicolon", "utf16be-cleaned"],
)
def test_generated_export_rows_and_unusable_lines_are_exactly_those_written(tmp_path, options):
    path = tmp_path / "export.csv"
    manifest = write_export(
        path, rows=3000, bad_every=37, repeat_every=41, newline_every=7, **options
    )
    named = options.get("encoding") if options.get("encoding") == "cp1251" else None
    with ImportFile(path, encoding=named) as upload:
        rows = list(upload.rows())
    assert upload.kind == options["kind"]
    assert upload.row_count == len(rows) == manifest.rows
    assert [row.line for row in rows if row.problem] == manifest.reader_problems
    assert manifest.lines > manifest.rows + 1  # rows with line breaks inside were written


def test_generated_cp1251_export_is_refused_unless_its_encoding_is_named(tmp_path):
    path = tmp_path / "export.csv"
    write_export(path, rows=50, encoding="cp1251")
    with pytest.raises(ImportFileError, match="not UTF-8"):
        ImportFile(path)


# --- addresses --------------------------------------------------------------------------------


def test_address_helper_normalises_as_signups_do():
    assert normalised_address("Mixed.Case@Example.COM") == "Mixed.Case@example.com"


@pytest.mark.parametrize("raw", ["not-an-address", "Joe <joe@example.com>", "a@b"])
def test_address_helper_refuses_what_signups_refuse(raw):
    with pytest.raises(ValueError):
        normalised_address(raw)


def test_a_big_file_read_in_a_gevent_worker_lets_its_other_requests_run():
    # The check pass and the rows of 300,000 lines took ~0.6 s here without a pause, all of it
    # with the worker's other requests waiting; with them, the longest wait was ~9 ms.
    read = run_beside_a_ticker(
        setup="""
import io
from newsletters.import_file import ImportFile

rows = "".join(f"reader{n}@example.com,Name{n}\\n" for n in range(300_000))
data = ("Email Address,First Name\\n" + rows).encode()
""",
        work="""
with ImportFile(io.BytesIO(data), name="big.csv") as upload:
    result["rows"] = sum(1 for _ in upload.rows())
""",
    )
    assert read["rows"] == 300_000
    assert read["longest_wait"] < read["took"] / 6, read  # relative: a busy machine slows both
