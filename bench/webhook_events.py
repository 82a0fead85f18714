"""Signed Stripe events a second through POST /stripe/webhook, and the counter right at the end.

Used by bench/run.py against its gunicorn server; alone:
  .venv/bin/python bench/webhook_events.py --url http://127.0.0.1:8102 --database-url … \
      --price price_bench_member --tier member

A realistic mix for `--readers` new members, each a Stripe customer joining through checkout:
checkout.session.completed, customer.subscription.created, invoice.paid; one in ten later
cancels (customer.subscription.deleted), one in ten falls past due and recovers
(customer.subscription.updated twice). One event in eight is delivered twice, as Stripe does
after a timeout. The events come from Stripe's published shapes (tests/stripe_fixtures, via
tests/stripe_helpers.py), signed with stripe.WebhookSignature, sent in shuffled order by
`--connections` keep-alive connections at once, so a reader's events may arrive out of order,
as they can from Stripe. Every answer must be 200. At the end the public count (GET /api/goal,
after its cache has expired) must equal the members counted exactly in the database, and
the members there before plus the new ones that did not cancel.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.stripe_helpers import (  # noqa: E402 (the project's root, added above)
    checkout_session,
    invoice,
    make_event,
    signed,
    subscription,
)

COUNT_EXACTLY = """
SELECT count(DISTINCT customer_id) FROM member_subscriptions
WHERE status IN ('active', 'trialing', 'past_due') AND tier_id IS NOT NULL AND NOT deleted
"""


def reader_events(number: int, price: str, tier: str, start: int) -> tuple[list[dict], bool]:
    """One reader's events, and whether they are a member at the end."""
    customer, sub_id = f"cus_wh_{start}_{number}", f"sub_wh_{start}_{number}"
    email = f"member{number}-{start}@example.com"
    at = start + number
    events = [
        make_event(
            "checkout.session.completed",
            checkout_session(
                f"cs_wh_{start}_{number}",
                customer=customer,
                subscription_id=sub_id,
                email=email,
                tier_slug=tier,
            ),
            created=at,
        ),
        make_event(
            "customer.subscription.created",
            subscription(sub_id, customer, price=price, email=email),
            created=at + 1,
        ),
        make_event(
            "invoice.paid",
            invoice(
                f"in_wh_{start}_{number}", subscription_id=sub_id, customer=customer, tier_slug=tier
            ),
            created=at + 2,
        ),
    ]
    member = True
    if number % 10 == 3:
        events.append(
            make_event(
                "customer.subscription.deleted",
                subscription(sub_id, customer, price=price, status="canceled", email=email),
                created=at + 3,
            )
        )
        member = False
    elif number % 10 == 7:
        for offset, status in ((3, "past_due"), (4, "active")):
            events.append(
                make_event(
                    "customer.subscription.updated",
                    subscription(sub_id, customer, price=price, status=status, email=email),
                    created=at + offset,
                )
            )
    return events, member


def build_deliveries(readers: int, price: str, tier: str) -> tuple[list[tuple[str, str]], int]:
    """(body, Stripe-Signature) for every delivery, shuffled; and the new members expected."""
    start = int(time.time())
    deliveries, members = [], 0
    for number in range(readers):
        events, member = reader_events(number, price, tier, start)
        members += member
        for event in events:
            delivery = signed(event)
            deliveries.append(delivery)
            if random.random() < 1 / 8:
                deliveries.append(delivery)  # Stripe delivers again after a timeout
    random.shuffle(deliveries)
    return deliveries, members


def send_all(url: str, deliveries: list[tuple[str, str]], connections: int) -> tuple[float, dict]:
    """Seconds to have every delivery answered, and the answers' statuses.

    `connections` keep-alive connections in one asyncio loop, each sending a prepared request
    and reading its whole answer before the next: the sender shares the machine's cores with
    the server, and http.client in threads took ~300 µs of CPU an event (a sixth of the
    server's), where this takes under a third of that (bench/results.md).
    """
    return asyncio.run(_send_all(urlsplit(url), deliveries, connections))


async def _send_all(target, deliveries, connections: int) -> tuple[float, dict]:
    host = f"{target.hostname}:{target.port}"
    requests = [_request_bytes(host, body, signature) for body, signature in deliveries]
    pending = iter(requests)
    statuses: dict[int, int] = {}

    async def sender() -> None:
        reader, writer = await asyncio.open_connection(target.hostname, target.port)
        try:
            for request in pending:  # one iterator shared by all: each request sent once
                writer.write(request)
                status = await _read_answer(reader)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(connections)))
    return time.perf_counter() - started, statuses


def _request_bytes(host: str, body: str, signature: str) -> bytes:
    payload = body.encode()
    head = (
        f"POST /stripe/webhook HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/json\r\nStripe-Signature: {signature}\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _read_answer(reader: asyncio.StreamReader) -> int:
    """The answer's status; its body read and dropped (the connection stays usable)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


def public_count(url: str) -> int:
    with urllib.request.urlopen(f"{url}/api/goal", timeout=10) as answer:
        return json.load(answer)["members"]


def run(url: str, database_url: str, *, readers: int, connections: int, price: str, tier: str):
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        before = connection.execute(COUNT_EXACTLY).fetchone()[0]
    deliveries, new_members = build_deliveries(readers, price, tier)
    seconds, statuses = send_all(url, deliveries, connections)
    time.sleep(2.5)  # every worker's copy of the figures (GOAL_CACHE_SECONDS=2) has expired
    with psycopg.connect(dsn) as connection:
        exactly = connection.execute(COUNT_EXACTLY).fetchone()[0]
    shown = public_count(url)
    return {
        "events": len(deliveries),
        "seconds": seconds,
        "rate": len(deliveries) / seconds,
        "statuses": statuses,
        "before": before,
        "expected": before + new_members,
        "exactly": exactly,
        "shown": shown,
        "right": statuses == {200: len(deliveries)} and shown == exactly == before + new_members,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--readers", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--price", required=True)
    parser.add_argument("--tier", required=True)
    args = parser.parse_args()
    result = run(
        args.url,
        args.database_url,
        readers=args.readers,
        connections=args.connections,
        price=args.price,
        tier=args.tier,
    )
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["right"] else 1)


if __name__ == "__main__":
    main()
