"""The open lists, as every signup needs them, kept a few seconds per process.

Each signup asks which lists exist; they change a few times a year, so one process keeps a
snapshot for LISTS_CACHE_SECONDS instead of paying a database round trip per signup. A change
made through the services below clears this process's snapshot when its transaction commits;
other processes see it within the TTL.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from extensions import db
from newsletters.models import Newsletter

CHANGED_FLAG = "newsletters_changed"


@dataclass(frozen=True)
class OpenList:
    id: int
    slug: str
    name: str
    description: str
    is_default: bool


_lock = threading.Lock()
_snapshot: dict = {"key": None, "expires": 0.0, "lists": ()}


def open_lists() -> tuple[OpenList, ...]:
    """Every list readers may join, oldest first."""
    ttl = float(current_app.config.get("LISTS_CACHE_SECONDS", 5))
    key = (id(current_app._get_current_object()), current_app.config["SQLALCHEMY_DATABASE_URI"])
    now = time.monotonic()
    with _lock:
        if _snapshot["key"] == key and now < _snapshot["expires"]:
            return _snapshot["lists"]
    query = select(Newsletter).where(Newsletter.archived.is_(False)).order_by(Newsletter.id)
    lists = tuple(
        OpenList(n.id, n.slug, n.name, n.description or "", n.is_default)
        for n in db.session.scalars(query)
    )
    with _lock:
        _snapshot.update(key=key, expires=now + ttl, lists=lists)
    return lists


def mark_lists_changed() -> None:
    """Call from any service that adds, renames, archives or re-defaults a list."""
    db.session.info[CHANGED_FLAG] = True


def forget_open_lists() -> None:
    with _lock:
        _snapshot.update(key=None, expires=0.0, lists=())


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    if session.info.pop(CHANGED_FLAG, False):
        forget_open_lists()


@event.listens_for(Session, "after_rollback")
def _drop_flag_after_rollback(session: Session) -> None:
    session.info.pop(CHANGED_FLAG, None)
