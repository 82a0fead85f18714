"""A TCP proxy a test controls, put between the app and PostgreSQL, Redis or an SMTP server.

    proxy = TcpProxy(("127.0.0.1", 5432)).start()   # listens on proxy.port
    proxy.cut()       # a server gone: every open connection reset, new ones refused
    proxy.freeze()    # a server stopped with SIGSTOP, or a network dropping packets:
                      # connections accepted, nothing answered
    proxy.restore()   # relaying again; frozen connections resume where they stopped
    proxy.stop()

Point the client at 127.0.0.1:proxy.port, or let proxy.url(DATABASE_URL) rewrite a URL.
Outages are made here rather than by stopping the machine's services, which other tests and
other people use.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from urllib.parse import urlsplit, urlunsplit

_POLL_SECONDS = 0.05


class TcpProxy:
    def __init__(self, target: tuple[str, int], *, host: str = "127.0.0.1", port: int = 0):
        self.target = target
        self.host = host
        self.port = port
        self.connections = 0  # accepted so far, for tests that want to see a reconnect
        self._listener: socket.socket | None = None
        self._frozen = False
        self._changed = threading.Condition()
        self._sockets: set[socket.socket] = set()

    @classmethod
    def in_front_of(cls, url: str) -> TcpProxy:
        """A started proxy to the host and port of `url` (a database or Redis URL)."""
        parts = urlsplit(url)
        return cls((parts.hostname or "127.0.0.1", parts.port or 0)).start()

    def url(self, url: str) -> str:
        """`url` with its host and port replaced by this proxy's."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@" if credentials else ""
        return urlunsplit(parts._replace(netloc=f"{netloc}{self.host}:{self.port}"))

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """Reset every relayed connection and stop listening (new connections are refused)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
            _close(listener)
        with self._changed:
            self._frozen = False
            sockets, self._sockets = self._sockets, set()
            self._changed.notify_all()
        for sock in sockets:
            _reset(sock)

    def freeze(self) -> None:
        with self._changed:
            self._frozen = True
            self._changed.notify_all()

    def restore(self) -> None:
        """Relay again: listen again on the same port after a cut, resume after a freeze."""
        with self._changed:
            self._frozen = False
            self._changed.notify_all()
        if self._listener is None:
            self.start()

    def stop(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _wait_while_frozen(self, sock: socket.socket) -> bool:
        """False once the connection was cut meanwhile."""
        with self._changed:
            while self._frozen and sock in self._sockets:
                self._changed.wait()
            return sock in self._sockets

    def _serve(self, client: socket.socket) -> None:
        with self._changed:
            self._sockets.add(client)
        if not self._wait_while_frozen(client):
            return  # a new connection to a frozen server, cut before it thawed
        try:
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
        except OSError:
            _reset(client)
            return
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._changed:
            if client not in self._sockets:
                _reset(upstream)
                return
            self._sockets.add(upstream)
            self.connections += 1
        self._relay(client, upstream)

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        try:
            while self._wait_while_frozen(client):
                readable, _, _ = select.select(list(peers), [], [], _POLL_SECONDS)
                for sock in readable:
                    if self._frozen:
                        break  # read nothing more: the bytes wait in the kernel, unanswered
                    data = sock.recv(65536)
                    if not data:
                        return  # one side closed: close both
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            pass  # cut, or the peer went away
        finally:
            with self._changed:
                self._sockets.difference_update(peers)
            for sock in peers:
                _reset(sock)


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (RST, not FIN): the peer sees the connection die, not end."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    _close(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
