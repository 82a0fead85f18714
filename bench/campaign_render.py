"""CPU per campaign message rendered for its reader, beside the mailer's own message building.

    .venv/bin/python bench/campaign_render.py

Renders a ~5 KB Markdown issue for 20,000 readers through campaigns.mail.render_campaign_rows
in batches of 200 (as `outbox work` hands them over), and builds the same number of messages'
bytes with mailer.message.build_message, in one process on a throwaway SQLite database.
Medians of three interleaved rounds, in microseconds per message. The body is converted and
sanitised once per campaign version; what each message costs is the reader's two signed links
and filling them into the cached frame.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

READERS = 20_000
BATCH = 200
ROUNDS = 3


def main() -> None:
    from app import create_app
    from campaigns import services
    from campaigns.mail import render_campaign_rows
    from extensions import db
    from mailer.message import Mail, MailFrom, build_message
    from mailer.rendering import QueuedMail
    from newsletters.lists import add_list
    from tests.mailer.test_spam_score import ISSUE

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db", "SECRET_KEY": "bench"}
        )
        with app.app_context():
            db.create_all()
            add_list("briefing", "Morning Briefing")
            campaign = services.create_draft("briefing", "The budget", ISSUE * 4, "bench")
            db.session.commit()
            now = datetime.now(UTC)
            rows = [
                QueuedMail(n, "campaign", f"reader{n}@example.com", None, None, campaign.id, n, now)
                for n in range(READERS)
            ]
            sender = MailFrom("newsletters@newsroom.example", "The Newsroom")

            def render() -> float:
                started = time.perf_counter()
                for start in range(0, READERS, BATCH):
                    render_campaign_rows(rows[start : start + BATCH])
                return (time.perf_counter() - started) / READERS * 1e6

            rendered = render_campaign_rows(rows[:1])[0]
            mail = Mail(
                id=1,
                to_addr="reader@example.com",
                subject=rendered.subject,
                text_body=rendered.text_body,
                html_body=rendered.html_body,
                message_id="<1.bench@newsroom.example>",
                created_at=now,
                headers=rendered.headers,
            )

            def build() -> float:
                started = time.perf_counter()
                for _ in range(READERS):
                    build_message(mail, sender, smtputf8=False)
                return (time.perf_counter() - started) / READERS * 1e6

            render()  # warm: the frame, the templates
            renders, builds = [], []
            for _ in range(ROUNDS):
                renders.append(render())
                builds.append(build())
    print(f"render per reader: {statistics.median(renders):.1f} µs (rounds {renders})")
    print(f"build message bytes: {statistics.median(builds):.1f} µs (rounds {builds})")


if __name__ == "__main__":
    main()
