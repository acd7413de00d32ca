"""A CRL distribution point for the tests: a real HTTP server on 127.0.0.1 that serves CRLs
with ETag / Last-Modified and conditional GET, counts requests per path, and fails on demand
(HTTP errors, stalls past the client's timeout, bodies cut short, garbage, dropped
connections). Every wait is bounded; the server stops with its ``with`` block.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.server
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

Failure = Literal["500", "503", "404", "stall", "truncate", "garbage", "drop"]


@dataclass
class CrlSite:
    """What the server serves and what it saw. Mutate ``crls`` to publish a new CRL."""

    host: str = "127.0.0.1"
    port: int = 0
    crls: dict[str, bytes] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)  # path -> path it moved to
    # path -> failures to answer the next requests with, in order
    failures: dict[str, deque[Failure]] = field(default_factory=lambda: defaultdict(deque))
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    headers: list[dict[str, str]] = field(default_factory=list)
    not_modified: int = 0
    delay: float = 0.0  # seconds before answering any request
    stall: float = 3.0  # how long a "stall" failure waits before answering
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def fail(self, path: str, *failures: Failure) -> None:
        with self.lock:
            self.failures[path].extend(failures)

    def count(self, path: str) -> int:
        with self.lock:
            return self.requests[path]

    def reset(self) -> None:
        with self.lock:
            self.crls.clear()
            self.redirects.clear()
            self.failures.clear()
            self.requests.clear()
            self.headers.clear()
            self.not_modified = 0
            self.delay = 0.0


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def _handler(site: CrlSite) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            with site.lock:
                site.requests[self.path] += 1
                site.headers.append(dict(self.headers.items()))
                failures = site.failures.get(self.path)
                failure = failures.popleft() if failures else None
                body = site.crls.get(self.path)
                moved = site.redirects.get(self.path)
                delay = site.delay
            if delay:
                site.stop.wait(delay)
            if failure == "drop":
                self.close_connection = True
                return
            if failure == "stall":
                site.stop.wait(site.stall)
            if failure in ("500", "503", "404"):
                self._send(int(failure), b"failure on demand")
                return
            if moved is not None:
                self.send_response(302)
                self.send_header("Location", site.url(moved))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if failure == "garbage":
                self._send(200, b"\x30\x82\x01\x00 this is not a CRL")
                return
            if body is None:
                self._send(404, b"no such CRL")
                return
            etag = _etag(body)
            if self.headers.get("If-None-Match") == etag:
                with site.lock:
                    site.not_modified += 1
                self._send(304, b"", etag=etag)
                return
            if failure == "truncate":
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self._send(200, body, etag=etag)

        def _send(self, status: int, body: bytes, *, etag: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/pkix-crl")
            if etag is not None:
                self.send_header("ETag", etag)
                self.send_header(
                    "Last-Modified", email.utils.formatdate(time.time() - 60, usegmt=True)
                )
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def crl_site() -> Iterator[CrlSite]:
    """Runs a CRL server on 127.0.0.1 until the block ends."""
    site = CrlSite()

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self) -> tuple[Any, Any]:
            sock, address = super().get_request()
            sock.settimeout(10)
            return sock, address

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # clients that time out or hang up on purpose

    server = Server(("127.0.0.1", 0), _handler(site))
    site.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield site
    finally:
        site.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
