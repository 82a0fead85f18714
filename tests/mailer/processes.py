"""Worker processes as an operator runs them: `flask outbox work` in a process of its own."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def start_worker(database_url: str, smtp_url: str, app: str = "app", **settings) -> Worker:
    """`flask --app APP outbox work` with these settings in its environment."""
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SMTP_URL": smtp_url,
        "SECRET_KEY": "test-secret-key",
        "APP_ENV": "development",
        "PYTHONUNBUFFERED": "1",
        "MAIL_FROM": "newsletters@newsroom.test",
    }
    env |= {name: str(value) for name, value in settings.items()}
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", app, "outbox", "work", "--poll-interval", "0.2"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return Worker(process, LineReader(process.stdout))


class Worker:
    def __init__(self, process: subprocess.Popen, output: LineReader) -> None:
        self.process = process
        self.output = output

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """kill -9: no cleanup of any kind."""
        self.process.kill()
        self.process.wait()


class LineReader:
    """Collects a child's output on a thread, so waiting for a line never blocks for ever."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 30) -> None:
        if any(text in line for line in self.lines):
            return
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"no {text!r} in the worker's output:\n{self.text()}")
            if line is None:
                pytest.fail(f"the worker ended without printing {text!r}:\n{self.text()}")
            self.lines.append(line)
            if text in line:
                return

    def text(self) -> str:
        """Everything printed so far."""
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return "".join(self.lines)
