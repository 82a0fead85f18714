"""gunicorn.conf.py as an operator runs it: two workers that both take connections, on a TCP
port, port 0 or a Unix socket, after a reload (one that moves the port too) and across an
upgrade (USR2); no second server on a port in use; a warning when reloads would reset
connections; and no access line's work done when the line is not written."""

from __future__ import annotations

import http.client
import logging
import os
import re
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gunicorn.config import Config

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LISTEN, ESTABLISHED = "0A", "01"


def _environment(tmp_path: Path) -> dict[str, str]:
    return {
        "APP_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "WEB_CONCURRENCY": "2",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
    }


def _command(bind: str) -> list[str]:
    return [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--no-control-socket", "-b", bind]


def _start(
    bind: str, tmp_path: Path, stderr=subprocess.DEVNULL, **settings: str
) -> subprocess.Popen:
    return subprocess.Popen(
        _command(bind),
        cwd=ROOT,
        env={**_environment(tmp_path), **settings},
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=40)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _workers(master: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == master:
                pids.append(int(entry))
    return sorted(pids)


def _wait_for_workers(master: int, count: int, answered) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        workers = _workers(master)
        if len(workers) == count and answered():
            return workers
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not start {count} answering workers")


def _tcp_sockets(port: int, state: str) -> set[str]:
    """Inodes of the TCP sockets whose local port is `port`, in `state`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _healthz(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
@pytest.mark.parametrize("worker_class", ["gthread", "gevent"])  # threads; the default
def test_each_worker_listens_on_its_own_socket_and_both_hold_keep_alive_connections(
    tmp_path, worker_class
):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as stderr:
        server = _start(f"127.0.0.1:{port}", tmp_path, stderr, GUNICORN_WORKER_CLASS=worker_class)
    try:
        workers = _wait_for_workers(server.pid, 2, lambda: _healthz(port))
        listeners = _tcp_sockets(port, LISTEN)
        own = [_socket_inodes(worker) & listeners for worker in workers]
        assert all(len(listening) == 1 for listening in own)
        assert own[0] != own[1]  # not the one socket the master opened and shared
        assert not _socket_inodes(server.pid) & listeners

        connections = []
        for _ in range(32):  # wrk's count in make bench, each kept alive
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            assert response.status == 200
            response.read()
            connections.append(connection)
        established = _tcp_sockets(port, ESTABLISHED)
        held = [len(_socket_inodes(worker) & established) for worker in workers]
        assert sum(held) == 32
        assert min(held) >= 4, held  # all 32 on one worker, one core, was seen in make bench
        for connection in connections:
            connection.close()
    finally:
        _stop(server)
    assert f"Using worker: {worker_class}" in log.read_text()


def test_the_log_says_where_the_workers_listen(tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as stderr:
        server = _start(f"127.0.0.1:{port}", tmp_path, stderr)
    try:
        _wait_for_workers(server.pid, 2, lambda: _healthz(port))
        said = log.read_text()
    finally:
        _stop(server)
    assert f"Listening at: http://127.0.0.1:{port} (a socket in each worker)" in said
    assert not re.search(r"Listening at: +\(\d+\)", said)  # gunicorn's own, with no address


def test_gevent_workers_whose_database_waits_would_block_refuse_to_serve(tmp_path):
    # --preload loads the app, psycopg with it, in the master before gevent patches a worker.
    port = free_port()
    environment = _environment(tmp_path) | {
        "GUNICORN_WORKER_CLASS": "gevent",
        "GUNICORN_CMD_ARGS": "--preload",
    }
    stopped = subprocess.run(
        _command(f"127.0.0.1:{port}"),
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stopped.returncode != 0
    assert "psycopg was imported before gevent patched this worker" in stopped.stderr
    assert not _healthz(port)


def _read_answers(connection: socket.socket, count: int, done: threading.Event) -> None:
    seen, tail = 0, b""
    while seen < count:
        data = connection.recv(65536)
        if not data:
            break
        tail += data
        seen += tail.count(b"HTTP/1.1 200")
        tail = tail[tail.rfind(b"HTTP/1.1 200") + 1 :] if b"HTTP/1.1 200" in tail else tail[-16:]
    done.set()


def test_a_gevent_worker_answers_others_between_the_requests_of_a_busy_connection(tmp_path):
    # A connection whose next request has already come (here: 2,000 sent at once) would be
    # served to its end before anyone else, as a busy keep-alive client's are under load.
    port = free_port()
    settings = {"WEB_CONCURRENCY": "1", "GUNICORN_WORKER_CLASS": "gevent"}
    server = _start(f"127.0.0.1:{port}", tmp_path, **settings)
    try:
        _wait_for_workers(server.pid, 1, lambda: _healthz(port))
        busy = socket.create_connection(("127.0.0.1", port))
        all_answered = threading.Event()
        reader = threading.Thread(target=_read_answers, args=(busy, 2000, all_answered))
        reader.start()
        busy.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n" * 2000)
        time.sleep(0.02)  # the worker is into the busy connection's requests
        assert _healthz(port)
        answered_meanwhile = not all_answered.is_set()
        reader.join(timeout=30)
        busy.close()
    finally:
        _stop(server)
    assert all_answered.is_set()
    assert answered_meanwhile


def test_a_second_server_on_a_port_in_use_refuses_to_start(tmp_path):
    port = free_port()
    first = _start(f"127.0.0.1:{port}", tmp_path)
    try:
        workers = _wait_for_workers(first.pid, 2, lambda: _healthz(port))
        second = subprocess.run(
            _command(f"127.0.0.1:{port}"),
            cwd=ROOT,
            env=_environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert f"127.0.0.1:{port} is already served by another process" in second.stderr
        # Only the first server's two workers listen; it goes on answering.
        listeners = _tcp_sockets(port, LISTEN)
        assert len(listeners) == 2
        assert listeners <= _socket_inodes(workers[0]) | _socket_inodes(workers[1])
        assert _healthz(port)
    finally:
        _stop(first)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_on_port_0_both_workers_share_the_one_port_picked(tmp_path):
    log = tmp_path / "gunicorn.log"
    with log.open("w") as stderr:
        server = _start("127.0.0.1:0", tmp_path, stderr)

    def port() -> int | None:
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log.read_text())
        return int(found.group(1)) if found else None

    try:
        workers = _wait_for_workers(server.pid, 2, lambda: port() and _healthz(port()))
        listeners = _tcp_sockets(port(), LISTEN)
        assert len(listeners) == 1  # each worker binding port 0 would have got one of its own
        assert all(_socket_inodes(worker) & listeners for worker in workers)
    finally:
        _stop(server)


def _answered_on(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(2)
            client.connect(str(path))
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return client.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _listening_unix_sockets(path: Path) -> int:
    """Unix sockets bound at `path` that listen (/proc/net/unix: flags __SO_ACCEPTCON), those
    whose file a later bind replaced included."""
    rows = (line.split() for line in Path("/proc/net/unix").read_text().splitlines()[1:])
    return sum(1 for row in rows if len(row) == 8 and row[7] == str(path) and row[3] == "00010000")


def test_bound_to_a_unix_socket_both_workers_share_it(tmp_path):
    path = tmp_path / "web.sock"
    server = _start(f"unix:{path}", tmp_path)
    try:
        _wait_for_workers(server.pid, 2, lambda: _answered_on(path))
        time.sleep(0.5)  # had each worker bound the path, the last would have replaced the file
        assert all(_answered_on(path) for _ in range(20))
    finally:
        _stop(server)


@pytest.mark.skipif(not Path("/proc/net/unix").exists(), reason="reads Linux's /proc")
def test_after_a_reload_the_new_workers_still_share_the_unix_socket(tmp_path):
    # A reload (systemctl reload: HUP) reads gunicorn.conf.py again, reuse_port with it.
    path = tmp_path / "web.sock"
    server = _start(f"unix:{path}", tmp_path)
    try:
        before = _wait_for_workers(server.pid, 2, lambda: _answered_on(path))
        _reload(server, before)
        _wait_for_workers(server.pid, 2, lambda: _answered_on(path))
        time.sleep(0.5)
        assert _listening_unix_sockets(path) == 1  # the master's, not one a worker
        assert all(_answered_on(path) for _ in range(20))
    finally:
        _stop(server)


def _reload(server: subprocess.Popen, workers_before: list[int]) -> None:
    """HUP, as `systemctl reload` sends it; back once the old workers are replaced."""
    os.kill(server.pid, signal.SIGHUP)
    deadline = time.monotonic() + 30
    while set(_workers(server.pid)) & set(workers_before) or len(_workers(server.pid)) != 2:
        assert time.monotonic() < deadline, "no new workers after the reload"
        time.sleep(0.2)


# gunicorn.conf.py as it is, but for the address, read from a file at each (re)load.
_MOVABLE_CONF = """
import runpy
globals().update(
    (name, value) for name, value in runpy.run_path({conf!r}).items() if not name.startswith("__")
)
with open({bind_file!r}) as bound:
    bind = bound.read().strip()
"""


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_a_reload_that_moves_the_port_leaves_the_new_port_to_the_workers(tmp_path):
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    bind_file = tmp_path / "bind"
    bind_file.write_text(f"127.0.0.1:{first}")
    conf = tmp_path / "movable.conf.py"
    conf.write_text(
        _MOVABLE_CONF.format(conf=str(ROOT / "gunicorn.conf.py"), bind_file=str(bind_file))
    )
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", str(conf), "--no-control-socket"],
        cwd=ROOT,
        env=_environment(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        before = _wait_for_workers(server.pid, 2, lambda: _healthz(first))
        bind_file.write_text(f"127.0.0.1:{second}")
        _reload(server, before)
        workers = _wait_for_workers(server.pid, 2, lambda: _healthz(second))
        listeners = _tcp_sockets(second, LISTEN)
        # A listener in the master, where nobody accepts, would keep a share of the connections
        # waiting until they time out.
        assert not listeners & _socket_inodes(server.pid)
        assert listeners <= _socket_inodes(workers[0]) | _socket_inodes(workers[1])
        assert len(listeners) == 2
        assert all(_healthz(second) for _ in range(30))
    finally:
        _stop(server)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_an_upgrade_by_usr2_starts_a_new_master_that_serves_once_the_old_one_stops(tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as stderr:
        old = _start(f"127.0.0.1:{port}", tmp_path, stderr)
    new_master = None
    try:
        old_workers = _wait_for_workers(old.pid, 2, lambda: _healthz(port))
        os.kill(old.pid, signal.SIGUSR2)
        deadline = time.monotonic() + 30
        while new_master is None:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
            started = [pid for pid in _workers(old.pid) if pid not in old_workers]
            if started and len(_workers(started[0])) == 2:
                new_master = started[0]
        _stop(old)  # as an operator ends an upgrade: the old master and its workers go
        assert _wait_for_workers(new_master, 2, lambda: _healthz(port))
        assert "Traceback" not in log.read_text()
    finally:
        _stop(old)
        if new_master is not None:
            _stop_pid(new_master)


def _stop_pid(pid: int) -> None:
    """Stops a master this test did not start (nothing here reaps it: gone or a zombie)."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return
        if stat[stat.rindex(")") + 2] == "Z":
            return
        time.sleep(0.1)


@pytest.fixture
def access_logger(tmp_path, monkeypatch):
    # Loading the file sets PROMETHEUS_MULTIPROC_DIR unless it is set: keep this process's own.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = Config()
    config.set("logconfig_dict", settings["logconfig_dict"])
    logger = settings["logger_class"](config)
    built = []
    monkeypatch.setattr(logger, "atoms", lambda *args: built.append(args) or {"s": "200"})
    written = []
    handler = logging.Handler()
    handler.emit = written.append
    logger.access_log.addHandler(handler)
    yield logger, built, written
    logger.access_log.removeHandler(handler)
    logger.access_log.setLevel(logging.WARNING)


def test_the_access_line_is_not_built_while_its_logger_drops_it(access_logger):
    logger, built, written = access_logger
    assert logger.access_log.level == logging.WARNING  # gunicorn.conf.py: no access log
    logger.access(object(), object(), {}, 0.01)
    assert built == [] and written == []


def test_the_access_line_is_written_once_its_logger_is_turned_up(access_logger):
    logger, built, written = access_logger
    logger.access_log.setLevel(logging.INFO)
    logger.access(object(), object(), {}, 0.01)
    assert len(built) == 1 and len(written) == 1


def test_the_start_up_line_is_left_out_only_where_it_names_no_address(access_logger):
    logger, _, _ = access_logger
    said = []
    handler = logging.Handler()
    handler.emit = said.append
    logger.error_log.addHandler(handler)
    try:
        logger.info("Listening at: %s (%s)", "", 4242)  # no socket in the master
        logger.info("Listening at: %s (%s)", "unix:/run/web.sock", 4242)
    finally:
        logger.error_log.removeHandler(handler)
    assert [record.getMessage() for record in said] == ["Listening at: unix:/run/web.sock (4242)"]


class _Server:
    def __init__(self, reuse_port: bool, bind: str = "127.0.0.1:8000", master_pid: int = 0):
        self.cfg = Config()
        self.cfg.set("reuse_port", reuse_port)
        self.cfg.set("bind", [bind])
        self.master_pid = master_pid
        self.warnings: list[str] = []
        self.errors: list[str] = []

    @property
    def log(self):
        return self

    def warning(self, message: str, *args) -> None:
        self.warnings.append(message % args)

    def error(self, message: str, *args) -> None:
        self.errors.append(message % args)


@pytest.fixture
def conf(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


@pytest.mark.parametrize("value, warned", [("0\n", True), ("1\n", False)])
def test_the_operator_is_told_when_reloads_would_reset_waiting_connections(
    conf, tmp_path, value, warned
):
    setting = tmp_path / "tcp_migrate_req"
    setting.write_text(value)
    server = _Server(reuse_port=True)
    conf["warn_if_reloads_reset_connections"](server, setting)
    assert bool(server.warnings) is warned
    assert all("net.ipv4.tcp_migrate_req is 0" in line for line in server.warnings)


def test_nothing_is_said_with_one_shared_socket_or_without_the_setting(conf, tmp_path):
    setting = tmp_path / "tcp_migrate_req"
    setting.write_text("0\n")
    shared = _Server(reuse_port=False)
    conf["warn_if_reloads_reset_connections"](shared, setting)
    older_kernel = _Server(reuse_port=True)
    conf["warn_if_reloads_reset_connections"](older_kernel, tmp_path / "missing")
    assert shared.warnings == [] and older_kernel.warnings == []


def test_a_master_started_by_usr2_may_share_the_port_with_the_old_one(conf):
    with socket.socket() as old_server:
        old_server.bind(("127.0.0.1", 0))
        old_server.listen()
        bind = f"127.0.0.1:{old_server.getsockname()[1]}"
        upgrade = _Server(reuse_port=True, bind=bind, master_pid=4321)
        conf["refuse_a_port_already_served"](upgrade)  # returns: no exit
        fresh_start = _Server(reuse_port=True, bind=bind)
        with pytest.raises(SystemExit):
            conf["refuse_a_port_already_served"](fresh_start)
    assert upgrade.errors == [] and len(fresh_start.errors) == 1
