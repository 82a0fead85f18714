"""List administration: the one set of rules for creating, changing and archiving lists.

`newsletters add`, `demo` and the staff pages all come through here. Nothing here commits; a
change clears this process's snapshot of the open lists once the caller commits.
"""

from __future__ import annotations

import re

from sqlalchemy import select, update

from database import SLUG_PATTERN, upsert, utcnow
from extensions import db
from newsletters.catalogue import mark_lists_changed
from newsletters.models import Newsletter

MAX_NAME = 200


class InvalidList(ValueError):
    """A list cannot be saved as asked; `field` names the form field the message belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def clean_slug(slug: str) -> str:
    """The slug is in every signup form, embed and URL: a short lower-case identifier."""
    slug = slug.strip()
    if not re.fullmatch(SLUG_PATTERN, slug):
        raise InvalidList(
            "slug", "Use lower-case letters, digits, hyphens and underscores (up to 64)."
        )
    return slug


def clean_name(name: str) -> str:
    name = " ".join(name.split())  # one line: the name goes into mail headers (List-Id)
    if not name or len(name) > MAX_NAME:
        raise InvalidList("name", f"Give the list a name (up to {MAX_NAME} characters).")
    return name


def newsletter_by_id(list_id: int) -> Newsletter | None:
    return db.session.get(Newsletter, list_id)


def is_archived(slug: str) -> bool:
    return bool(db.session.scalar(select(Newsletter.archived).where(Newsletter.slug == slug)))


def is_members_only(slug: str) -> bool:
    return bool(db.session.scalar(select(Newsletter.members_only).where(Newsletter.slug == slug)))


def add_list(
    slug: str,
    name: str,
    description: str = "",
    is_default: bool = False,
    members_only: bool | None = None,
) -> bool:
    """Create the list with this slug, or update its name, description and default flag;
    True when it was created. An archived list stays archived. `members_only` None leaves an
    existing list as it is (a new one is open to every reader)."""
    slug, name = clean_slug(slug), clean_name(name)
    table = Newsletter.__table__
    values = {"name": name, "description": description.strip(), "is_default": is_default}
    if members_only is not None:
        values["members_only"] = members_only
    statement = (
        upsert(table)
        .values(
            slug=slug,
            archived=False,
            created_at=utcnow(),
            **({"members_only": False} | values),
        )
        .on_conflict_do_nothing(index_elements=[table.c.slug])
        .returning(table.c.id)
    )
    created = db.session.execute(statement).first() is not None
    if not created:
        db.session.execute(update(table).where(table.c.slug == slug).values(**values))
    mark_lists_changed()
    return created


def create_list(slug: str, name: str, description: str, is_default: bool) -> Newsletter:
    """A new list; a slug already taken is refused (staff meant a new list, not that one)."""
    slug, name = clean_slug(slug), clean_name(name)
    if db.session.scalar(select(Newsletter.id).where(Newsletter.slug == slug)) is not None:
        raise InvalidList("slug", f"A list with the slug {slug!r} already exists.")
    newsletter = Newsletter(
        slug=slug, name=name, description=description.strip(), is_default=is_default
    )
    db.session.add(newsletter)
    db.session.flush()  # the id, for the audit log and the redirect
    mark_lists_changed()
    return newsletter


def update_list(newsletter: Newsletter, name: str, description: str, is_default: bool) -> None:
    """The slug stays: it is in every signup form and embed already published."""
    newsletter.name = clean_name(name)
    newsletter.description = description.strip()
    newsletter.is_default = is_default
    mark_lists_changed()


def set_archived(newsletter: Newsletter, archived: bool) -> None:
    """An archived list takes no signups and is nobody's default (restoring leaves it off)."""
    newsletter.archived = archived
    if archived:
        newsletter.is_default = False
    mark_lists_changed()


DEMO_LISTS = [
    (
        "explaining-ukraine",
        "Explaining Ukraine with Kate Tsurkan",
        "A weekly letter on the people, places and ideas behind the headlines from Ukraine.",
        True,
    ),
    (
        "morning-briefing",
        "Morning Briefing",
        "The day's most important news from Ukraine, in your inbox before breakfast.",
        False,
    ),
    (
        "investigations",
        "Investigations",
        "Our reporters' longest pieces of work, sent when they are published.",
        False,
    ),
    (
        "culture-notes",
        "Culture Notes",
        "Books, music, film and theatre from Ukraine, every other Sunday.",
        False,
    ),
    # Written in Ukrainian for readers in Ukraine: the demo offers both languages.
    (
        "holovne-za-den",
        "Головне за день",
        "Найважливіше з України щовечора, українською.",
        False,
    ),
]


def load_demo_lists() -> None:
    """The demo lists a fresh `make run` shows; safe to run again."""
    for slug, name, description, is_default in DEMO_LISTS:
        add_list(slug, name, description, is_default)
