"""gunicorn's gevent worker, the production configuration (GUNICORN_WORKER_CLASS=gevent), as an
operator relies on it: signups arriving at once, of one address or of many new ones, each
stored once with one confirmation mail; a frozen PostgreSQL answered with the contract's 503
while the same worker goes on answering /healthz (its database waits yield to its other
requests); a frozen or cut Redis leaving signups answered, limited in memory meanwhile.

Each test starts a real gunicorn with gunicorn.conf.py and APP_ENV=production on the suite's
database (SQLite, or PostgreSQL with TEST_DATABASE_URL) and Redis for the rate limits.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
from sqlalchemy import select

from extensions import db
from newsletters.models import Subscriber
from staff.auth import create_staff_user
from staff.models import EDITOR
from tests.conftest import free_port
from tests.newsletters.helpers import add_default_list, outbox

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
START_SECONDS = 30
OUTAGE_ANSWER_SECONDS = 5  # CONTRACT.md "Operations": 503 within 5 s
READYZ_SECONDS = 3  # CONTRACT.md "Operations": /readyz answers within 3 s
# /healthz on a worker takes milliseconds; behind a database wait that blocks the worker's
# one thread it takes that wait's whole DB_REQUEST_TIMEOUT (1 s below).
PROMPT_HEALTHZ_SECONDS = 0.5
# Redis's socket timeouts are 0.3 s and 0.5 s (config.py); beyond them a signup is counted
# in memory.
REDIS_FAULT_ANSWER_SECONDS = 2


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes
    seconds: float

    def json(self) -> dict:
        return json.loads(self.body)


class GeventServer:
    """`gunicorn -c gunicorn.conf.py` with the gevent worker, its log kept in a file."""

    def __init__(self, environment: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        with log.open("w") as stderr:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--no-control-socket"]
                + ["-b", f"127.0.0.1:{self.port}"],
                cwd=ROOT,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )

    def log_tail(self) -> str:
        return self.log.read_text()[-3000:]

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.log_tail()}"
            try:
                if self.request("GET", "/healthz", timeout=2).status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError(f"gunicorn did not answer /healthz:\n{self.log_tail()}")
        # Else every test here would pass as well on the threaded worker, proving nothing.
        on_gevent = "Using worker: gevent" in self.log.read_text()
        assert on_gevent, f"not the gevent worker:\n{self.log_tail()}"

    def connect(self, timeout: float = 30) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        connection.connect()
        return connection

    def request(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        *,
        timeout: float = 30,
        connection: http.client.HTTPConnection | None = None,
        form: dict[str, str] | None = None,
        cookies: str = "",
    ) -> Answer:
        """`body` goes as JSON, `form` as a form; `cookies` as the Cookie header."""
        connection = connection or self.connect(timeout)
        headers = {"Connection": "close"}
        if cookies:
            headers["Cookie"] = cookies
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            payload = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        answered = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, answered, data, time.monotonic() - started)

    def sign_up(self, email: str, **options) -> Answer:
        return self.request("POST", "/api/subscriptions", {"email": email}, **options)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start_server(app, database_url, redis_url, tmp_path):
    """start_server(**environment) -> a serving GeventServer on the suite's database, whose
    schema and one default list the test's `app` has made; stopped after the test."""
    add_default_list(app)
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "APP_ENV": "production",
        "SECRET_KEY": "test-secret-key-for-the-gevent-worker",
        "DATABASE_URL": database_url,  # on SQLite a file, which the test reads too
        "REDIS_URL": redis_url,
        "EMAIL_CHECK_DELIVERABILITY": "false",
        "SMTP_URL": "console",  # nothing is delivered: the mail stays queued in the outbox
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "GUNICORN_WORKER_CLASS": "gevent",
        # One worker: a test's requests all meet in one process, as its greenlets.
        "WEB_CONCURRENCY": "1",
        # One client (this test) sends every signup: limits lifted, as bench/run.py lifts them.
        "RATELIMIT_SIGNUP": "100000/minute",
        "RATELIMIT_SIGNUP_EMAIL": "100000/minute",
    }
    started: list[GeventServer] = []

    def start(**overrides: str) -> GeventServer:
        log = tmp_path / f"gunicorn-{len(started)}.log"
        server = GeventServer(environment | overrides, log)
        started.append(server)
        server.wait_until_serving()
        return server

    yield start
    for server in started:
        server.stop()


def sign_up_at_once(server: GeventServer, addresses: list[str]) -> list[Answer]:
    """Each address's POST /api/subscriptions on a connection of its own, all sent together."""
    ready = threading.Barrier(len(addresses))

    def one(address: str) -> Answer:
        connection = server.connect()
        ready.wait(timeout=30)
        return server.sign_up(address, connection=connection)

    with ThreadPoolExecutor(len(addresses)) as pool:
        return list(pool.map(one, addresses))


def stored_addresses(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Subscriber.email_key)))


def confirmations_by_address(app) -> Counter:
    return Counter(mail.to_addr.lower() for mail in outbox(app, "confirm"))


def start_warm_server(start_server) -> GeventServer:
    """A server whose worker has read the lists already (they are kept LISTS_CACHE_SECONDS),
    as it has under load: a signup then writes at once, and the new addresses of signups that
    arrive together are written together by whichever of their greenlets leads the batch
    (newsletters/group_write.py). A signup that reads the lists itself writes on its own."""
    server = start_server()
    assert server.request("GET", "/api/newsletters").status == 200
    return server


def test_ten_signups_of_one_address_at_once_make_one_subscriber_and_one_mail(app, start_server):
    server = start_warm_server(start_server)
    spellings = ["reader@example.com", "Reader@Example.com", "READER@EXAMPLE.COM"]
    answers = sign_up_at_once(server, [spellings[number % 3] for number in range(10)])
    assert [answer.status for answer in answers] == [202] * 10, server.log_tail()
    assert all(answer.json() == {"status": "pending"} for answer in answers)
    assert stored_addresses(app) == ["reader@example.com"]
    assert confirmations_by_address(app) == {"reader@example.com": 1}


def test_forty_new_addresses_at_once_are_each_stored_once_with_one_mail(app, start_server):
    server = start_warm_server(start_server)
    addresses = [f"reader{number}@example.com" for number in range(40)]
    answers = sign_up_at_once(server, addresses)
    assert [answer.status for answer in answers] == [202] * 40, server.log_tail()
    assert sorted(stored_addresses(app)) == sorted(addresses)
    assert confirmations_by_address(app) == dict.fromkeys(addresses, 1)


def healthz_while_waiting(server: GeventServer, waiting) -> list[float]:
    """Seconds each GET /healthz took, of those sent while `waiting` (a future) had no answer."""
    took = []
    while not waiting.done():
        answer = server.request("GET", "/healthz", timeout=10)
        assert answer.status == 200
        took.append(answer.seconds)
        time.sleep(0.05)
    return took


def test_a_frozen_database_answers_503_while_the_worker_goes_on_answering_healthz(
    app, start_server, postgres_proxy, database_url
):
    # The fixture's one worker: the signup's wait and the health checks below share it.
    server = start_server(
        DATABASE_URL=postgres_proxy.url(database_url),
        DB_REQUEST_TIMEOUT="1",
        DB_POOL_TIMEOUT="1",
        DB_CONNECT_TIMEOUT="2",
    )
    assert server.sign_up("before@example.com").status == 202  # a pooled connection

    postgres_proxy.freeze()
    with ThreadPoolExecutor(2) as pool:
        # A hang fails the test in seconds, not at the HTTP client's default timeout.
        signup = pool.submit(server.sign_up, "during@example.com", timeout=10)
        readiness = pool.submit(server.request, "GET", "/readyz", timeout=10)
        healthz_seconds = healthz_while_waiting(server, signup)
        frozen, ready = signup.result(), readiness.result()

    assert frozen.status == 503, frozen.body
    assert frozen.headers["content-type"].startswith("application/json")
    assert frozen.json()["error"]["code"] == "unavailable"
    assert int(frozen.headers["retry-after"]) > 0
    assert 0.5 < frozen.seconds < OUTAGE_ANSWER_SECONDS  # it did wait on the database
    # Health checks sent while the signup waited were answered at once: its wait yielded.
    assert max(healthz_seconds) < PROMPT_HEALTHZ_SECONDS, healthz_seconds
    assert len(healthz_seconds) >= 3, healthz_seconds
    assert ready.status == 503 and ready.json()["checks"]["database"] == "unavailable"
    assert ready.seconds < READYZ_SECONDS

    postgres_proxy.restore()
    deadline = time.monotonic() + 10
    while (after := server.sign_up("after@example.com")).status != 202:
        assert time.monotonic() < deadline, f"still {after.status}:\n{server.log_tail()}"
        time.sleep(0.2)
    assert "after@example.com" in stored_addresses(app)


@pytest.mark.parametrize("fault", ["freeze", "cut"])
def test_with_redis_frozen_or_cut_signups_are_answered_promptly(
    app, start_server, redis_proxy, redis_url, fault
):
    server = start_server(REDIS_URL=redis_proxy.url(redis_url))
    assert server.sign_up("before@example.com").status == 202
    assert redis.Redis.from_url(redis_url).keys("LIMITS:*")  # counted in Redis until now

    getattr(redis_proxy, fault)()
    addresses = [f"reader{number}@example.com" for number in range(8)]
    answers = sign_up_at_once(server, addresses)
    assert [answer.status for answer in answers] == [202] * 8, server.log_tail()
    slowest = max(answer.seconds for answer in answers)
    assert slowest < REDIS_FAULT_ANSWER_SECONDS, slowest
    assert sorted(stored_addresses(app)) == sorted(["before@example.com", *addresses])


def test_a_staff_sign_in_is_refused_then_accepted_with_no_traceback_in_the_log(app, start_server):
    # Argon2 runs on gevent's threads there (staff/auth.py); a wrong password's error must
    # still reach the request as a refusal, and leave nothing on standard error.
    with app.app_context():
        create_staff_user("editor@example.com", "a long passphrase for the editor", EDITOR)
        db.session.commit()
    server = start_server()
    connection = server.connect()
    connection.request("GET", "/staff/login")
    form = connection.getresponse()
    page = form.read().decode()
    connection.close()
    cookies = "; ".join(
        value.split(";", 1)[0] for name, value in form.getheaders() if name == "Set-Cookie"
    )
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    fields = {"csrf_token": token, "email": "editor@example.com"}

    wrong, right = "not the one", "a long passphrase for the editor"
    refused = server.request(
        "POST", "/staff/login", form=fields | {"password": wrong}, cookies=cookies
    )
    accepted = server.request(
        "POST", "/staff/login", form=fields | {"password": right}, cookies=cookies
    )

    assert refused.status == 422
    assert b"login-error" in refused.body
    assert accepted.status == 302
    log = server.log.read_text()
    assert "Traceback" not in log
    assert "VerifyMismatchError" not in log
