"""Reading the outbox as a reader reads their inbox, and the database as staff would."""

from __future__ import annotations

import re

from sqlalchemy import select

from extensions import db
from mailer.models import OutboxMessage
from newsletters.models import Consent, Subscriber, Subscription

LINK = re.compile(r"https?://[^\s\"'<>]+")


def outbox(app, kind: str | None = None) -> list[OutboxMessage]:
    with app.app_context():
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        messages = list(db.session.scalars(query))
        db.session.expunge_all()
        return messages


def links_in(text: str, containing: str) -> list[str]:
    return [link for link in LINK.findall(text) if containing in link]


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def confirm_path(app, to: str | None = None) -> str:
    """The /confirm/ link of the newest confirmation mail (to `to`, when given)."""
    messages = [m for m in outbox(app, "confirm") if to is None or m.to_addr == to]
    assert messages, "no confirmation mail queued"
    (link,) = links_in(messages[-1].text_body, "/confirm/")
    return path_of(link)


def statuses(app, email: str) -> dict[str, str]:
    with app.app_context():
        subscriber = db.session.scalar(select(Subscriber).where(Subscriber.email == email))
        if subscriber is None:
            return {}
        rows = db.session.scalars(
            select(Subscription).where(Subscription.subscriber_id == subscriber.id)
        )
        return {row.newsletter.slug: row.status for row in rows}


def consents(app) -> list[Consent]:
    with app.app_context():
        rows = list(db.session.scalars(select(Consent).order_by(Consent.id)))
        db.session.expunge_all()
        return rows


def count_subscribers(app) -> int:
    with app.app_context():
        return len(list(db.session.scalars(select(Subscriber))))


def subscribe_api(client, email, newsletters=None, **headers):
    body = {"email": email}
    if newsletters is not None:
        body["newsletters"] = newsletters
    return client.post("/api/subscriptions", json=body, headers=headers)


def subscribe_and_confirm(app, client, email, newsletters=None) -> None:
    assert subscribe_api(client, email, newsletters).status_code == 202
    assert client.post(confirm_path(app, email)).status_code == 200


def load_lists(app):
    from newsletters.lists import load_demo_lists

    with app.app_context():
        load_demo_lists()
        db.session.commit()
    return app
