"""`make prod-check`: the production set-up of docs/deploy.md, started on this machine and walked.

Starts a fresh PostgreSQL database, an SMTP sink (aiosmtpd), gunicorn with gunicorn.conf.py
(two workers, APP_ENV=production, Redis for the rate limits) and two `flask outbox work`
processes sharing one PROMETHEUS_MULTIPROC_DIR with it. Then walks a reader's signup, the
confirmation (following the link in the mail the sink received), the one-click unsubscribe of
the welcome mail and one signed Stripe webhook through it, and checks /readyz, /metrics and the
logs. Everything it started is stopped and the database dropped, also when a step fails.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and Redis on 127.0.0.1:6379, as .ci/run
starts them. PRODCHECK_POSTGRES_URL and PRODCHECK_REDIS_URL name others.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from prod_check_support import (
    LINK,
    CheckFailed,
    Http,
    Sink,
    free_port,
    path_of,
    say,
    text_of,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get("PRODCHECK_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("PRODCHECK_REDIS_URL", "redis://127.0.0.1:6379/4")


class ProdCheck:
    def __init__(self) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="prod-check-"))
        self.database = f"prodcheck_{os.getpid()}_{secrets.token_hex(3)}"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.sink = Sink()
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.metrics_token = secrets.token_urlsafe(24)
        self.webhook_secret = "whsec_" + secrets.token_hex(16)
        self.reader = f"reader-{secrets.token_hex(4)}@example.com"
        self.http = Http(self.base_url)
        self.env = os.environ | {
            "APP_ENV": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": f"{POSTGRES_URL}/{self.database}",
            "DB_POOL_SIZE": "4",
            "REDIS_URL": REDIS_URL,
            "SMTP_URL": f"smtp://127.0.0.1:{self.sink.port}",
            "MAIL_FROM": "newsletters@prodcheck.test",
            "BASE_URL": self.base_url,
            "METRICS_TOKEN": self.metrics_token,
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "EMAIL_CHECK_DELIVERABILITY": "false",
            "PROMETHEUS_MULTIPROC_DIR": str(self.work / "prometheus"),
            "BIND": f"127.0.0.1:{self.port}",
            # README's production configuration, smaller: gevent workers.
            "GUNICORN_WORKER_CLASS": "gevent",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_WORKER_CONNECTIONS": "16",
            "PYTHONUNBUFFERED": "1",
        }

    # --- starting and stopping -----------------------------------------------------------

    def flask(self, *args: str) -> str:
        done = subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "app", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise CheckFailed(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def start(self, name: str, command: list[str]) -> None:
        log = open(self.work / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append((name, process))

    def log_of(self, name: str) -> str:
        path = self.work / f"{name}.log"
        return path.read_text() if path.exists() else ""

    def set_up(self) -> None:
        say(f"working in {self.work}")
        with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.database}"')
        self.sink.controller.start()
        self.flask("db", "upgrade")
        say("database migrated")
        self.flask("newsletters", "add", "daily", "--name", "The Daily", "--default")
        self.flask(
            "tiers",
            "add",
            "member",
            "--name",
            "Member",
            "--amount",
            "500",
            "--currency",
            "eur",
            "--interval",
            "month",
            "--stripe-price",
            "price_prodcheck",
        )
        gunicorn = [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--no-control-socket"]
        self.start("web", gunicorn)
        for number in (1, 2):
            work = ["outbox", "work", "--poll-interval", "0.2"]
            self.start(f"outbox-{number}", [str(VENV_BIN / "flask"), "--app", "app", *work])
        wait_for("/healthz", lambda: self.http.request("GET", "/healthz")[0] == 200, 30)
        say(f"gunicorn on {self.base_url}, two outbox workers, database {self.database}")

    def tear_down(self) -> None:
        for _, process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.sink.controller.stop()
        try:
            with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        except psycopg.Error as error:
            say(f"could not drop {self.database}: {error}")
        shutil.rmtree(self.work, ignore_errors=True)

    # --- the walk ------------------------------------------------------------------------

    def walk_reader(self) -> None:
        body = json.dumps({"email": self.reader}).encode()
        self.http.expect(
            202,
            "POST",
            "/api/subscriptions",
            body=body,
            headers={"Content-Type": "application/json", "X-Request-ID": "prod-check-signup"},
        )
        confirmation = wait_for(
            "confirmation mail", lambda: self.sink.find(self.reader, "/confirm/")
        )
        (confirm_url,) = [
            link for link in LINK.findall(text_of(confirmation)) if "/confirm/" in link
        ]
        confirm = path_of(confirm_url)
        _, page = self.http.expect(200, "GET", confirm)
        if "<form" not in page:
            raise CheckFailed("the confirmation page has no button")
        self.http.expect(200, "POST", confirm, body=b"")
        welcome = wait_for("welcome mail", lambda: self.sink.find(self.reader, "List-Unsubscribe"))
        unsubscribe = path_of(welcome["List-Unsubscribe"].strip("<>"))
        self.http.expect(
            200,
            "POST",
            unsubscribe,
            body=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        (preferences_url,) = [
            link for link in LINK.findall(text_of(welcome)) if "/preferences/" in link
        ]
        _, preferences = self.http.expect(200, "GET", path_of(preferences_url))
        if re.search(r'value="daily"[^>]*checked', preferences):
            raise CheckFailed("the reader is still subscribed after the one-click unsubscribe")
        self.secrets = [self.reader, confirm.rsplit("/", 1)[1], unsubscribe.rsplit("/", 1)[1]]

    def walk_webhook(self) -> None:
        now = int(time.time())
        event = {
            "id": f"evt_prodcheck_{secrets.token_hex(6)}",
            "object": "event",
            "type": "checkout.session.completed",
            "created": now,
            "api_version": "2026-10-28.endive",
            "livemode": False,
            "data": {
                "object": {
                    "id": "cs_prodcheck_1",
                    "object": "checkout.session",
                    "mode": "subscription",
                    "status": "complete",
                    "payment_status": "paid",
                    "customer": "cus_prodcheck",
                    "subscription": "sub_prodcheck",
                    "customer_details": {"email": "payer@example.net"},
                    "metadata": {"tier_slug": "member"},
                    "created": now,
                }
            },
        }
        payload = json.dumps(event)
        signature = hmac.new(
            self.webhook_secret.encode(), f"{now}.{payload}".encode(), hashlib.sha256
        ).hexdigest()
        _, answer = self.http.expect(
            200,
            "POST",
            "/stripe/webhook",
            body=payload.encode(),
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": f"t={now},v1={signature}",
            },
        )
        if json.loads(answer).get("outcome") != "handled":
            raise CheckFailed(f"the webhook was not handled: {answer}")

        def counted():
            return json.loads(self.http.request("GET", "/api/goal")[2]).get("members") == 1

        wait_for("the member on /api/goal", counted, 5)
        say("GET /api/goal -> members 1")
        self.secrets += ["payer@example.net", self.webhook_secret, self.metrics_token]

    def check_operations(self) -> None:
        _, ready = self.http.expect(200, "GET", "/readyz")
        if json.loads(ready)["checks"] != {"database": "ok", "redis": "ok"}:
            raise CheckFailed(f"/readyz: {ready}")
        self.http.expect(404, "GET", "/metrics")
        bearer = {"Authorization": f"Bearer {self.metrics_token}"}
        wanted = {
            'newsletter_signups_total{source="api"}': 1,
            "newsletter_confirmations_total": 1,
            "outbox_deliveries_total": 2,  # counted by the outbox worker processes
            'stripe_webhook_events_total{outcome="handled",type="checkout.session.completed"}': 1,
            "membership_members": 1,
        }

        def scraped():
            text = self.http.request("GET", "/metrics", headers=bearer)[2]
            values = dict(
                line.rsplit(" ", 1) for line in text.splitlines() if line and line[0] != "#"
            )
            enough = all(float(values.get(name, -1)) >= least for name, least in wanted.items())
            return text if enough and "outbox_oldest_queued_seconds" in values else None

        self.metrics_text = wait_for("the walk's figures on /metrics", scraped, 10)
        say("GET /metrics -> signups, confirmations, deliveries, webhook events, members")

    def check_logs(self) -> None:
        web = self.log_of("web")
        lines = [json.loads(line) for line in web.splitlines() if line.startswith("{")]
        not_json = [line for line in web.splitlines() if line.strip() and not line.startswith("{")]
        if not_json:
            raise CheckFailed(f"gunicorn wrote lines that are not JSON: {not_json[:3]}")
        worker_class = self.env["GUNICORN_WORKER_CLASS"]
        if not any(line.get("message") == f"Using worker: {worker_class}" for line in lines):
            raise CheckFailed(f"gunicorn did not say it runs {worker_class} workers")
        requests = [line for line in lines if line.get("logger") == "request"]
        signup = [line for line in requests if line.get("request_id") == "prod-check-signup"]
        if not signup or signup[0]["path"] != "/api/subscriptions":
            raise CheckFailed("no JSON line for the signup with its request id")
        if not any(line["path"] == "/confirm/<token>" for line in requests):
            raise CheckFailed("the confirmation's request line is not logged by its route")
        every_log = web + "".join(self.log_of(f"outbox-{n}") for n in (1, 2))
        if "Traceback" in every_log or '"level": "ERROR"' in every_log:
            raise CheckFailed("an error or a traceback in the logs")
        leaked = [secret for secret in self.secrets if secret in every_log]
        if leaked:
            raise CheckFailed(f"{len(leaked)} address(es) or token(s) in the logs")
        self.request_line = json.dumps(signup[0], ensure_ascii=False)
        say(
            f"{worker_class} workers; {len(requests)} JSON request lines; no address, token or "
            "secret in any log"
        )

    def run(self) -> None:
        started = time.monotonic()
        self.set_up()
        self.walk_reader()
        self.walk_webhook()
        self.check_operations()
        for name, process in self.processes:
            if process.poll() is not None:
                raise CheckFailed(f"{name} exited with {process.returncode}")
        self.check_logs()
        figures = [
            line
            for line in self.metrics_text.splitlines()
            if line.startswith(("newsletter_", "outbox_", "membership_", "stripe_"))
        ]
        print("\n".join(["", "A request line as the operator sees it:", self.request_line]))
        print("\n".join(["", "/metrics (the service's own figures):", *figures, ""]))
        say(f"ok in {time.monotonic() - started:.1f} s")


def main() -> int:
    check = ProdCheck()
    try:
        check.run()
        return 0
    except (CheckFailed, OSError, psycopg.Error, subprocess.SubprocessError) as failure:
        say(f"FAILED: {failure}")
        for name, _ in check.processes:
            print(
                f"--- last lines of {name} ---\n" + "\n".join(check.log_of(name).splitlines()[-25:])
            )
        return 1
    finally:
        check.tear_down()


if __name__ == "__main__":
    sys.exit(main())
