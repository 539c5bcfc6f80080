"""Keep-alive HTTP/1.1 connections to one hub, shared by the threads of one client."""

from __future__ import annotations

import http.client
import select
import ssl
import threading
from dataclasses import dataclass
from typing import Mapping, Optional
from urllib.parse import urlsplit

# Failures of a connection taken from the pool that mean "the hub closed it while it was idle"
# (its idle timeout, a restart), not "the request failed".
_STALE_CONNECTION_ERRORS = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
)


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class ConnectionPool:
    """Up to ``max_idle`` idle connections to the hub, reused across calls and threads.

    A connection is used by one request at a time and goes back to the pool once its answer is
    read whole (unless either side said ``Connection: close``). Thread-safe.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        max_idle: int = 4,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be http(s)://HOST[:PORT][/PREFIX], not {base_url!r}")
        if parts.query or parts.fragment:
            raise ValueError("base_url must not have a query or fragment")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.max_idle = max_idle
        self._ssl_context = ssl_context
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False
        self.connections_opened = 0  # diagnostics: new connections made so far

    def _new_connection(self) -> http.client.HTTPConnection:
        with self._lock:
            self.connections_opened += 1
        if self.scheme == "https":
            context = self._ssl_context or ssl.create_default_context()
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=context)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _take_idle(self) -> Optional[http.client.HTTPConnection]:
        while True:
            with self._lock:
                if not self._idle:
                    return None
                conn = self._idle.pop()
            if _looks_alive(conn):
                return conn
            conn.close()

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def request(
        self,
        method: str,
        path: str,
        body: Optional[bytes],
        headers: Mapping[str, str],
        *,
        replayable: bool,
    ) -> RawResponse:
        """Sends one request and reads its whole answer.

        When a pooled connection turns out to have been closed by the hub before any answer
        came, the request is sent again once on a new connection if ``replayable`` (the hub
        cannot have acted on it twice: a GET, PUT or DELETE, or a request with an
        ``Idempotency-Key``). Otherwise, and for every other failure, the error is raised:
        ``OSError`` or ``http.client.HTTPException``.
        """
        if self._closed:
            raise RuntimeError("the client is closed")
        conn = self._take_idle()
        reused = conn is not None
        while True:
            if conn is None:
                conn = self._new_connection()
            try:
                conn.request(method, self.prefix + path, body=body, headers=dict(headers))
                response = conn.getresponse()
                data = response.read()
            except _STALE_CONNECTION_ERRORS:
                conn.close()
                if reused and replayable:
                    conn, reused = None, False
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            answer = RawResponse(
                status=response.status,
                headers={k.lower(): v for k, v in response.getheaders()},
                body=data,
            )
            if response.will_close:
                conn.close()
            else:
                self._give_back(conn)
            return answer

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _looks_alive(conn: http.client.HTTPConnection) -> bool:
    """An idle connection is readable only when the hub closed it (EOF, RST) or sent bytes no
    request asked for: either way it must not be reused."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return False
        if hasattr(select, "poll"):  # no FD_SETSIZE limit, unlike select()
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return not poller.poll(0)
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
