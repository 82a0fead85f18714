"""The staff pages: one blueprint (blueprint.py), its routes in the modules imported here."""

from staff.views import accounts, dashboard, lists, people, recovery, session, two_factor
from staff.views.blueprint import bp

__all__ = ["accounts", "bp", "dashboard", "lists", "people", "recovery", "session", "two_factor"]
