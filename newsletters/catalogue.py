"""The open lists, as every signup needs them, kept a few seconds per process.

Each signup asks which lists exist; they change a few times a year, so one process keeps a
snapshot for LISTS_CACHE_SECONDS instead of paying a database round trip per signup. A change
made through the services below clears this process's snapshot when its transaction commits;
other processes see it within the TTL.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from caching import TTLCache
from extensions import db
from newsletters.models import Newsletter


@dataclass(frozen=True)
class OpenList:
    id: int
    slug: str
    name: str
    description: str
    is_default: bool


_snapshot: TTLCache[tuple[OpenList, ...]] = TTLCache("LISTS_CACHE_SECONDS", default_ttl=5)


def open_lists() -> tuple[OpenList, ...]:
    """Every list readers may join, oldest first."""
    return _snapshot.get(_read_open_lists)


def _read_open_lists() -> tuple[OpenList, ...]:
    query = select(Newsletter).where(Newsletter.archived.is_(False)).order_by(Newsletter.id)
    return tuple(
        OpenList(n.id, n.slug, n.name, n.description or "", n.is_default)
        for n in db.session.scalars(query)
    )


def mark_lists_changed() -> None:
    """Call from any service that adds, renames, archives or re-defaults a list."""
    _snapshot.clear_after_commit()
