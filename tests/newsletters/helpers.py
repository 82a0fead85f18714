"""A reader's side of the tests: signing up as a page or a script does, reading the outbox as an
inbox, and the database as staff would. Shared by tests/newsletters, tests/browser and staff.

The lists are made through the list-administration service, as `flask newsletters add` and
`flask demo` make them; load_lists() is also what the `lists` fixture does.
"""

from __future__ import annotations

import re
import time

from sqlalchemy import func, select

from extensions import db
from mailer.models import OutboxMessage
from mailer.services import MailPreview, preview
from newsletters.lists import add_list, load_demo_lists
from newsletters.models import Consent, Subscriber, Subscription

LINK = re.compile(r"https?://[^\s\"'<>]+")
READER_ADDRESS = "127.0.0.1"  # what werkzeug's test client reports as the client address


# --- lists --------------------------------------------------------------------------------


def load_lists(app):
    """The demo lists (Explaining Ukraine the default), committed; returns the app."""
    with app.app_context():
        load_demo_lists()
        db.session.commit()
    return app


def add_default_list(app, slug: str = "daily", name: str = "Daily"):
    """One list, the default, committed; returns the app."""
    with app.app_context():
        add_list(slug, name, is_default=True)
        db.session.commit()
    return app


# --- signing up ---------------------------------------------------------------------------


def subscribe_api(client, email, newsletters=None, *, address=READER_ADDRESS, **headers):
    """POST /api/subscriptions as an outlet's script does, from client `address`."""
    body = {"email": email}
    if newsletters is not None:
        body["newsletters"] = newsletters
    return client.post(
        "/api/subscriptions",
        json=body,
        headers=headers,
        environ_base={"REMOTE_ADDR": address},
    )


def subscribe_form(
    client,
    email,
    newsletters=("explaining-ukraine",),
    *,
    form_id="signup-explaining",
    address=READER_ADDRESS,
    **fields,
):
    """POST /subscribe as the article's form does without JavaScript."""
    data = {"email": email, "newsletters": list(newsletters), "form_id": form_id, **fields}
    return client.post("/subscribe", data=data, environ_base={"REMOTE_ADDR": address})


def subscribe_and_confirm(app, client, email, newsletters=None) -> None:
    assert subscribe_api(client, email, newsletters).status_code == 202
    assert client.post(confirm_path(app, email)).status_code == 200


# --- the reader's inbox -------------------------------------------------------------------


def outbox(app, kind: str | None = None) -> list[MailPreview]:
    """The queued mail (of one kind), each rendered as its reader will get it."""
    with app.app_context():
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return [preview(message) for message in db.session.scalars(query)]


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


def unsubscribe_path(message: MailPreview) -> str:
    """The one-click link of a list mail, from its List-Unsubscribe header."""
    return path_of(message.headers["List-Unsubscribe"].strip("<>"))


def preferences_path(message: MailPreview) -> str:
    """The preferences link in a mail's text."""
    (link,) = links_in(message.text_body, "/preferences/")
    return path_of(link)


# --- what is stored -----------------------------------------------------------------------


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
        return db.session.scalar(select(func.count()).select_from(Subscriber))


def wait_until_queued(writer_of, count: int) -> None:
    """Until a GroupWriter (writer_of() gives it, or None while there is none) holds `count`
    writes waiting for the batch being written."""
    deadline = time.monotonic() + 10
    while (writer := writer_of()) is None or len(writer._queue) < count:
        assert time.monotonic() < deadline, "the writes never queued"
        time.sleep(0.005)
