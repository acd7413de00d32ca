"""A real OCSP responder for the tests: ``openssl ocsp`` answers each request
(``-reqin``/``-respout`` with ``-index``, ``-CA``, ``-rsigner``, ``-rkey``) behind a small HTTP
front on 127.0.0.1 (OpenSSL 3.0's ``-port`` would listen on every interface). The front can be
made slow, fail with an HTTP error, or tamper with the responder's answers; ``canned`` serves
a fixed response instead (for answers openssl cannot produce, e.g. a nextUpdate in the past).
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pki import Cert, Issuer
from servers import Request, Response, Server, serve

OPENSSL = shutil.which("openssl") or "openssl"
OPENSSL_TIMEOUT = 20.0


def _index_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%y%m%d%H%M%SZ")


def _serial_hex(cert: Cert) -> str:
    text = format(cert.cert.serial_number, "X")
    return text if len(text) % 2 == 0 else "0" + text


@dataclass
class Responder:
    """The responder's CA database and behaviour; change attributes between requests."""

    workdir: Path
    ca: Issuer
    signer: Cert
    # Extra ``openssl ocsp`` options, e.g. ["-ndays", "1"], ["-resp_key_id"].
    options: list[str] = field(default_factory=lambda: ["-ndays", "1"])
    # "normal", "slow" (answer after ``delay`` seconds), "error" (HTTP ``error_status``),
    # "tamper" (flip a byte near the end of the signed data), "garbage", "canned".
    mode: str = "normal"
    delay: float = 5.0
    error_status: int = 503
    canned: bytes = b""
    answered: int = 0
    server: Server | None = None
    _entries: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "ca.pem").write_bytes(self.ca.pem)
        self.use_signer(self.signer)
        self._write_index()

    @property
    def url(self) -> str:
        assert self.server is not None, "the responder is not running"
        return f"http://127.0.0.1:{self.server.port}/ocsp"

    def use_signer(self, signer: Cert) -> None:
        """Signs the next answers with ``signer`` (the CA or a delegated responder)."""
        self.signer = signer
        (self.workdir / "rsigner.pem").write_bytes(signer.pem)
        (self.workdir / "rkey.pem").write_bytes(signer.key_pem)

    def add_good(self, cert: Cert) -> None:
        self._set(cert, "V", "")

    def revoke(self, cert: Cert, when: dt.datetime, reason: str = "keyCompromise") -> None:
        self._set(cert, "R", f"{_index_time(when)},{reason}")

    def _set(self, cert: Cert, flag: str, revocation: str) -> None:
        subject = "/" + "/".join(
            f"{attribute.rfc4514_attribute_name}={attribute.value}"
            for attribute in cert.cert.subject
        )
        expiry = _index_time(cert.cert.not_valid_after_utc)
        serial = _serial_hex(cert)
        with self._lock:
            self._entries[serial] = f"{flag}\t{expiry}\t{revocation}\t{serial}\tunknown\t{subject}"
            self._write_index()

    def _write_index(self) -> None:
        text = "".join(line + "\n" for line in self._entries.values())
        (self.workdir / "index.txt").write_text(text)
        (self.workdir / "index.txt.attr").write_text("unique_subject = no\n")

    def respond(self, request: bytes) -> bytes:
        """What ``openssl ocsp`` answers to a DER request."""
        with tempfile.TemporaryDirectory(dir=self.workdir) as scratch:
            req, resp = Path(scratch) / "req.der", Path(scratch) / "resp.der"
            req.write_bytes(request)
            with self._lock:
                command = [
                    OPENSSL,
                    "ocsp",
                    "-index",
                    str(self.workdir / "index.txt"),
                    "-CA",
                    str(self.workdir / "ca.pem"),
                    "-rsigner",
                    str(self.workdir / "rsigner.pem"),
                    "-rkey",
                    str(self.workdir / "rkey.pem"),
                    "-reqin",
                    str(req),
                    "-respout",
                    str(resp),
                    *self.options,
                ]
                done = subprocess.run(
                    command, capture_output=True, timeout=OPENSSL_TIMEOUT, check=False
                )
            if done.returncode != 0 or not resp.exists():
                raise RuntimeError(f"openssl ocsp failed: {done.stderr.decode(errors='replace')}")
            return resp.read_bytes()

    def handle(self, request: Request) -> Response:
        headers = {"Content-Type": "application/ocsp-response"}
        if self.mode == "error":
            return Response(self.error_status, b"responder broken")
        if self.mode == "garbage":
            return Response(200, b"<html>not an OCSP response</html>", headers)
        if self.mode == "canned":
            return Response(200, self.canned, headers)
        body = self.respond(request.body)
        self.answered += 1
        if self.mode == "tamper":
            damaged = bytearray(body)
            # Inside tbsResponseData, which starts ~40 bytes in (the signature and the
            # unsigned certificate list come after it).
            damaged[60] ^= 0x01
            body = bytes(damaged)
        delay = self.delay if self.mode == "slow" else 0.0
        return Response(200, body, headers, delay=delay)


@contextmanager
def running_responder(
    workdir: Path, ca: Issuer, signer: Cert | None = None, **options: object
) -> Iterator[Responder]:
    """A responder for ``ca`` (signing as ``signer``, default the CA itself) on 127.0.0.1."""
    responder = Responder(workdir, ca, signer or ca, **options)  # type: ignore[arg-type]
    with serve(responder.handle) as server:
        responder.server = server
        yield responder
        responder.server = None


def closed_port_url(path: str = "/ocsp") -> str:
    """A loopback URL where nothing listens (connections are refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
