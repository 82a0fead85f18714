"""The staff pages: one blueprint (blueprint.py), its routes in the modules imported here."""

from staff.views import dashboard, lists, people, session
from staff.views.blueprint import bp

__all__ = ["bp", "dashboard", "lists", "people", "session"]
