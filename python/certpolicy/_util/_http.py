"""HTTP fetches that can be closed from outside: urllib3 pools whose connections hand their
socket to the fetch of their thread, and :func:`cancellable`, which runs one fetch in a
thread of its own under a deadline and, when the deadline passes, closes the fetch's sockets
so that its thread ends at once instead of lingering (with its connection) until its per-read
timeouts run out. The revocation fetchers (CRL downloads, OCSP requests) and the fetcher of
missing intermediates (caIssuers URLs) run on it, and read what a server answers with the
helpers at the end: :func:`content_length` (a Content-Length that is no plain number is no
length, never an exception), :func:`content_encoded` (a body encoded although we never ask
for that is refused, never decompressed) and :func:`connection_failure` (why a connection
could not be made, in a few words).

How a fetch's sockets are reached: the pools of a fetcher (:func:`closable`) make
connections that, in a fetch thread, hand that thread's :class:`_Fetch` a handle on their
socket as soon as it is connected. Past the deadline the fetch is cancelled: every connection
it used is shut down (a blocked read, write or TLS handshake returns at once), a retry or a
backoff wait in progress ends (see :func:`current_fetch`), and no new attempt starts. Only a
TCP connect or a DNS lookup in progress cannot be interrupted; it ends with its own timeout
and the connection it makes is shut down at once.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError, NameResolutionError, NewConnectionError
from urllib3.poolmanager import pool_classes_by_scheme as _URLLIB3_POOL_CLASSES

from certpolicy._util._deadline import within

__all__ = [
    "Fetch",
    "FetchCancelled",
    "cancellable",
    "closable",
    "connection_failure",
    "content_encoded",
    "content_length",
    "current_fetch",
]

T = TypeVar("T")


class FetchCancelled(HTTPError):
    """Raised in a fetch thread whose deadline has passed (its caller has given up)."""


class Fetch:
    """One fetch running in its own thread, and a handle on each connection it used: a
    duplicate of the connection's socket (``os.dup``), which the thread that gave up on the
    fetch can shut down while the fetch thread is blocked on the original (in a read, a
    write or the TLS handshake). Shutting a socket down acts on the connection, whichever
    descriptor it goes through; a duplicate of our own is never closed and reused under us.
    The duplicates are closed when the fetch thread ends (:meth:`release`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._seen: list[socket.socket] = []  # the sockets adopted (kept for identity)
        self._handles: list[socket.socket] = []
        self._released = False

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> None:
        """Sleeps ``seconds`` (a retry's backoff), or less when cancelled meanwhile."""
        self._stop.wait(seconds)

    def adopt(self, sock: socket.socket | None) -> None:
        """Called in the fetch thread with a new connection's socket, and with the socket of
        a connection about to send a request (a reused one). After the cancellation, the
        connection is shut down at once and the fetch stops."""
        with self._lock:
            new = sock is not None and all(seen is not sock for seen in self._seen)
            if sock is not None and new and not self._released:
                self._seen.append(sock)
                with contextlib.suppress(OSError, ValueError):
                    self._handles.append(socket.socket(fileno=os.dup(sock.fileno())))
            if self.cancelled:
                self._shut_all()
        if self.cancelled:
            raise FetchCancelled("the fetch was cancelled: its deadline has passed")

    def cancel(self) -> None:
        """Shuts down every connection of the fetch: a blocked read or write returns at
        once, and the fetch makes no further attempt."""
        self._stop.set()
        with self._lock:
            self._shut_all()

    def release(self) -> None:
        """Closes the duplicates (the fetch thread is done with its connections)."""
        with self._lock:
            self._released = True
            handles, self._handles, self._seen = self._handles, [], []
        for handle in handles:
            handle.close()

    def _shut_all(self) -> None:
        for handle in self._handles:
            with contextlib.suppress(OSError):
                handle.shutdown(socket.SHUT_RDWR)


_local = threading.local()


def current_fetch() -> Fetch | None:
    """The fetch running in this thread (inside :func:`cancellable`), if any."""
    fetch: Fetch | None = getattr(_local, "fetch", None)
    return fetch


def _adopted(sock: socket.socket | None) -> None:
    fetch = current_fetch()
    if fetch is not None:
        fetch.adopt(sock)


class _ClosableHTTPConnection(HTTPConnection):
    """A connection that hands the fetch of its thread a handle on its socket: when it is
    made (before any TLS handshake), and before each request (a reused connection)."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _adopted(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _adopted(self.sock)
        super().request(*args, **kwargs)


class _ClosableHTTPSConnection(_ClosableHTTPConnection, HTTPSConnection):
    """The https:// :class:`_ClosableHTTPConnection` (the same two hooks, on urllib3's TLS
    connection, which derives from its plain one)."""


class _ClosableHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _ClosableHTTPConnection


class _ClosableHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _ClosableHTTPSConnection


_CLOSABLE_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": _ClosableHTTPConnectionPool,
    "https": _ClosableHTTPSConnectionPool,
}


def closable(manager: urllib3.PoolManager) -> urllib3.PoolManager:
    """``manager``, whose pools made from now on use connections a fetch can close at its
    deadline. A manager with pool classes of its own is left as it is (its fetches still
    end, with their per-read timeouts)."""
    classes = manager.pool_classes_by_scheme
    if classes is not _CLOSABLE_POOLS and dict(classes) == dict(_URLLIB3_POOL_CLASSES):
        manager.pool_classes_by_scheme = _CLOSABLE_POOLS
    return manager


def cancellable(what: str, seconds: float, work: Callable[[], T]) -> T:
    """Runs ``work`` (a fetch through :func:`closable` pools) in a thread of its own (named
    ``certpolicy <what>``) for at most ``seconds``. Raises :class:`TimeoutError` when the
    time runs out; the fetch's sockets are shut down then and its thread ends."""
    fetch = Fetch()

    def run() -> T:
        _local.fetch = fetch
        try:
            return work()
        finally:
            _local.fetch = None
            fetch.release()

    try:
        return within(seconds, what, run)
    except TimeoutError:
        fetch.cancel()
        raise


# A Content-Length we act on: 1 to 15 ASCII digits (a petabyte; more is no length we need).
_CONTENT_LENGTH = re.compile(r"[0-9]{1,15}")


def content_length(value: str | None) -> int | None:
    """A Content-Length header's value as a number, or None when there is none or it is not
    one plain decimal number of at most 15 ASCII digits (RFC 9110 section 8.6). Never raises,
    whatever the server sent: ``str.isdigit`` accepts "²" or "٣", which ``int`` refuses or
    reads as another number; a sign, several values ("5, 5") or a number of more digits are
    no length either. A fetch that gets None reads the body up to its size cap instead."""
    if value is None:
        return None
    value = value.strip(" \t")
    return int(value) if _CONTENT_LENGTH.fullmatch(value) else None


def content_encoded(value: str | None) -> bool:
    """Whether a Content-Encoding header's value says the body is encoded (gzip, deflate,
    br, zstd, anything but "identity"). The fetchers send no Accept-Encoding of their own
    (http.client sends "identity") and read bodies with ``decode_content=False``: an encoded
    body is refused, never decompressed (a small compressed body may expand far beyond the
    size caps, CVE-2025-66471)."""
    if value is None:
        return False
    return any(part.strip(" \t").lower() not in ("", "identity") for part in value.split(","))


def connection_failure(error: BaseException) -> str | None:
    """Why a connection could not be made, in a few words ("connection refused", "no
    connection (Network is unreachable)", "the host name does not resolve"), when ``error``
    is urllib3's error for that; None for any other error. (urllib3's NewConnectionError
    derives from its ConnectTimeoutError: a refused connection is no timeout.)"""
    if isinstance(error, NameResolutionError):
        return "the host name does not resolve"
    if not isinstance(error, NewConnectionError):
        return None
    cause = error.__cause__ or error.__context__
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, OSError) and cause.strerror:
        return f"no connection ({cause.strerror})"
    return "no connection"
