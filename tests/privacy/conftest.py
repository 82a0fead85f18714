"""Privacy fixtures: the app with the demo lists, and readers as they really become readers."""

from __future__ import annotations

import pytest

from tests.newsletters.helpers import load_lists


@pytest.fixture
def lists(app):
    return load_lists(app)
