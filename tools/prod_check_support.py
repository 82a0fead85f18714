"""The pieces tools/prod_check.py walks the deployment with: an SMTP sink that keeps what the
outbox workers deliver, a small HTTP client that fails the check on a wrong status, waiting."""

from __future__ import annotations

import email
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from email import policy

from aiosmtpd.controller import Controller

STEP_SECONDS = 30
LINK = re.compile(r"https?://[^\s\"'<>]+")


class CheckFailed(Exception):
    pass


def say(line: str) -> None:
    print(f"prod-check: {line}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, probe, seconds: float = STEP_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise CheckFailed(f"no {what} within {seconds:g} s")


class Sink:
    """The SMTP server the outbox workers deliver to; keeps every message."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted"

    def find(self, to: str, containing: str):
        with self.lock:
            for message in self.messages:
                if message["To"] == to and containing in message.as_string():
                    return message
        return None


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


class Http:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        request = urllib.request.Request(
            self.base_url + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            return 0, {}, str(error)  # not listening yet, or gone

    def expect(self, status: int, method: str, path: str, **kwargs) -> tuple[dict, str]:
        got, headers, text = self.request(method, path, **kwargs)
        shown = re.sub(r"/[A-Za-z0-9_.-]{40,}", "/<token>", path)
        if got != status:
            raise CheckFailed(f"{method} {shown}: {got}, not {status}: {text[:300]}")
        say(f"{method} {shown} -> {got}")
        return headers, text
