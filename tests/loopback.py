"""A bare TCP server on 127.0.0.1 for tests that need raw sockets: each accepted connection
is handed to ``handle`` in its own daemon thread; everything stops with the ``with`` block."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def tcp_server(handle: Callable[[socket.socket, threading.Event], None]) -> Iterator[int]:
    """Yields the port. ``handle(conn, stop)`` owns ``conn``; ``stop`` is set at the end."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=handle, args=(conn, stop), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
