"""Outbox throughput: one `outbox work` process against a bare send loop, on the same SMTP sink.

    .venv/bin/python bench/outbox_throughput.py \
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/nl_p2mailer_bench] \
        [--messages 20000] [--rounds 3] [--connections 4] [--batch-size 500] \
        [--sink-processes 2] [--campaign 100000] [--results bench/results.md]

Each round queues a campaign of --messages readers with queue_for_recipients (one INSERT …
SELECT), then runs, in interleaved order:
- the worker: one process, as `outbox work --once` runs (configured_worker().run_pass()), with
  a campaign renderer registered as the campaigns package does: the Markdown body rendered and
  sanitised once per batch, each reader's own signed unsubscribe and preferences links and
  footer per message, every message built and sent over --connections SMTP connections;
- the bare loop: one process, --connections threads with smtplib sending one prebuilt message
  of the same size over and over, pipelined the same way (no database, no rendering).
The sink is aiosmtpd offering PIPELINING (as Postfix does), run as --sink-processes processes
listening on one port (SO_REUSEPORT), so that a single asyncio loop is not the limit. Figures
are medians of the rounds. --campaign N then sends one N-reader campaign and samples the
worker's resident memory every 0.2 s (start, peak, end). --results writes the figures into
that file's outbox section. The database must be a scratch one (its outbox is emptied).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BENCH_KIND = "bench_issue"
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/nl_p2mailer_bench"
ISSUE = """\
# The Morning Briefing

Good morning. The city council met late into the evening and approved next year's budget,
including the repairs to the river bridge that readers wrote to us about in the spring.

## What else happened

- The library extends its opening hours on weekdays from Monday.
- Tram line 4 runs every eight minutes again after the works on the main square.
- Our reporter spent a week with the night shift at the central hospital:
  [read the story](https://newsroom.example/stories/night-shift).

> "We had not expected so many letters," the council's chair told us.

Thank you for reading. Tell us what you think by replying to this message.
"""


def _settings(database_url: str, smtp_url: str, connections: int) -> dict:
    return {
        "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 4},
        "SMTP_URL": smtp_url,
        "MAIL_FROM": "newsletters@newsroom.test",
        "BASE_URL": "https://newsroom.test",
        "OUTBOX_SMTP_CONNECTIONS": connections,
    }


def render_issue(rows):
    """What the campaigns package registers: the body once per batch, the reader's parts each."""
    from campaigns.content import render
    from mailer.rendering import RenderedMail, list_headers
    from newsletters.links import preferences_url, unsubscribe_url

    body = render(ISSUE)
    rendered = []
    for row in rows:
        leave = unsubscribe_url(row.subscriber_id, ["morning-briefing"])
        choose = preferences_url(row.subscriber_id)
        why = "You get this because you subscribed to The Morning Briefing at newsroom.test."
        rendered.append(
            RenderedMail(
                subject="The Morning Briefing: 30 November",
                text_body=f"{body.text}\n--\n{why}\nUnsubscribe: {leave}\n"
                f"Preferences: {choose}\nThe Newsroom, 1 Example Street\n",
                html_body=f"<!DOCTYPE html><html lang='en'><body>{body.html}<hr><p>{why} "
                f'<a href="{leave}">Unsubscribe</a> · <a href="{choose}">Preferences</a></p>'
                "<p>The Newsroom, 1 Example Street</p></body></html>",
                headers=list_headers('"The Morning Briefing" <morning.newsroom.test>', leave),
            )
        )
    return rendered


# --- the sink --------------------------------------------------------------------------------


def _run_sink(port: int, accepted, ready) -> None:
    import asyncio
    import socket

    from aiosmtpd.smtp import SMTP

    class Sink:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            session.host_name = hostname
            responses.insert(-1, "250-PIPELINING")
            return responses

        async def handle_DATA(self, server, session, envelope):
            with accepted.get_lock():
                accepted.value += 1
            return "250 OK"

    # IPPROTO_TCP named, or asyncio leaves Nagle on for accepted sockets (40 ms a reply)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(256)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Sink()
    loop.run_until_complete(
        loop.create_server(lambda: SMTP(handler, hostname="sink", loop=loop), sock=listener)
    )
    ready.release()
    loop.run_forever()


# --- the two senders -------------------------------------------------------------------------


def _run_worker(database_url, smtp_url, connections, batch_size, start, results) -> None:
    from app import create_app
    from mailer.rendering import register_renderer
    from mailer.worker import deliver_due

    app = create_app(_settings(database_url, smtp_url, connections))
    register_renderer(BENCH_KIND, render_issue)
    with app.app_context():
        start.wait()
        began, cpu = time.perf_counter(), time.process_time()
        result = deliver_due(batch_size=batch_size)
        results.put((result.sent, time.perf_counter() - began, time.process_time() - cpu))


def _run_bare(port: int, connections: int, count: int, data: bytes, start, results) -> None:
    import smtplib
    import socket

    envelope = b"MAIL FROM:<newsletters@newsroom.test>\r\nRCPT TO:<reader@example.com>\r\nDATA\r\n"
    stuffed = data.replace(b"\r\n.", b"\r\n..") + b".\r\n"
    shares = [count // connections + (n < count % connections) for n in range(connections)]
    sessions = []
    for _ in range(connections):
        smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="bench")
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        smtp.ehlo()
        sessions.append(smtp)

    def send(smtp: smtplib.SMTP, share: int) -> None:
        smtp.send(envelope)
        for left in range(share - 1, -1, -1):
            codes = [smtp.getreply()[0] for _ in range(3)]
            smtp.send(stuffed + (envelope if left else b""))
            codes.append(smtp.getreply()[0])
            assert codes == [250, 250, 354, 250], codes

    start.wait()
    began, cpu = time.perf_counter(), time.process_time()
    threads = [
        threading.Thread(target=send, args=pair) for pair in zip(sessions, shares, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((count, time.perf_counter() - began, time.process_time() - cpu))
    for smtp in sessions:
        smtp.quit()


# --- one run of each -------------------------------------------------------------------------


def _queue_campaign(app, count: int, campaign_id: int) -> bytes:
    """count readers queued in one statement; returns one such message's bytes, as built."""
    from sqlalchemy import func, literal, select, text

    from database import utcnow
    from extensions import db
    from mailer.campaign_outbox import queue_for_recipients
    from mailer.message import build_message
    from mailer.models import OutboxMessage
    from mailer.rendering import QueuedMail, render_rows
    from mailer.services import from_identity

    with app.app_context():
        db.create_all()
        foreign = db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind != BENCH_KIND)
        )
        if foreign:
            sys.exit(f"the outbox holds {foreign} rows of its own: use a scratch database")
        db.session.execute(text("TRUNCATE outbox RESTART IDENTITY"))
        readers = select(func.generate_series(1, count).label("n")).subquery()
        recipients = select(
            readers.c.n.label("subscriber_id"),
            (literal("reader") + func.cast(readers.c.n, db.String) + "@example.com").label(
                "to_addr"
            ),
            literal(None, db.String).label("language"),
        )
        queued = queue_for_recipients(BENCH_KIND, campaign_id, recipients)
        db.session.commit()
        assert queued == count, (queued, count)
        sample = QueuedMail(
            1, BENCH_KIND, "reader1@example.com", None, None, campaign_id, 1, utcnow()
        )
        (mail,) = render_rows([sample])
        data = build_message(mail, from_identity(), smtputf8=False).data
        db.session.remove()
        return data


def _measure(target, args, context, *, sample_rss: bool = False):
    start, results = context.Event(), context.Queue()
    process = context.Process(target=target, args=(*args, start, results))
    process.start()
    time.sleep(3)  # imports, connections: before the clock starts
    samples = []
    start.set()
    while process.is_alive() and results.empty():
        if sample_rss:
            samples.append(_rss_kib(process.pid))
        time.sleep(0.2)
    outcome = results.get()
    if sample_rss:
        samples.append(_rss_kib(process.pid))
    process.join()
    return outcome, samples


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--sink-processes", type=int, default=2)
    parser.add_argument("--campaign", type=int, default=0)
    parser.add_argument("--results")
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        sys.exit("the benchmark queues with PostgreSQL's generate_series: give a PostgreSQL URL")

    from app import create_app
    from mailer.rendering import register_renderer
    from tests.conftest import free_port

    port = free_port()
    smtp_url = f"smtp://127.0.0.1:{port}"
    context = multiprocessing.get_context("spawn")
    accepted, ready = context.Value("q", 0), context.Semaphore(0)
    sinks = [
        context.Process(target=_run_sink, args=(port, accepted, ready), daemon=True)
        for _ in range(args.sink_processes)
    ]
    for sink in sinks:
        sink.start()
    for _ in sinks:
        ready.acquire()
    app = create_app(_settings(args.database_url, smtp_url, args.connections))
    register_renderer(BENCH_KIND, render_issue)

    load_before = os.getloadavg()[0]
    worker_rates, bare_rates, worker_cpu, bare_cpu = [], [], [], []
    for round_number in range(1, args.rounds + 1):
        data = _queue_campaign(app, args.messages, round_number)
        before = accepted.value
        (sent, elapsed, cpu), _ = _measure(
            _run_worker,
            (args.database_url, smtp_url, args.connections, args.batch_size),
            context,
        )
        if sent != args.messages or accepted.value - before != args.messages:
            sys.exit(f"round {round_number}: sent {sent}, sink took {accepted.value - before}")
        worker_rates.append(sent / elapsed)
        worker_cpu.append(cpu / sent * 1e6)
        (count, elapsed, cpu), _ = _measure(
            _run_bare, (port, args.connections, args.messages, data), context
        )
        bare_rates.append(count / elapsed)
        bare_cpu.append(cpu / count * 1e6)
        print(
            f"round {round_number}: worker {worker_rates[-1]:,.0f} msg/s "
            f"({worker_cpu[-1]:.0f} µs CPU each), bare loop {bare_rates[-1]:,.0f} msg/s "
            f"({bare_cpu[-1]:.0f} µs CPU each)",
            flush=True,
        )
    worker, bare = statistics.median(worker_rates), statistics.median(bare_rates)
    lines = [
        f"| one `outbox work` process (render per reader, build, send) | {worker:,.0f} | "
        f"{statistics.median(worker_cpu):.0f} µs |",
        f"| bare aiosmtpd send loop (prebuilt bytes, no database) | {bare:,.0f} | "
        f"{statistics.median(bare_cpu):.0f} µs |",
    ]
    summary = [
        f"{args.messages:,} messages a round, {args.rounds} rounds interleaved, medians; "
        f"{args.connections} SMTP connections, batches of {args.batch_size}, PIPELINING; "
        f"sink: aiosmtpd in {args.sink_processes} processes on one port (SO_REUSEPORT).",
        "",
        "| sender | messages/s | CPU per message in the sender |",
        "|---|---|---|",
        *lines,
        "",
        f"The worker reaches {worker / bare:.2f}× the bare loop. Load average (1 min) "
        f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after: on 2 cores, anything "
        "above 2 means other processes were taking CPU from the sender, sink and PostgreSQL.",
    ]
    if args.campaign:
        _queue_campaign(app, args.campaign, 1000)
        before = accepted.value
        (sent, elapsed, _), samples = _measure(
            _run_worker,
            (args.database_url, smtp_url, args.connections, args.batch_size),
            context,
            sample_rss=True,
        )
        samples = [sample for sample in samples if sample] or [0]
        summary += [
            "",
            f"A {args.campaign:,}-reader campaign: {sent:,} sent in {elapsed:.1f} s "
            f"({sent / elapsed:,.0f} msg/s; the sink took {accepted.value - before:,}); the "
            f"worker's resident memory, sampled every 0.2 s: start {samples[0] / 1024:.1f} MiB, "
            f"peak {max(samples) / 1024:.1f} MiB, end {samples[-1] / 1024:.1f} MiB.",
        ]
    for sink in sinks:
        sink.terminate()
    print("\n".join(summary))
    if args.results:
        _write_results(Path(args.results), summary, args)


def _write_results(path: Path, summary: list[str], args) -> None:
    begin, end = "<!-- outbox throughput: begin -->", "<!-- outbox throughput: end -->"
    command = (
        f"`.venv/bin/python bench/outbox_throughput.py --messages {args.messages} "
        f"--rounds {args.rounds} --connections {args.connections} --batch-size {args.batch_size} "
        f"--sink-processes {args.sink_processes}"
        + (f" --campaign {args.campaign}" if args.campaign else "")
        + f" --results {path}`"
    )
    section = "\n".join(
        [
            begin,
            "## Outbox throughput",
            "",
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on this machine "
            f"({os.cpu_count()} cores; PostgreSQL, sink and sender on the same cores): {command}",
            "",
            *summary,
            end,
        ]
    )
    text = path.read_text() if path.exists() else ""
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
