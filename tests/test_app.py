"""The app as a whole: headers every response carries, errors that never show a trace."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text

from app import create_app
from extensions import db
from tests.newsletters.helpers import add_default_list


def test_every_response_says_nosniff_and_html_pages_forbid_framing(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    api = client.get("/api/nothing-here")
    assert api.headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_api_path_answers_the_json_error_shape(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.get_json() == {
        "error": {"code": "not_found", "message": "There is nothing at this address."}
    }


def test_unknown_page_answers_a_page_not_a_trace(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b'<html lang="en">' in response.data
    assert b"Traceback" not in response.data


def test_an_unexpected_exception_becomes_a_plain_500_page(app, client):
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret internals")

    response = client.get("/boom-for-test")
    assert response.status_code == 500
    assert b"secret internals" not in response.data
    assert b"Something went wrong" in response.data


def _migrated_schema_differences(url: str) -> list:
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": {}, "SECRET_KEY": "x"}
    )
    with app.app_context():
        upgrade()
        engine = create_engine(url)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        engine.dispose()
        db.engine.dispose()
    return differences


# SQLite cannot reflect an index on an expression (ix_outbox_address_key): the test below
# compares it on PostgreSQL.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrations_build_exactly_the_schema_the_models_describe(tmp_path):
    assert _migrated_schema_differences(f"sqlite:///{tmp_path / 'migrated.db'}") == []


@pytest.mark.postgresql
def test_migrations_build_exactly_the_schema_the_models_describe_on_postgresql(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs TEST_DATABASE_URL on PostgreSQL")
    scratch = make_url(database_url).set(database=make_url(database_url).database + "_migrated")
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{scratch.database}"'))
    try:
        url = scratch.render_as_string(hide_password=False)
        assert _migrated_schema_differences(url) == []
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        admin.dispose()


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_the_goal_can_be_held_by_shared_caches(client):
    response = client.get("/api/goal")
    assert "public" in response.headers["Cache-Control"]
    assert "Cookie" not in response.headers.get("Vary", "")


def test_retry_after_appears_only_on_a_rate_limited_answer(make_app):
    app = add_default_list(make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGNUP="1/minute"))
    client = app.test_client()
    body = {"email": "reader@example.com"}
    first = client.post("/api/subscriptions", json=body)
    assert first.status_code == 202
    assert "Retry-After" not in first.headers
    second = client.post("/api/subscriptions", json=body)
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) > 0
