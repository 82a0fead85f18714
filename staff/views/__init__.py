"""The staff pages: one blueprint (blueprint.py), its routes in the modules imported here."""

from staff.views import campaigns, dashboard, lists, people, session, suppressions
from staff.views.blueprint import bp

__all__ = [
    "bp",
    "campaigns",
    "dashboard",
    "lists",
    "people",
    "session",
    "suppressions",
]
