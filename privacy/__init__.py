"""Readers' rights over their data: a copy of it, its erasure, and how long anything is kept.

Sits between staff and payments (.importlinter): it reads and deletes rows of payments,
membership, newsletters and the mailer only through each package's own reader_data service.
"""
