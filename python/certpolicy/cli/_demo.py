"""``certpolicy demo``: the engine at work on loopback, offline, with nothing to install.

Starts, on 127.0.0.1 only, TLS servers presenting the pre-made demo PKI of
``certpolicy/data/demo`` (good, revoked, wrong host, expired, two self-signed intranet
appliances, the instance), an HTTP server for the CRLs and an OCSP responder answering with
pre-signed responses. Then it connects to every server through ``engine.ssl_context()`` of an
engine made from the demo's config.xml (the shipped default policies, the instance's
bootstrap policy, plus one override for a self-signed intranet wiki), sends a request where
the engine lets it, and prints endpoint -> policy -> checks -> verdict. Exit code 0 when every
verdict is the expected one.

The CRL and OCSP URLs inside the certificates name fixed ports (see demo.json); those two
servers bind with SO_REUSEPORT where available, so demos running side by side share them
(they serve identical bytes).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import ssl
import sys
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

from certpolicy.cli._common import _text_lines
from certpolicy.engine import Engine
from certpolicy.errors import CertificateCheckError, CertPolicyError
from certpolicy.policy import Policy, PolicySet
from certpolicy.report import Report
from certpolicy.revocation import Retry, RevocationConfig

__all__ = ["ENDPOINTS", "DemoEndpoint", "run_demo"]

TIMEOUT: Final = 10.0
MAX_REQUEST_BYTES: Final = 64 * 1024
MAX_OCSP_REQUEST_BYTES: Final = 16 * 1024
Verdict = Literal["ACCEPTED", "REJECTED"]


@dataclass(frozen=True)
class DemoEndpoint:
    """One demo connection: the name asked for, the server it reaches, what must happen."""

    name: str
    server: str  # the certificate files <server>.chain.pem / <server>.key.pem
    expected: Verdict
    failing_check: str | None  # the check that must fail, for REJECTED
    story: str


ENDPOINTS: Final = (
    DemoEndpoint(
        "instance.demo.test", "instance", "ACCEPTED", None, "the instance (bootstrap policy)"
    ),
    DemoEndpoint("www.good.demo.test", "good", "ACCEPTED", None, "a well-configured server"),
    DemoEndpoint(
        "www.revoked.demo.test", "revoked", "REJECTED", "revocation", "revoked in the CRL"
    ),
    DemoEndpoint(
        "wrong-host.demo.test", "good", "REJECTED", "hostname", "presents another site's cert"
    ),
    DemoEndpoint(
        "www.expired.demo.test", "expired", "REJECTED", "chain", "certificate expired in 2025"
    ),
    DemoEndpoint(
        "wiki.intranet.demo.test", "wiki", "ACCEPTED", None, "self-signed, allowed by override"
    ),
    DemoEndpoint(
        "printer.intranet.demo.test", "printer", "REJECTED", "chain", "self-signed, no override"
    ),
)

# The admin-made override that lets the self-signed wiki through (as the model system allows).
WIKI_OVERRIDE: Final = Policy(
    "Intranet wiki (self-signed)",
    "override",
    hosts=("wiki.intranet.demo.test",),
    check_chain=False,
    check_hostname=False,
    check_revocation=False,
)


def demo_data_dir() -> Path:
    """The folder of the pre-made demo PKI (package data)."""
    folder = resources.files("certpolicy") / "data" / "demo"
    if not isinstance(folder, Path) or not (folder / "demo.json").is_file():
        raise CertPolicyError("the demo data is missing from this installation of certpolicy")
    return folder


# --- servers ---


@dataclass
class _TlsServer:
    """Serves HTTPS on 127.0.0.1 presenting one chain; counts application bytes received."""

    context: ssl.SSLContext
    listener: socket.socket = field(init=False)
    received: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def start(self) -> None:
        thread = threading.Thread(target=self._accept, name="demo-tls", daemon=True)
        self.threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                raw, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            worker = threading.Thread(target=self._serve, args=(raw,), daemon=True)
            with self.lock:
                self.threads.append(worker)
            worker.start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(TIMEOUT)
        try:
            with self.context.wrap_socket(raw, server_side=True) as tls:
                request = b""
                while b"\r\n\r\n" not in request and len(request) < MAX_REQUEST_BYTES:
                    data = tls.recv(4096)
                    if not data:
                        return
                    with self.lock:
                        self.received += len(data)
                    request += data
                body = b"hello from a certpolicy demo server\n"
                tls.sendall(
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
        except (OSError, ValueError):
            return  # the client broke the connection: expected for rejected endpoints
        finally:
            raw.close()

    def finish(self) -> int:
        """Waits for the connections to end; returns the application bytes received."""
        with self.lock:
            workers = self.threads[1:]
        for worker in workers:
            worker.join(TIMEOUT)
        with self.lock:
            return self.received

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        for thread in self.threads[:1]:
            thread.join(TIMEOUT)


class _RevocationServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Demos running side by side share the fixed ports (identical answers).
    allow_reuse_port = hasattr(socket, "SO_REUSEPORT")


def _revocation_handler(folder: Path, manifest: dict[str, Any]) -> type:
    crls = {f"/{name}": (folder / name).read_bytes() for name in manifest["crls"]}
    responses = [
        ([bytes.fromhex(t) for t in item["certid_tails"]], (folder / item["file"]).read_bytes())
        for item in manifest["ocsp_responses"]
    ]
    # OCSPResponse with responseStatus unauthorized (6), for certificates it does not know.
    unauthorized = bytes.fromhex("30030a0106")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            body = crls.get(self.path.split("?")[0])
            if body is None:
                self._answer(404, b"", "text/plain")
            else:
                self._answer(200, body, "application/pkix-crl")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_OCSP_REQUEST_BYTES:
                self._answer(400, b"", "text/plain")
                return
            request = self.rfile.read(length)
            # The CertID ends with issuerKeyHash and serialNumber: find the certificate asked.
            body = next(
                (resp for tails, resp in responses if any(t in request for t in tails)),
                unauthorized,
            )
            self._answer(200, body, "application/ocsp-response")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def _revocation_servers(folder: Path, manifest: dict[str, Any]) -> Iterator[None]:
    handler = _revocation_handler(folder, manifest)
    servers: list[_RevocationServer] = []
    try:
        for port in (manifest["crl_port"], manifest["ocsp_port"]):
            try:
                server = _RevocationServer(("127.0.0.1", port), handler)
            except OSError as exc:
                raise CertPolicyError(
                    f"cannot listen on 127.0.0.1:{port} for the demo's revocation server "
                    f"(the port is in the demo certificates): {exc}"
                ) from exc
            servers.append(server)
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        yield
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


# --- the run ---


@dataclass
class Outcome:
    endpoint: DemoEndpoint
    port: int
    report: Report | None
    error: str | None
    response: str | None  # the status line the server answered, when a request was sent
    server_received: int = 0

    @property
    def verdict(self) -> Verdict:
        return "ACCEPTED" if self.report is not None and self.report.ok else "REJECTED"

    @property
    def as_expected(self) -> bool:
        expected = self.endpoint
        if self.verdict != expected.expected:
            return False
        if expected.failing_check is None:
            return self.server_received > 0
        failed = {r.name for r in self.report.failures} if self.report is not None else set()
        return expected.failing_check in failed and self.server_received == 0


def demo_engine(folder: Path, cache_dir: Path) -> Engine:
    """The demo's engine: config.xml's policies (+ the wiki override), the trust store file
    beside it (the demo root), revocation with a fresh cache."""
    configured = Engine.from_config(folder / "config.xml")
    policies = PolicySet([WIKI_OVERRIDE, *configured.policies.policies])
    revocation = RevocationConfig(
        cache_dir=cache_dir, timeout=5.0, retry=Retry(attempts=3, backoff=0.1, max_backoff=0.5)
    )
    return Engine(policies, configured.trust, revocation, config=configured.config)


def _probe(context: ssl.SSLContext, endpoint: DemoEndpoint, port: int) -> Outcome:
    outcome = Outcome(endpoint, port, None, None, None)
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    except OSError as exc:
        outcome.error = f"cannot connect: {exc}"
        return outcome
    try:
        with context.wrap_socket(raw, server_hostname=endpoint.name) as tls:
            outcome.report = getattr(tls, "report", None)
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {endpoint.name}\r\n\r\n".encode())
            outcome.response = tls.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
    except CertificateCheckError as exc:
        outcome.report = exc.report if isinstance(exc.report, Report) else None
        outcome.error = str(exc)
    except OSError as exc:
        outcome.error = f"connection failed: {exc}"
    finally:
        raw.close()
    return outcome


def _server_context(folder: Path, server: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / f"{server}.chain.pem", folder / f"{server}.key.pem")
    return context


def run_checks(folder: Path, cache_dir: Path) -> list[Outcome]:
    """Starts the servers, probes every endpoint through the engine, stops the servers."""
    manifest = json.loads((folder / "demo.json").read_text("utf-8"))
    context = demo_engine(folder, cache_dir).ssl_context(trust_peer_ip=True)  # direct
    with _revocation_servers(folder, manifest):
        servers = [_TlsServer(_server_context(folder, e.server)) for e in ENDPOINTS]
        try:
            for server in servers:
                server.start()
            ports = [server.port for server in servers]
            with ThreadPoolExecutor(max_workers=len(ENDPOINTS)) as pool:
                outcomes = list(pool.map(_probe, [context] * len(ENDPOINTS), ENDPOINTS, ports))
            for outcome, server in zip(outcomes, servers, strict=True):
                outcome.server_received = server.finish()
        finally:
            for server in servers:
                server.stop()
    return outcomes


def _cell(report: Report | None, name: str) -> str:
    if report is None:
        return "-"
    status = report.result(name).status  # type: ignore[arg-type]
    return status.upper() if status == "failed" else status


def _table(outcomes: list[Outcome]) -> list[str]:
    header = ("endpoint", "policy", "chain", "hostname", "revocation", "verdict", "request", "")
    rows = [header]
    for o in outcomes:
        policy = o.report.policy.name if o.report is not None else "-"
        request = o.response or f"none ({o.server_received} bytes)"
        rows.append(
            (
                o.endpoint.name,
                policy,
                _cell(o.report, "chain"),
                _cell(o.report, "hostname"),
                _cell(o.report, "revocation"),
                o.verdict,
                request,
                "as expected" if o.as_expected else f"UNEXPECTED (want {o.endpoint.expected})",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _details(outcomes: list[Outcome]) -> list[str]:
    lines: list[str] = []
    for o in outcomes:
        lines.append(f"{o.endpoint.name} ({o.endpoint.story}):")
        if o.report is not None:
            lines.append(f"    policy {o.report.policy.name!r}: {o.report.reason}")
            for result in o.report.results:
                if result.status != "skipped" or result.name == "chain":
                    lines.append(f"    {result.name}: {result.status}: {result.detail}")
        if o.error and (o.report is None or o.report.ok):
            lines.append(f"    error: {o.error}")
    return lines


def _json(outcomes: list[Outcome]) -> dict[str, Any]:
    return {
        "ok": all(o.as_expected for o in outcomes),
        "endpoints": [
            {
                "endpoint": o.endpoint.name,
                "server_port": o.port,
                "expected": o.endpoint.expected,
                "verdict": o.verdict,
                "as_expected": o.as_expected,
                "response": o.response,
                "server_received_bytes": o.server_received,
                "error": o.error,
                "report": None if o.report is None else o.report.to_dict(),
            }
            for o in outcomes
        ],
    }


def run_demo(*, as_json: bool = False) -> int:
    """Runs the demo and prints the outcome; returns the exit code (0: all as expected)."""
    folder = demo_data_dir()
    with tempfile.TemporaryDirectory(prefix="certpolicy-demo-") as cache:
        outcomes = run_checks(folder, Path(cache))
    ok = all(o.as_expected for o in outcomes)
    if as_json:
        print(json.dumps(_json(outcomes), indent=2, default=str))
        return 0 if ok else 1
    manifest = json.loads((folder / "demo.json").read_text("utf-8"))
    print(
        f"certpolicy demo: {len(outcomes)} TLS servers on 127.0.0.1, CRL server on "
        f":{manifest['crl_port']}, OCSP responder on :{manifest['ocsp_port']} (no other network)"
    )
    print("policies: the shipped defaults, the instance policy from config.xml, and an override")
    print()
    print(_text_lines(_table(outcomes)))  # what servers and certificates said, escaped
    print()
    print(_text_lines(_details(outcomes)))
    print()
    expected = sum(o.as_expected for o in outcomes)
    print(
        f"{expected} of {len(outcomes)} verdicts as expected; "
        "rejected servers received no request byte"
        if ok
        else f"only {expected} of {len(outcomes)} verdicts as expected"
    )
    sys.stdout.flush()
    return 0 if ok else 1
