"""Staff fixtures: accounts of each role and clients signed in as them."""

from __future__ import annotations

import pytest

from tests.staff.factories import PASSWORD, make_staff


def sign_in(client, email: str, password: str = PASSWORD, **extra):
    return client.post("/staff/login", data={"email": email, "password": password, **extra})


@pytest.fixture
def admin(app_ctx):
    return make_staff("admin@newsroom.test", role="admin")


@pytest.fixture
def editor(app_ctx):
    return make_staff("editor@newsroom.test", role="editor")


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    assert sign_in(client, admin.email).status_code == 302
    return client


@pytest.fixture
def editor_client(app, editor):
    client = app.test_client()
    assert sign_in(client, editor.email).status_code == 302
    return client
