"""Revocation under faulty servers, on real loopback sockets: a responder that just failed is
not asked again for a while (also over OCSP); ``RevocationConfig.deadline`` bounds a whole
path check, both methods and every certificate; and a fetch given up on closes its socket,
so that neither its thread nor its connection outlives it.

The servers count what they see: connections accepted, open, and closed by the client (the
end of the stream, or a reset). No assertion here is about wall-clock time: waits are
bounded loops on what the servers and the thread list say.
"""

from __future__ import annotations

import datetime as dt
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

import certpolicy as cp
from certpolicy.revocation import (
    MethodAnswer,
    RevocationChecker,
    default_methods,
)
from certpolicy.revocation.crl import CrlChecker
from certpolicy.revocation.ocsp import OcspChecker

from loopback import tcp_server
from pki import END, START, Issuer, make_root, name, new_key

Fault = Literal["blackhole", "trickle"]
DRIP = 0.05  # seconds between the bytes of a trickled answer: inside every timeout below


@dataclass
class Faulty:
    """A server that accepts, reads the request, then never answers ("blackhole") or
    answers a byte at a time for ever ("trickle"), and counts its connections."""

    fault: Fault
    port: int = 0
    accepted: int = 0
    open: int = 0
    closed_by_client: int = 0
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def counts(self) -> tuple[int, int, int]:
        """(accepted, open, closed by the client)."""
        with self.lock:
            return self.accepted, self.open, self.closed_by_client

    def handle(self, conn: socket.socket, stop: threading.Event) -> None:
        with self.lock:
            self.accepted += 1
            self.open += 1
        by_client = False
        try:
            head = b""
            while b"\r\n\r\n" not in head and not stop.is_set():
                ready, _, _ = select.select([conn], [], [], 0.05)
                if ready:
                    chunk = conn.recv(65536)
                    if not chunk:
                        by_client = True
                        return
                    head += chunk
            line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            with self.lock:
                self.paths.append(line[1] if len(line) > 1 else "?")
            if self.fault == "trickle":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            while not stop.is_set():
                ready, _, _ = select.select([conn], [], [], DRIP)
                if ready and not conn.recv(65536):  # a request body is read and dropped
                    by_client = True
                    return
                if self.fault == "trickle":
                    conn.sendall(b"x")
        except OSError:
            by_client = not stop.is_set()  # reset by the client
        finally:
            conn.close()
            with self.lock:
                self.open -= 1
                self.closed_by_client += by_client


@contextmanager
def faulty_server(fault: Fault) -> Iterator[Faulty]:
    server = Faulty(fault)
    with tcp_server(server.handle) as port:
        server.port = port
        yield server


def fetch_threads() -> int:
    """The fetch threads alive (``within`` names them "certpolicy <what>")."""
    return sum(1 for t in threading.enumerate() if t.name.startswith("certpolicy "))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def settled(server: Faulty, threads_before: int) -> Callable[[], bool]:
    """Every connection closed by the client, and no fetch thread left over."""

    def done() -> bool:
        accepted, still_open, closed = server.counts()
        return still_open == 0 and closed == accepted and fetch_threads() <= threads_before

    return done


def config(tmp_path: Path, **options: object) -> cp.RevocationConfig:
    settings: dict[str, object] = {
        "cache_dir": tmp_path / "cache",
        "timeout": 0.3,
        "retry": cp.Retry(attempts=1, backoff=0.0),
    }
    settings.update(options)
    return cp.RevocationConfig(**settings)  # type: ignore[arg-type]


def ca_with(parent: Issuer, common_name: str, *, crl_url: str, ocsp_url: str) -> Issuer:
    """An intermediate CA whose certificate names a CRL and an OCSP responder."""
    key = new_key("ec")
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name(common_name))
        .issuer_name(parent.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(START)
        .not_valid_after(END)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()), False
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(crl_url)], None, None, None
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.oid.AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(ocsp_url),
                    )
                ]
            ),
            critical=False,
        )
        .sign(parent.key, hashes.SHA256())
    )
    return Issuer(certificate, key)


@pytest.fixture(scope="module")
def root() -> Issuer:
    return make_root("faults root")


# --- 1. a responder that just failed is not asked again --------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fault", ["blackhole", "trickle"])
def test_a_failed_ocsp_responder_is_not_asked_again(
    tmp_path: Path, root: Issuer, fault: Fault
) -> None:
    with faulty_server(fault) as server:
        leaf = root.issue_leaf(["one.example"], ocsp_urls=[server.url("/ocsp")])
        other = root.issue_leaf(["two.example"], ocsp_urls=[server.url("/ocsp")])
        checker = OcspChecker(config(tmp_path))
        first = checker.check(leaf.der, root.der, at=None)
        assert first.status == "unavailable"
        assert "not asked again" not in first.detail
        expected = "timed out" if fault == "blackhole" else "did not finish within"
        assert expected in first.detail.lower()
        assert server.counts()[0] == 1
        # The same certificate, and another one of the same responder: neither waits.
        for cert in (leaf, other):
            answer = checker.check(cert.der, root.der, at=None)
            assert answer.status == "unavailable"
            assert re.search(r"\(not asked again for \d+ s\)$", answer.detail), answer.detail
            assert expected in answer.detail.lower()
        assert server.counts()[0] == 1


@pytest.mark.timeout(60)
def test_the_path_answer_says_the_responder_is_not_asked_again(
    tmp_path: Path, root: Issuer
) -> None:
    """Through a path check, with the second responder of the certificate still asked."""
    with faulty_server("blackhole") as server:
        leaf = root.issue_leaf(
            ["svc.example"], ocsp_urls=[server.url("/primary"), server.url("/backup")]
        )
        settings = config(tmp_path, method="ocsp")
        checker = RevocationChecker(settings, default_methods(settings))
        try:
            first = checker.check_path([leaf.der, root.der])
            second = checker.check_path([leaf.der, root.der])
        finally:
            checker.close()
    assert (first.status, second.status) == ("unavailable", "unavailable")
    assert server.paths == ["/primary", "/backup"]  # each asked once, by the first check
    assert second.detail().count("not asked again for") == 2


@pytest.mark.timeout(60)
def test_failures_are_forgotten_after_the_interval(tmp_path: Path, root: Issuer) -> None:
    with faulty_server("blackhole") as server:
        leaf = root.issue_leaf(["again.example"], ocsp_urls=[server.url("/ocsp")])
        checker = OcspChecker(config(tmp_path, crl_min_refresh_interval=0.2))
        assert checker.check(leaf.der, root.der, at=None).status == "unavailable"

        def asked_again() -> bool:
            answer = checker.check(leaf.der, root.der, at=None)
            return "not asked again" not in answer.detail

        wait_for(asked_again, "the responder to be asked again")
        assert server.counts()[0] == 2


# --- 2. the deadline bounds the whole decision ----------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("on_unavailable", ["fail", "allow"])
def test_the_deadline_bounds_a_whole_path_check(
    tmp_path: Path, root: Issuer, on_unavailable: str
) -> None:
    """Both methods trickle, for both certificates of the path: one check_path ends with
    "unavailable" because the deadline passed; the fetch threads end and the server sees
    its connections closed. (An OCSP request may take 3 x timeout here, a CRL download
    10 x timeout: the deadline, shorter than both together, cuts the CRL download.)"""
    threads_before = fetch_threads()
    with faulty_server("trickle") as server:
        intermediate = ca_with(
            root,
            "faults intermediate",
            crl_url=server.url("/root.crl"),
            ocsp_url=server.url("/root-ocsp"),
        )
        leaf = intermediate.issue_leaf(
            ["deadline.example"],
            crl_urls=[server.url("/int.crl")],
            ocsp_urls=[server.url("/int-ocsp")],
        )
        settings = config(tmp_path, deadline=1.5, on_unavailable=on_unavailable)
        checker = RevocationChecker(settings, default_methods(settings))
        try:
            answer = checker.check_path([leaf.der, intermediate.der, root.der])
            assert answer.status == "unavailable"
            assert "the revocation deadline (1.5 s)" in answer.detail()
            wait_for(settled(server, threads_before), "the fetches to end")
        finally:
            checker.close()
        # The leaf's responder and distribution point were asked; nothing after the deadline.
        assert server.paths == ["/int-ocsp", "/int.crl"]
    by_method = {(a.method, a.source): a for a in answer.answers}
    crl = by_method[("crl", server.url("/int.crl"))]
    assert crl.detail.endswith("did not finish within the revocation deadline (1.5 s)")
    if on_unavailable == "allow":
        # The intermediate is still checked, from the caches only: nothing was asked.
        assert len(answer.answers) == 4
        for late in answer.answers[2:]:
            assert late.status == "unavailable"
            assert "deadline (1.5 s) passed; not asked" in late.detail


@pytest.mark.timeout(60)
def test_a_method_alone_is_bounded_by_the_deadline(tmp_path: Path, root: Issuer) -> None:
    """CrlChecker.check called on its own: its download ends at the deadline, not at its
    own bound of 10 x timeout."""
    threads_before = fetch_threads()
    with faulty_server("trickle") as server:
        leaf = root.issue_leaf(["alone.example"], crl_urls=[server.url("/ca.crl")])
        with CrlChecker(config(tmp_path, timeout=5.0, deadline=0.5)) as checker:
            answer = checker.check(leaf.der, root.der, at=None)
        assert answer.status == "unavailable"
        assert answer.detail == (
            "download failed: CRL download did not finish within the revocation deadline (0.5 s)"
        )
        wait_for(settled(server, threads_before), "the download to end")


class _Slow:
    """A method of another kind that takes its time and counts its calls."""

    def __init__(self, name: str, seconds: float) -> None:
        self.name = name
        self.seconds = seconds
        self.calls = 0

    def check(self, cert: bytes, issuer: bytes, *, at: dt.datetime | None) -> MethodAnswer:
        self.calls += 1
        time.sleep(self.seconds)
        return MethodAnswer(self.name, "unavailable", "", "no answer")


def test_other_methods_are_not_asked_after_the_deadline(tmp_path: Path, root: Issuer) -> None:
    leaf = root.issue_leaf(["custom.example"])
    slow, late = _Slow("ocsp", 0.3), _Slow("crl", 0.0)
    settings = config(tmp_path, deadline=0.1, on_unavailable="allow")
    answer = RevocationChecker(settings, {"ocsp": slow, "crl": late}).check_path(
        [leaf.der, root.der]
    )
    assert (slow.calls, late.calls) == (1, 0)
    assert answer.status == "unavailable"
    assert answer.answers[-1].detail == "the revocation deadline (0.1 s) passed; not asked"


# --- 3. fetches given up on close their sockets ----------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("method", "fault", "scheme", "options"),
    [
        # OCSP requests end at their own bound (3 x timeout) ...
        ("ocsp", "trickle", "http", {"timeout": 0.2}),
        # ... CRL downloads (10 x timeout) at the revocation deadline ...
        ("crl", "trickle", "http", {"timeout": 0.2, "deadline": 0.3}),
        # ... and a request nobody answers, or a TLS handshake, at the deadline too, long
        # before their own read timeout would end them.
        ("ocsp", "blackhole", "http", {"timeout": 30.0, "deadline": 0.3}),
        ("crl", "blackhole", "https", {"timeout": 30.0, "deadline": 0.3}),
    ],
)
def test_abandoned_fetches_close_their_sockets(
    tmp_path: Path,
    root: Issuer,
    method: str,
    fault: Fault,
    scheme: str,
    options: dict[str, object],
) -> None:
    """Twelve checks against a faulty server (a URL each, so that none is skipped as
    failed): no fetch thread and no connection is left once they are done."""
    threads_before = fetch_threads()
    with faulty_server(fault) as server:
        settings = config(tmp_path, **options)
        checker: OcspChecker | CrlChecker = (
            OcspChecker(settings) if method == "ocsp" else CrlChecker(settings)
        )
        for n in range(12):
            url = server.url(f"/{method}/{n}").replace("http:", f"{scheme}:")
            leaf = root.issue_leaf(
                [f"n{n}.example"],
                **({"ocsp_urls": [url]} if method == "ocsp" else {"crl_urls": [url]}),
            )
            answer = checker.check(leaf.der, root.der, at=None)
            assert answer.status == "unavailable"
            assert "did not finish within" in answer.detail
        wait_for(settled(server, threads_before), "the connections to close")
        assert server.counts()[0] == 12
