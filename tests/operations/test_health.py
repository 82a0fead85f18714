"""/healthz and /readyz as a load balancer and an orchestrator use them."""

from __future__ import annotations

import threading
import time

from app import create_app
from tests.conftest import free_port


def app_on(database_url: str):
    """An app whose database is at `database_url`, for every connection it makes."""
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "RATELIMIT_ENABLED": False,
        }
    )


def test_healthz_answers_ok_without_touching_the_database():
    app = app_on(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none")

    response = app.test_client().get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_the_probes_are_never_rate_limited(make_app):
    client = make_app(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="1/minute").test_client()

    answers = [client.get(path).status_code for path in ("/healthz", "/readyz") for _ in range(3)]

    assert answers == [200] * 6


def test_readyz_reports_the_database_ok_and_redis_not_configured(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "not configured"},
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_reports_redis_ok_when_it_answers(make_app, redis_database):
    app = make_app(REDIS_URL=redis_database)

    response = app.test_client().get("/readyz")

    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_answers_503_within_3_seconds_when_redis_hangs(make_app, silent_server):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{silent_server.port}/0")

    started = time.monotonic()
    response = app.test_client().get("/readyz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unavailable"},
    }
    assert elapsed < 3


def test_readyz_answers_503_within_3_seconds_when_postgresql_hangs(silent_server):
    app = app_on(f"postgresql+psycopg://postgres@127.0.0.1:{silent_server.port}/x")

    started = time.monotonic()
    response = app.test_client().get("/readyz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert response.get_json()["checks"]["database"] == "unavailable"
    assert elapsed < 3


def test_readyz_asked_again_while_the_database_hangs_waits_on_the_same_check(silent_server):
    app = app_on(f"postgresql+psycopg://postgres@127.0.0.1:{silent_server.port}/x")
    client = app.test_client()

    statuses = [client.get("/readyz").status_code for _ in range(3)]

    assert statuses == [503, 503, 503]
    checking = [t for t in threading.enumerate() if t.name == "bounded-database-check"]
    assert len(checking) <= 1


def test_readyz_answers_503_when_the_database_refuses_connections():
    app = app_on(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x")

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "unavailable"
