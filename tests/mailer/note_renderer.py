"""Test mail whose every part is given when queued: the renderer plug-in point at work.

Registered by tests/mailer/conftest.py for in-process workers and by tests/mailer/worker_app.py
for worker processes of their own.
"""

from __future__ import annotations

from mailer.rendering import RenderedMail

NOTE = "test_note"


def render_note(rows):
    return [
        RenderedMail(
            subject=row.context["subject"],
            text_body=row.context["text"],
            html_body=row.context["html"],
            headers=row.context.get("headers") or {},
        )
        for row in rows
    ]
