"""Campaign fixtures: an app sending through a real SMTP server, with one list."""

from __future__ import annotations

import pytest

from tests.campaigns.helpers import add_newsletter


@pytest.fixture
def smtp_app(make_app, smtp_server):
    """(app, sink): the app's mail goes to a real SMTP server on loopback; list `briefing`."""
    sink, smtp_url = smtp_server
    app = make_app(SMTP_URL=smtp_url, ORG_POSTAL_ADDRESS="The Newsroom, 1 Example Street, Kyiv")
    with app.app_context():
        add_newsletter()
    return app, sink


@pytest.fixture
def newsroom(app):
    """The app with list `briefing` and no readers yet."""
    with app.app_context():
        add_newsletter()
    return app
