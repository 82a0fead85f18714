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


@pytest.fixture
def staff_app(make_app):
    """The app with admin@ and editor@newsroom.test, holding no application context: each
    request then gets its own, as in production, so two browsers signed in at once stay apart
    (Flask-Login keeps the signed-in user on the context)."""
    app = make_app()
    with app.app_context():
        make_staff("admin@newsroom.test", role="admin")
        make_staff("editor@newsroom.test", role="editor")
    return app


def signed_in(app, email: str, password: str = PASSWORD):
    """A new browser, signed in as `email`."""
    client = app.test_client()
    assert sign_in(client, email, password).status_code == 302
    return client
