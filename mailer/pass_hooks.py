"""Work a higher package asks `outbox work` to do before each pass over the queue.

Campaigns register one: start the scheduled campaigns whose time has come (their rows are
queued then, so the recipients are fixed at that moment) and mark sent those with nothing left
to go. A hook commits its own work and must be safe to run in several workers at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from extensions import db

log = logging.getLogger(__name__)

_hooks: dict[str, Callable[[], object]] = {}


def register_pass_hook(name: str, hook: Callable[[], object]) -> None:
    """Run hook() (in an app context) before each pass; registering a name again replaces it."""
    _hooks[name] = hook


def run_pass_hooks() -> None:
    """Each hook in turn; one that raises is logged and the mail still goes. A database error
    is raised on: the worker reports those once, as it does its own."""
    for name, hook in list(_hooks.items()):
        try:
            hook()
        except SQLAlchemyError:
            db.session.rollback()
            raise
        except Exception:
            db.session.rollback()
            log.exception("outbox pass hook %s failed", name)
        finally:
            db.session.remove()
