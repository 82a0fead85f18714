"""The staff sign-in limit holds across server processes when REDIS_URL is set: two gunicorn
servers (as two workers are) share one budget per account, so spreading guesses over them gains
nothing. Counted in each process's memory, four guesses spread over two processes at a limit of
three a minute would all be answered."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
import redis

from tests.conftest import free_port
from tests.staff.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def redis_store(redis_database):
    store = redis.Redis.from_url(redis_database, socket_connect_timeout=0.5)
    yield store
    store.close()


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STRIPE_", "DATABASE_", "REDIS_", "RATELIMIT_", "APP_ENV"))
    }
    environment.update(
        APP_ENV="development",
        SECRET_KEY="shared-by-both-servers",
        DATABASE_URL=f"sqlite:///{tmp_path / 'staff.db'}",
        PROXY_COUNT="1",  # each guess comes from another client address: only the account limits
        RATELIMIT_LOGIN="3/minute",
        **extra,
    )
    return environment


def _flask(environment: dict[str, str], *args: str, stdin: str | None = None) -> None:
    subprocess.run(
        [str(BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=environment,
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
    )


def _serve(environment: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = tmp_path / "gunicorn.conf.py"
    config.write_text("")  # not the project's (two threaded workers): one process each here
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", str(config), "--no-control-socket", "-w", "1"]
        + ["-b", f"127.0.0.1:{port}", "app:create_app()"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/staff/login", timeout=1):
                return server, base
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("the server did not start")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies kept across both servers (a cookie is for a host, whatever its port)."""

    def __init__(self) -> None:
        handlers = (urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirects())
        self.opener = urllib.request.build_opener(*handlers)

    def get(self, url: str) -> str:
        with self.opener.open(url, timeout=10) as response:
            return response.read().decode()

    def post(self, url: str, data: dict, headers: dict) -> int:
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as answer:
            return answer.code


def test_the_account_limit_is_shared_by_two_server_processes_through_redis(
    redis_store, redis_database, tmp_path
):
    email = f"limit-{secrets.token_hex(4)}@newsroom.example.org"  # its own keys in the shared store
    environment = _environment(tmp_path, REDIS_URL=redis_database)
    _flask(environment, "db", "upgrade")
    _flask(environment, "staff", "create", email, "--password-stdin", stdin=PASSWORD + "\n")
    servers = [_serve(environment, tmp_path) for _ in range(2)]
    try:
        browser = Browser()
        page = browser.get(servers[0][1] + "/staff/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        statuses = []
        for attempt in range(4):
            _, base = servers[attempt % 2]
            status = browser.post(
                base + "/staff/login",
                data={"email": email, "password": "a wrong guess", "csrf_token": token},
                headers={"X-Forwarded-For": f"198.18.{attempt}.{secrets.randbelow(250) + 1}"},
            )
            statuses.append(status)
        assert statuses == [422, 422, 422, 429]
    finally:
        for server, _ in servers:
            server.terminate()
            server.wait(timeout=10)
        for key in redis_store.scan_iter(match=f"*{email}*"):
            redis_store.delete(key)
        for key in redis_store.scan_iter(match="*198.18.*"):
            redis_store.delete(key)
