"""A real HTTPS server on 127.0.0.1 for the TLS and integration tests, which counts what it
receives: connections, completed handshakes, resumed sessions and application bytes after
the handshake (to prove a rejected server got no request byte). The tests at the end check
that the counting itself works, so a zero elsewhere means something."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from pki import END, START, Cert, Issuer, Pki, _san, name, new_key

MAX_REQUEST_BYTES = 1 << 20


@dataclass
class Connection:
    """What one accepted connection did."""

    handshake: bool = False
    session_reused: bool = False
    app_bytes: int = 0
    request_lines: list[str] = field(default_factory=list)
    handshake_error: str | None = None
    client_cert: bool = False  # the client presented a certificate


@dataclass
class TlsServer:
    """A running server: ``url``, ``port`` and what it has received so far."""

    port: int
    connections: list[Connection]
    lock: threading.Lock
    workers: list[threading.Thread] = field(default_factory=list)

    host: str = "127.0.0.1"

    def settle(self, timeout: float = 10.0) -> None:
        """Waits until every connection so far has been handled to its end (the client
        closed), so the counts are final."""
        with self.lock:
            workers = list(self.workers)
        for worker in workers:
            worker.join(timeout)
            assert not worker.is_alive(), "a server connection did not finish"

    def url(self, name: str = "localhost", path: str = "/") -> str:
        return f"https://{name}:{self.port}{path}"

    @property
    def app_bytes(self) -> int:
        """Application bytes received after handshakes, over all connections."""
        with self.lock:
            return sum(c.app_bytes for c in self.connections)

    @property
    def requests(self) -> list[str]:
        with self.lock:
            return [line for c in self.connections for line in c.request_lines]

    @property
    def handshakes(self) -> int:
        with self.lock:
            return sum(c.handshake for c in self.connections)


BODY = b"hello from the test server"


def _serve_connection(
    raw: socket.socket, context: ssl.SSLContext, record: Connection, lock: threading.Lock
) -> None:
    raw.settimeout(5)
    try:
        tls = context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
    except OSError:
        raw.close()
        return
    with tls:
        try:
            tls.do_handshake()
        except (OSError, ValueError) as exc:
            with lock:
                record.handshake_error = repr(exc)
            return
        with lock:
            record.handshake = True
            record.session_reused = tls.session_reused
            record.client_cert = tls.getpeercert(binary_form=True) is not None
        buffer = b""
        while len(buffer) < MAX_REQUEST_BYTES:
            try:
                data = tls.recv(65536)
            except (OSError, ValueError):
                return
            if not data:
                return
            with lock:
                record.app_bytes += len(data)
            buffer += data
            head, sep, rest = buffer.partition(b"\r\n\r\n")
            if not sep:
                continue
            length = 0
            for line in head.split(b"\r\n")[1:]:
                key, _, value = line.partition(b":")
                if key.strip().lower() == b"content-length":
                    length = int(value.strip() or 0)
            if len(rest) < length:
                continue
            with lock:
                record.request_lines.append(head.split(b"\r\n")[0].decode("latin-1"))
            response = (
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
                + BODY
            )
            with contextlib.suppress(OSError, ValueError):
                tls.sendall(response)
            return


@contextmanager
def tls_server(
    chain: list[Cert],
    key_pem: bytes,
    tmp_path: Path,
    *,
    tls13: bool = True,
    client_ca: bytes | None = None,
) -> Iterator[TlsServer]:
    """Serves HTTPS on 127.0.0.1 presenting ``chain`` (leaf first) until the block ends.
    Session tickets are on (Python's default), so clients can resume sessions. With
    ``client_ca`` (PEM) clients must present a certificate issued by it."""
    directory = tmp_path / f"server-{id(chain)}"
    directory.mkdir(exist_ok=True)
    chain_file, key_file = directory / "chain.pem", directory / "key.pem"
    chain_file.write_bytes(b"".join(c.pem for c in chain))
    key_file.write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain_file, key_file)
    if not tls13:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    if client_ca is not None:
        context.load_verify_locations(cadata=client_ca.decode())
        context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    lock = threading.Lock()
    server = TlsServer(listener.getsockname()[1], [], lock)
    stop = threading.Event()

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            record = Connection()
            worker = threading.Thread(
                target=_serve_connection, args=(raw, context, record, lock), daemon=True
            )
            with lock:
                server.connections.append(record)
                server.workers.append(worker)
            worker.start()

    acceptor = threading.Thread(target=accept_loop, daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        stop.set()
        acceptor.join(timeout=5)
        listener.close()
        for worker in server.workers:
            worker.join(timeout=6)


def self_signed(
    names: list[str],
    *,
    common_name: str | None = None,
    ca: bool = False,
    not_after: dt.datetime = END,
    client_only: bool = False,
) -> Cert:
    """A self-signed server certificate, like an intranet appliance's: CA:FALSE, or CA:TRUE
    as ``openssl req -x509`` makes them."""
    key = new_key("ec")
    subject = name(common_name or names[0], org="certpolicy intranet")
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(START)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [
                    ExtendedKeyUsageOID.CLIENT_AUTH
                    if client_only
                    else ExtendedKeyUsageOID.SERVER_AUTH
                ]
            ),
            False,
        )
        .add_extension(_san(names), False)
        .sign(key, hashes.SHA256())
    )
    return Cert(cert, key)


def expired_leaf(issuer: Issuer, names: list[str]) -> Cert:
    """A leaf whose validity ended a week ago."""
    now = dt.datetime.now(dt.UTC)
    return issuer.issue_leaf(
        names, not_before=now - dt.timedelta(days=90), not_after=now - dt.timedelta(days=7)
    )


# --- the server's own tests: counting works, so "0 bytes" elsewhere is meaningful ---


def test_server_counts_request_bytes(pki: Pki, tmp_path: Path) -> None:
    with tls_server([pki.leaf, pki.intermediate], pki.leaf.key_pem, tmp_path) as server:
        context = ssl.create_default_context(cadata=pki.root.pem.decode())
        with urllib.request.urlopen(
            server.url("127.0.0.1", "/counted"), context=context, timeout=5
        ) as r:
            assert r.read() == BODY
    assert server.requests == ["GET /counted HTTP/1.1"]
    assert server.app_bytes > len("GET /counted HTTP/1.1\r\n\r\n")
    assert server.handshakes == 1


def test_server_sees_no_bytes_from_a_client_that_rejects_it(pki: Pki, tmp_path: Path) -> None:
    stranger = self_signed(["localhost"])
    with tls_server([stranger], stranger.key_pem, tmp_path) as server:
        context = ssl.create_default_context(cadata=pki.root.pem.decode())
        with pytest.raises(urllib.error.URLError) as info:
            urllib.request.urlopen(server.url(), context=context, timeout=5)
        assert isinstance(info.value.reason, ssl.SSLCertVerificationError)
        server.settle()
    assert len(server.connections) == 1
    assert server.app_bytes == 0
    assert server.requests == []
