"""A staff member's side of the account tests: the mail they get, the links in it, the codes
their authenticator app shows."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pyotp
from sqlalchemy import select

from extensions import db
from mailer.models import OutboxMessage
from mailer.services import MailPreview, preview
from staff.models import AuditLog, StaffUser
from tests.staff.test_two_factor import _decode

LINK = re.compile(r"https?://[^\s\"<>]+")


def mail_to(app, address: str, kind: str | None = None) -> list[MailPreview]:
    """The mail queued for `address`, each rendered as it will be sent."""
    with app.app_context():
        query = select(OutboxMessage).where(OutboxMessage.to_addr == address)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return [
            preview(message) for message in db.session.scalars(query.order_by(OutboxMessage.id))
        ]


def link_path(message: MailPreview, containing: str) -> str:
    """The path of the one link in the mail's text that contains `containing`."""
    (link,) = [found for found in LINK.findall(message.text_body) if containing in found]
    return urlsplit(link).path


def actions(app, staff_id: int | None = None) -> list[str]:
    with app.app_context():
        query = select(AuditLog.action).order_by(AuditLog.id)
        if staff_id is not None:
            query = query.where(AuditLog.staff_id == staff_id)
        return list(db.session.scalars(query))


def account(app, email: str) -> StaffUser:
    with app.app_context():
        user = db.session.scalars(select(StaffUser).where(StaffUser.email_key == email)).one()
        db.session.expunge(user)
        return user


def secret_from_setup_page(page: str) -> str:
    """What an authenticator app reads from the set-up page's QR code: the secret."""
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    uri = _decode(svg)
    assert uri.startswith("otpauth://totp/")
    return parse_qs(urlsplit(uri).query)["secret"][0]


def code(secret: str, steps_ahead: int = 0) -> str:
    """The code the app shows now, or `steps_ahead` 30-second steps later (a phone clock a
    little ahead is accepted: one step)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def turn_on_two_factor(client) -> tuple[str, list[str]]:
    """Set it up as a person does: scan, type the code; (secret, recovery codes shown)."""
    page = client.get("/staff/two-factor").get_data(as_text=True)
    secret = secret_from_setup_page(page)
    shown = client.post("/staff/two-factor/enable", data={"code": code(secret)})
    assert shown.status_code == 200, shown.get_data(as_text=True)
    codes = re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", shown.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes
