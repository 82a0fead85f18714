"""The audit log of what staff did: written in the transaction of the change it describes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from extensions import db
from staff.models import AuditLog, StaffUser

AUDIT_PAGE_SIZE = 100


def record_action(
    action: str, detail: str = "", staff_id: int | None = None, ip: str | None = None
) -> AuditLog:
    """Adds an audit row to the session, committed with the change it describes."""
    row = AuditLog(staff_id=staff_id, action=action, detail=detail, ip=ip)
    db.session.add(row)
    return row


@dataclass(frozen=True)
class AuditPage:
    rows: list  # (AuditLog, staff email or None), newest first
    next_before: int | None  # the id to continue before, None on the last page


def audit_page(before: int | None = None, size: int = AUDIT_PAGE_SIZE) -> AuditPage:
    query = (
        select(AuditLog, StaffUser.email)
        .outerjoin(StaffUser, AuditLog.staff_id == StaffUser.id)
        .order_by(AuditLog.id.desc())
        .limit(size + 1)
    )
    if before is not None:
        query = query.where(AuditLog.id < before)
    rows = db.session.execute(query).all()
    shown = rows[:size]
    return AuditPage(shown, shown[-1][0].id if len(rows) > size and shown else None)
