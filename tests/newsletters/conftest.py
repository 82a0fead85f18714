"""Newsletter fixtures: the demo lists loaded."""

from __future__ import annotations

import pytest

from extensions import db
from newsletters.lists import load_demo_lists


@pytest.fixture
def lists(app):
    with app.app_context():
        load_demo_lists()
        db.session.commit()
    return app
