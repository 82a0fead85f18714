"""Newsletter fixtures: the app with the demo lists (tests/newsletters/helpers.load_lists)."""

from __future__ import annotations

import pytest

from tests.newsletters.helpers import load_lists


@pytest.fixture
def lists(app):
    return load_lists(app)
