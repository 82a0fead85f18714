"""A TCP proxy a test controls, put between the app and PostgreSQL or Redis.

Outages are made here instead of by stopping the machine's services, which other tests and
other people use: cut() is a server gone (connections reset, new ones refused), freeze() a
server stopped with SIGSTOP or behind a network that drops packets (connections accepted, never
answered), restore() the server back. Frozen connections resume where they stopped, as after
SIGCONT; cut ones are gone.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from urllib.parse import urlsplit, urlunsplit

OPEN, CUT, FROZEN = "open", "cut", "frozen"
_POLL_SECONDS = 0.05


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset, as a host without the server answers."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._state = OPEN
        self._closed = False
        self._changed = threading.Condition()
        self._sockets: set[socket.socket] = set()
        threading.Thread(target=self._accept_loop, daemon=True).start()

    @classmethod
    def in_front_of(cls, url: str) -> TcpProxy:
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 0)

    def url(self, url: str) -> str:
        """`url` (a database or Redis URL) with its host and port replaced by this proxy's."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@" if credentials else ""
        return urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{self.port}"))

    def cut(self) -> None:
        with self._changed:
            self._state = CUT
            sockets, self._sockets = self._sockets, set()
            self._changed.notify_all()
        for sock in sockets:
            _reset(sock)

    def freeze(self) -> None:
        with self._changed:
            self._state = FROZEN
            self._changed.notify_all()

    def restore(self) -> None:
        with self._changed:
            self._state = OPEN
            self._changed.notify_all()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._state == CUT:
                _reset(client)
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _wait_until_not_frozen(self) -> str:
        with self._changed:
            while self._state == FROZEN and not self._closed:
                self._changed.wait()
            return self._state

    def _serve(self, client: socket.socket) -> None:
        with self._changed:
            self._sockets.add(client)
        if self._wait_until_not_frozen() != OPEN:
            _reset(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            return
        with self._changed:
            if self._state == CUT:
                _reset(upstream)
                _reset(client)
                return
            self._sockets.add(upstream)
        self._pump(client, upstream)

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        while True:
            if self._wait_until_not_frozen() != OPEN:
                return  # cut() has reset both sockets
            try:
                readable, _, _ = select.select(list(peers), [], [], _POLL_SECONDS)
                for sock in readable:
                    if self._state == FROZEN:
                        break  # read nothing more: the bytes wait in the kernel, unanswered
                    data = sock.recv(65536)
                    if not data:
                        raise ConnectionError("closed")
                    peers[sock].sendall(data)
            except (OSError, ValueError, ConnectionError):
                for sock in peers:
                    with self._changed:
                        self._sockets.discard(sock)
                    _reset(sock)
                return
