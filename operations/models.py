"""Operations' own state: when each alarm last mailed the admins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from database import UTCDateTime
from extensions import db


class AlarmNotice(db.Model):
    """One row per alarm; claiming the right to mail is one conditional UPDATE of notified_at."""

    __tablename__ = "alarm_notices"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
