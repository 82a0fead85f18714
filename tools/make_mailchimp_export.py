"""Write Mailchimp-shaped audience exports of any size, for tests and benchmarks.

    .venv/bin/python tools/make_mailchimp_export.py /tmp/subscribed.csv --rows 1000000
    .venv/bin/python tools/make_mailchimp_export.py /tmp/left.csv --kind unsubscribed \
        --encoding cp1251 --delimiter ';' --bad-every 50 --newline-every 20

Columns as Mailchimp writes them (../shared/fixtures/mailchimp/README.md): merge fields, an
interest-group column with commas inside, the fixed columns, UNSUB_*/CLEAN_* for those kinds,
every field quoted. Rows are written one at a time (constant memory). Optional oddities: bad
rows of several sorts, repeated addresses, notes with line breaks inside quotes, another
encoding, a byte-order mark, `;` or tab separators. The returned Manifest says what a correct
reader and importer must find: which physical lines are unusable and how many addresses are new.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import json
import random
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

MERGE = ["Email Address", "First Name", "Last Name", "Newsletters"]
FIXED = ["MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP"]
LEFT = {
    "subscribed": [],
    "unsubscribed": [
        "UNSUB_TIME",
        "UNSUB_CAMPAIGN_TITLE",
        "UNSUB_CAMPAIGN_ID",
        "UNSUB_REASON",
        "UNSUB_REASON_OTHER",
    ],
    "cleaned": ["CLEAN_TIME", "CLEAN_CAMPAIGN_TITLE", "CLEAN_CAMPAIGN_ID"],
}
TRAILING = ["LATITUDE", "LONGITUDE", "GMTOFF", "DSTOFF", "TIMEZONE", "CC", "REGION"]
TRAILING += ["LAST_CHANGED", "LEID", "EUID", "NOTES", "TAGS"]
NAMES = ["Olena", "Петро", "Оксана", "Mark", "José", "Zoë", "Ярослава", "Ann", "Łukasz"]
GROUPS = ["Weekly", "Explaining Ukraine, Weekly", "Explaining Ukraine", ""]
# Unusable rows, in turn: the reader reports the first three, the importer the fourth.
BAD_SORTS = ("no address", "bad time", "wrong width", "invalid address")


@dataclass
class Manifest:
    rows: int = 0  # records after the header
    lines: int = 1  # physical lines, the header's included
    usable: int = 0  # rows the importer takes in: valid, first time in the file
    confirmed: int = 0  # of those, rows with a CONFIRM_TIME
    repeated: int = 0  # valid rows repeating an earlier address (another case)
    reader_problems: list[int] = field(default_factory=list)  # lines the reader refuses
    invalid_addresses: list[int] = field(default_factory=list)  # lines the importer refuses
    first_address: str = ""


def columns(kind: str) -> list[str]:
    return MERGE + FIXED + LEFT[kind] + TRAILING


def _physical_breaks(value: str) -> int:
    return value.count("\n") + value.count("\r") - value.count("\r\n")


def write_export(
    path: str | Path,
    kind: str = "subscribed",
    rows: int = 1000,
    *,
    encoding: str = "utf-8",
    bom: bool = False,
    delimiter: str = ",",
    line_ending: str = "\n",
    bad_every: int = 0,
    repeat_every: int = 0,
    newline_every: int = 0,
    seed: int = 0,
    domain: str = "example.com",
) -> Manifest:
    """Write the file and say what is in it. bad_every=N: every Nth row is unusable (the sorts
    in BAD_SORTS in turn); repeat_every: every Nth row repeats an earlier address in upper case;
    newline_every: every Nth row has a two-line note."""
    header = columns(kind)
    width = len(header)
    names = [name for name in NAMES if _encodable(name, encoding)]
    randomness = random.Random(seed)
    epoch = datetime(2019, 1, 1, tzinfo=UTC)
    manifest = Manifest()
    with open(path, "w", encoding=encoding, newline="") as out:
        if bom and codecs.lookup(encoding).name not in ("utf-8-sig", "utf-16", "utf-32"):
            out.write("\ufeff")  # those three write their mark by themselves
        writer = csv.writer(
            out, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator=line_ending
        )
        writer.writerow(header)
        bad_seen = 0
        for number in range(1, rows + 1):
            address = f"reader{number:07d}@{domain}"
            if number == 1:
                manifest.first_address = address
            optin = epoch + timedelta(seconds=randomness.randrange(150_000_000))
            confirmed = kind != "subscribed" or randomness.random() < 0.8
            confirm = optin + timedelta(seconds=randomness.randrange(30, 3600))
            left = confirm + timedelta(days=randomness.randrange(1, 300))
            record = {
                "Email Address": address,
                "First Name": randomness.choice(names),
                "Last Name": "",
                "Newsletters": randomness.choice(GROUPS),
                "MEMBER_RATING": str(randomness.randrange(1, 6)),
                "OPTIN_TIME": _mailchimp_time(optin) if number % 3 else "",
                "OPTIN_IP": f"198.51.100.{number % 250 + 1}" if number % 3 else "",
                "CONFIRM_TIME": _mailchimp_time(confirm) if confirmed else "",
                "CONFIRM_IP": f"2001:db8::{number % 9999 + 1}" if confirmed else "",
                "UNSUB_TIME": _mailchimp_time(left),
                "UNSUB_CAMPAIGN_TITLE": "Weekly 2024-08-08",
                "UNSUB_CAMPAIGN_ID": "abc123",
                "UNSUB_REASON": "NORMAL",
                "CLEAN_TIME": _mailchimp_time(left),
                "CLEAN_CAMPAIGN_TITLE": "Weekly 2024-09-09",
                "CLEAN_CAMPAIGN_ID": "def456",
                "LATITUDE": "50.4501",
                "LONGITUDE": "30.5234",
                "TIMEZONE": "Europe/Kyiv",
                "CC": "UA",
                "LAST_CHANGED": _mailchimp_time(left),
                "LEID": str(number),
                "EUID": f"{number:010x}",
                "TAGS": '"reader"' if number % 2 else "",
            }
            if newline_every and number % newline_every == 0:
                record["NOTES"] = "Met at the book fair;\nasked for the weekly"
            sort = None
            if bad_every and number % bad_every == 0:
                sort = BAD_SORTS[bad_seen % len(BAD_SORTS)]
                bad_seen += 1
                if sort == "bad time" and kind != "subscribed":
                    sort = "invalid address"  # only the subscribed export's times are evidence
                if sort == "no address":
                    record["Email Address"] = "  "
                elif sort == "bad time":
                    record["CONFIRM_TIME"] = confirm.strftime("%d/%m/%Y %H:%M")
                elif sort == "invalid address":
                    record["Email Address"] = f"reader {number} at {domain}"
            elif repeat_every and number % repeat_every == 0 and number > 1:
                record["Email Address"] = f"READER{number // 2:07d}@{domain.upper()}"
                sort = "repeated"
            values = [record.get(column, "") for column in header]
            if sort == "wrong width":
                values = values[: width - 1]
            line = manifest.lines + 1
            writer.writerow(values)
            manifest.rows += 1
            manifest.lines += 1 + sum(_physical_breaks(value) for value in values)
            if sort in ("no address", "bad time", "wrong width"):
                manifest.reader_problems.append(line)
            elif sort == "invalid address":
                manifest.invalid_addresses.append(line)
            elif sort == "repeated" and _was_usable(number // 2, bad_every, repeat_every):
                manifest.repeated += 1
            else:
                manifest.usable += 1
                manifest.confirmed += bool(record["CONFIRM_TIME"])
    return manifest


def _was_usable(number: int, bad_every: int, repeat_every: int) -> bool:
    """Whether row `number` was written with its own valid address (so repeating it repeats)."""
    if bad_every and number % bad_every == 0:
        return False
    return not (repeat_every and number % repeat_every == 0 and number > 1)


def _mailchimp_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path")
    parser.add_argument("--kind", choices=sorted(LEFT), default="subscribed")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--encoding", default="utf-8")
    parser.add_argument("--bom", action="store_true", help="start with a byte-order mark")
    parser.add_argument("--delimiter", default=",", help="',' ';' or 'tab'")
    parser.add_argument("--crlf", action="store_true", help="end lines with CR LF")
    parser.add_argument("--bad-every", type=int, default=0)
    parser.add_argument("--repeat-every", type=int, default=0)
    parser.add_argument("--newline-every", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    manifest = write_export(
        arguments.path,
        arguments.kind,
        arguments.rows,
        encoding=arguments.encoding,
        bom=arguments.bom,
        delimiter="\t" if arguments.delimiter == "tab" else arguments.delimiter,
        line_ending="\r\n" if arguments.crlf else "\n",
        bad_every=arguments.bad_every,
        repeat_every=arguments.repeat_every,
        newline_every=arguments.newline_every,
        seed=arguments.seed,
    )
    summary = asdict(manifest)
    for key in ("reader_problems", "invalid_addresses"):
        summary[key] = len(summary[key])
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
