"""Staff accounts and the audit log of what they did."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from database import UTCDateTime, utcnow
from extensions import db

ADMIN = "admin"
EDITOR = "editor"
ROLES = (ADMIN, EDITOR)


class StaffUser(UserMixin, db.Model):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16), default=EDITOR)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Deactivated accounts keep their row, so the audit trail keeps its author.
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A session remembers this at sign-in; raising it (new password) ends every other session.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    # Two-factor sign-in (staff/two_factor.py): the TOTP secret once confirmed, the last time-step
    # accepted (a code is never accepted twice), and hashes of the unused recovery codes.
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    recovery_code_hashes: Mapped[list] = mapped_column(JSON, default=list)
    # The sign-in back-off (staff/lockout.py): failures since the last sign-in, until when
    # password attempts from unknown devices wait, and which lockout a mailed unlock link ends.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_secret is not None and self.totp_enabled_at is not None


class StaffInvitation(db.Model):
    """An emailed invitation: its signed link carries the nonce; accepting it is recorded here,
    so each link makes one account at most."""

    __tablename__ = "staff_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), nullable=True
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditLog(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
