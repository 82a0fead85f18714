"""Campaign tests' side of things: a list with readers in every state, the commands an
operator types, and mail as it arrives at a real SMTP server."""

from __future__ import annotations

from sqlalchemy import select

from campaigns.models import Campaign
from database import utcnow
from extensions import db
from mailer.suppressions import suppress
from newsletters.lists import add_list
from newsletters.models import Newsletter, Subscriber, Subscription
from tests.newsletters.helpers import LINK, path_of

BODY = """\
# This week

The council approved the budget late on Tuesday, including the bridge repairs.

- The library opens longer on weekdays.
- Tram 4 runs every eight minutes again.

[Read the story](https://newsroom.example/stories/budget).
"""


def add_newsletter(slug: str = "briefing", name: str = "Morning Briefing", **options) -> int:
    """A list made as `flask newsletters add` makes it (members_only=True for a members' one)."""
    add_list(slug, name, **options)
    db.session.commit()
    return _list_id(slug)


def _list_id(slug: str) -> int:
    return db.session.scalar(select(Newsletter.id).where(Newsletter.slug == slug))


def add_reader(email: str, slug: str = "briefing", status: str = "confirmed") -> int:
    """A subscriber of the list in this state (confirmed today, pending or unsubscribed)."""
    subscriber = db.session.scalar(select(Subscriber).where(Subscriber.email_key == email.lower()))
    if subscriber is None:
        subscriber = Subscriber(email=email, email_key=email.lower())
        db.session.add(subscriber)
        db.session.flush()
    now = utcnow()
    db.session.add(
        Subscription(
            subscriber_id=subscriber.id,
            newsletter_id=_list_id(slug),
            status=status,
            confirmed_at=now if status == "confirmed" else None,
            unsubscribed_at=now if status == "unsubscribed" else None,
        )
    )
    db.session.commit()
    return subscriber.id


def add_suppression(email: str) -> None:
    suppress(email, "manual")
    db.session.commit()


def run(app, *args: str, input: str | None = None):
    """A `flask …` command as an operator runs it; returns click's result."""
    return app.test_cli_runner().invoke(args=list(args), input=input)


def create(app, slug: str = "briefing", subject: str = "The budget, explained", body=BODY) -> int:
    result = run(app, "campaigns", "create", "--newsletter", slug, "--subject", subject,
                 "--body", "-", input=body)  # fmt: skip
    assert result.exit_code == 0, result.output
    # stdout alone: click's result.output also holds stderr, where a log line (the SMTP sink's
    # thread, say) may land first.
    return int(result.stdout.splitlines()[0])


def send(app, campaign_id: int, *extra: str):
    result = run(app, "campaigns", "send", str(campaign_id), *extra)
    assert result.exit_code == 0, result.output
    return result


def deliver(app) -> None:
    """`flask outbox work --once`, as cron or an operator runs it."""
    result = run(app, "outbox", "work", "--once")
    assert result.exit_code == 0, result.output


def campaign(app, campaign_id: int) -> Campaign:
    with app.app_context():
        found = db.session.get(Campaign, campaign_id)
        db.session.expunge_all()
        return found


def recipients(sink) -> list[str]:
    return sorted(message["To"] for message in sink.messages())


def parts(message) -> tuple[str, str]:
    """The text and HTML versions of a received multipart/alternative message."""
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    return (
        text.get_content().replace("\r\n", "\n"),
        html.get_content().replace("\r\n", "\n"),
    )


def links_to(text: str, path: str) -> list[str]:
    return [path_of(link) for link in LINK.findall(text) if f"/{path}/" in link]
