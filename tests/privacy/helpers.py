"""A reader exercising their rights as a reader does: through their mail and its links."""

from __future__ import annotations

from tests.newsletters.helpers import (
    links_in,
    outbox,
    path_of,
    preferences_path,
    subscribe_and_confirm,
)


def confirmed_reader(app, client, email: str, newsletters=None) -> str:
    """Sign up by the API and confirm; returns the preferences link of the welcome mail."""
    subscribe_and_confirm(app, client, email, newsletters)
    welcome = [mail for mail in outbox(app, "welcome") if mail.to_addr == email][-1]
    return preferences_path(welcome)


def mailed_link(app, kind: str, to: str) -> str:
    """The one link of the newest mail of `kind` to `to` (data_export_link, erasure_link)."""
    mails = [mail for mail in outbox(app, kind) if mail.to_addr == to]
    assert mails, f"no {kind} mail to {to}"
    (link,) = links_in(mails[-1].text_body, "/privacy/")
    return path_of(link)


def data_link(app, client, preferences: str, email: str) -> str:
    assert client.post(f"{preferences}/data").status_code == 200
    return mailed_link(app, "data_export_link", email)


def erasure_link(app, client, preferences: str, email: str) -> str:
    assert client.post(f"{preferences}/erase").status_code == 200
    return mailed_link(app, "erasure_link", email)
