"""Who may do what on the staff pages, and recording what they did."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, url_for
from flask_login import current_user

from extensions import client_address
from staff.audit_trail import record_action


def admin_required(view):
    """Editors read everything; changing settings and exporting personal data is for admins."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated or not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def audit(action: str, detail: str = "") -> None:
    """An audit row for the signed-in staff member's action (committed with the change)."""
    staff_id = current_user.id if current_user.is_authenticated else None
    record_action(action, detail, staff_id=staff_id, ip=client_address())


def safe_next(target: str | None) -> str:
    """Only back to one of our own staff pages: never an open redirect."""
    default = url_for("staff.dashboard")
    if not target:
        return default
    if any(ord(character) < 0x20 or character == "\x7f" for character in target):
        return default  # a line break would make an invalid Location header
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or not parts.path.startswith("/staff/"):
        return default
    return target
