"""Real servers on loopback for the tests: a threaded HTTP(S) server whose handler is a plain
function, recording every request it receives. Binds 127.0.0.1 only; every wait has a
timeout."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pki import Cert, Issuer


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Handler = Callable[[Request], Response]


@dataclass
class Server:
    host: str
    port: int
    requests: list[Request]
    connections: list[int]

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"


def _handler_class(handler: Handler, requests: list[Request], stop: threading.Event) -> type:
    class _Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
            )
            requests.append(request)
            response = handler(request)
            if response.delay:
                stop.wait(response.delay)
            self.send_response(response.status)
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return _Handler


@contextmanager
def serve(
    handler: Handler,
    *,
    tls: tuple[Cert, list[Issuer]] | None = None,
    tmp_path: Path | None = None,
) -> Iterator[Server]:
    """Runs a server on 127.0.0.1 until the block ends. With ``tls=(leaf, [intermediates])``
    it speaks HTTPS presenting that chain."""
    requests: list[Request] = []
    connections: list[int] = []
    stop = threading.Event()
    context: ssl.SSLContext | None = None
    if tls is not None:
        leaf, intermediates = tls
        assert tmp_path is not None, "TLS needs tmp_path for the key files"
        chain_file, key_file = tmp_path / "server-chain.pem", tmp_path / "server-key.pem"
        chain_file.write_bytes(leaf.pem + b"".join(i.pem for i in intermediates))
        key_file.write_bytes(leaf.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain_file, key_file)

    class _Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self) -> tuple[Any, Any]:
            sock, address = super().get_request()
            connections.append(1)
            sock.settimeout(5)
            if context is not None:
                # The handshake runs in the handler thread, on first read.
                sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            return sock, address

    httpd = _Server(("127.0.0.1", 0), _handler_class(handler, requests, stop))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield Server("127.0.0.1", httpd.server_address[1], requests, connections)
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
