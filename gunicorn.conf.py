"""Production web server: `gunicorn -c gunicorn.conf.py` (README "Production", docs/deploy.md).

gevent workers, since a request mostly waits on the database (GUNICORN_WORKER_CLASS=gthread
serves the same app with threads). No access log: the app writes
one JSON line per request itself (operations/requests.py), with the path as its route names it,
so no token reaches the log; gunicorn's own messages are JSON lines through the same filter.
Each worker counts its metrics in PROMETHEUS_MULTIPROC_DIR, which GET /metrics adds up.
"""

import contextlib
import errno
import glob
import logging
import os
import re
import socket
import sys
from pathlib import Path

from gunicorn.glogging import Logger

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gevent, the production configuration (README "Production"): a request waiting on PostgreSQL
# or Redis yields to the worker's other requests in the same thread, with no thread switch and
# no GIL hand-over, and the new addresses of many requests at once are written in one statement
# (newsletters/signup_writes.py). gevent patches the standard library in each worker before the
# app is imported; psycopg (3.1.14 and later) then waits through it. 1.6 times the signups of
# 2 gthread workers × 8 threads in make bench (bench/results.md).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# gevent: connections a worker serves at once, each a greenlet (gthread: threads above).
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "64"))
wsgi_app = "app:create_app()"
# A request a worker has not answered in this long is killed with it; /readyz answers in 3 s.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
forwarded_allow_ips = "*" if int(os.environ.get("PROXY_COUNT", "0")) > 0 else "127.0.0.1"
# Each worker listens on a socket of its own and the kernel spreads new connections over them.
# On one shared socket, whichever worker is awake accepts: one worker could end up holding every
# keep-alive connection (32 of 32 in make bench) and serve them on one core while the other
# idles, at a quarter of the throughput (bench/results.md, 2026-12-01 "connections spread").
# on_starting turns it off for a Unix socket or port 0, and refuses a port already served.
reuse_port = True

accesslog = None


class ServerLogger(Logger):
    """gunicorn's logger, minus the access line's fields when nobody would see the line, and
    minus the start-up line that names no address.

    A logging configuration (logconfig_dict below) makes gunicorn format every request's access
    fields (a date, a dozen headers), ~3 % of a worker's CPU, only for "gunicorn.access" to drop
    the line at WARNING. Should that logger be set to INFO, the line is written as before.
    """

    def access(self, resp, req, environ, request_time):
        if self.access_log.isEnabledFor(logging.INFO):
            super().access(resp, req, environ, request_time)

    def info(self, msg, *args, **kwargs):
        if msg == "Listening at: %s (%s)" and args[:1] == ("",):
            return  # a socket in each worker, none in the master: when_ready says where
        super().info(msg, *args, **kwargs)


logger_class = ServerLogger
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    # The app's own handler (logs.json_handler): JSON, request ids, secrets scrubbed.
    "handlers": {"json": {"()": "logs.json_handler"}},
    "root": {"level": loglevel.upper(), "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
}

# Every process of this deployment (web workers here, `outbox work` beside them) must see the
# same directory: set PROMETHEUS_MULTIPROC_DIR in the environment they share; this default
# keeps a lone `gunicorn -c gunicorn.conf.py` counting across its workers.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", str(Path(__file__).resolve().parent / "instance" / "prometheus")
)
_METRICS_FILE = re.compile(r"_(\d+)\.db$")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_starting(server):
    """Start from a clean directory: files of processes gone (an earlier run) are removed.

    Files of processes still running, such as the `outbox work` processes beside this server,
    are kept, or their deliveries would vanish from /metrics. Bound to a Unix socket (or a
    file descriptor), the workers share one listener as gunicorn does by default.
    """
    share_one_listener_where_each_worker_cannot_bind(server)
    take_over_from_a_master_without_listeners(server)
    refuse_a_port_already_served(server)
    warn_if_reloads_reset_connections(server)
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for path in glob.glob(os.path.join(directory, "*.db")):
        match = _METRICS_FILE.search(path)
        if match is None or not _running(int(match.group(1))):
            # Another server starting from this directory at the same moment may have
            # removed it first.
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)


def on_reload(server):
    """A reload (HUP) reads this file again, reuse_port with it, before the new workers start."""
    share_one_listener_where_each_worker_cannot_bind(server)
    leave_listening_to_the_workers(server)


def share_one_listener_where_each_worker_cannot_bind(server) -> None:
    """Each worker binding a Unix socket's path would remove the file of the one before; each
    binding port 0 would get a port of its own: there the workers share the master's one."""
    if any(not isinstance(address, tuple) or address[1] == 0 for address in server.cfg.address):
        server.cfg.set("reuse_port", False)


def leave_listening_to_the_workers(server) -> None:
    """A reload that moves the bind has gunicorn (27.0.1, Arbiter.reload) open the new address
    in the master too, whatever reuse_port says. Beside the workers' own sockets, the kernel
    would then hand the master's a share of new connections, which nobody accepts: closed."""
    if not (server.cfg.reuse_port and hasattr(socket, "SO_REUSEPORT")):
        return
    for listener in server.LISTENERS:
        listener.close()
    server.LISTENERS = []


def take_over_from_a_master_without_listeners(server) -> None:
    """USR2 starts a new master beside the old one and hands it the old one's listeners in
    GUNICORN_FD. With a socket in each worker the old master holds none, and gunicorn would
    stop on the empty list ("invalid literal for int()"); the new master's workers bind sockets
    of their own anyway, so the list is read and then not used."""
    if server.master_pid and server.cfg.reuse_port and os.environ.get("GUNICORN_FD") == "":
        os.environ["GUNICORN_FD"] = "-1"


def refuse_a_port_already_served(server) -> None:
    """Stop at once if another server listens on our port.

    Sockets that all ask for reuse_port may share a port: a second gunicorn started on a port in
    use (an old one left running) would start without a word and take a share of its
    connections. A plain bind, as gunicorn makes without reuse_port, still fails then. A new
    master started by USR2 (master_pid set) is meant to serve beside the old one for a while."""
    if not server.cfg.reuse_port or server.master_pid:
        return
    for host, port in server.cfg.address:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                server.log.error(
                    "%s:%s is already served by another process: not starting", host, port
                )
                sys.exit(1)


_MIGRATE_REQUESTS = Path("/proc/sys/net/ipv4/tcp_migrate_req")


def warn_if_reloads_reset_connections(server, setting: Path = _MIGRATE_REQUESTS) -> None:
    """With a socket a worker, connections still queued on a stopping worker's socket (a reload,
    a restart) are reset unless the kernel hands them to the others: measured, two reloads
    under load reset 33 connections with the setting at 0 and none at 1."""
    if not server.cfg.reuse_port:
        return
    try:
        value = setting.read_text().strip()
    except OSError:
        return  # not Linux, or a kernel before 5.14 (no such setting)
    if value != "1":
        server.log.warning(
            "net.ipv4.tcp_migrate_req is %s: a reload or a worker's restart resets connections "
            "waiting on that worker's socket; set it to 1 (docs/deploy.md)",
            value,
        )


def when_ready(server):
    """With a socket in each worker the master opens none, and gunicorn's own line says
    "Listening at:  (pid)" with no address: say where the workers listen."""
    if server.LISTENERS:
        return
    scheme = "https" if server.cfg.is_ssl else "http"
    for address in server.cfg.address:
        if not isinstance(address, tuple):
            continue  # a Unix socket or a descriptor: shared from the master, said by gunicorn
        host, port = address
        shown = f"[{host}]" if ":" in host else host
        server.log.info("Listening at: %s://%s:%s (a socket in each worker)", scheme, shown, port)


def child_exit(server, worker):
    """A worker that exits stops counting in the live gauges; its counters stay in the sum."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _is_gevent(worker) -> bool:
    return type(worker).__module__ == "gunicorn.workers.ggevent"


_WORKER_BOOT_ERROR = 3  # gunicorn's Arbiter.WORKER_BOOT_ERROR: the master stops, not retries


def refuse_blocking_database_waits(worker) -> None:
    """psycopg chooses how it waits when first imported. Imported before gevent patched the
    worker (preload_app, or an import in this file), it would wait on PostgreSQL holding up
    every request of the worker, unseen until the first slow query: then the server stops."""
    if not _is_gevent(worker):
        return
    from psycopg import waiting

    if waiting.wait is getattr(waiting, "wait_c", None):
        worker.log.error(
            "psycopg was imported before gevent patched this worker (preload_app?): each wait "
            "on PostgreSQL would hold up every request of the worker; not serving"
        )
        sys.exit(_WORKER_BOOT_ERROR)


def post_request(worker, req, environ, resp):
    """In a gevent worker, after each answer the worker's other connections go first. A
    keep-alive connection whose next request has already come would otherwise be served again
    at once, and under load a few connections hold the worker while the others wait: in make
    bench, GET /api/goal's 99th percentile was 214 ms; the bare endpoint's fell from 86-121 ms
    to 8 ms with this, for an eighth fewer answers a second (signups: a tenth more)."""
    if _is_gevent(worker):
        import gevent

        gevent.idle()


def post_worker_init(worker):
    """Once the worker has built the app, its ~160,000 objects (modules, the app, SQLAlchemy's
    and Flask's tables) live as long as the process: gc.freeze() takes them out of the cyclic
    collector's full collections, which otherwise walk them all with every thread of the
    worker stopped (~60 ms each on the bench machine, ~2 ms frozen; bench/results.md, branch
    p10-checkout). Collected first, so that start-up's own garbage is not kept for good."""
    refuse_blocking_database_waits(worker)
    import gc

    gc.collect()
    gc.freeze()
