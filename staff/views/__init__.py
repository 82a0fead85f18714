"""The staff pages: one blueprint (blueprint.py), its routes in the modules imported here."""

from staff.views import (
    accounts,
    campaigns,
    dashboard,
    imports,
    lists,
    people,
    recovery,
    session,
    suppressions,
    two_factor,
)
from staff.views.blueprint import bp

__all__ = [
    "accounts",
    "bp",
    "campaigns",
    "dashboard",
    "imports",
    "lists",
    "people",
    "recovery",
    "session",
    "suppressions",
    "two_factor",
]
