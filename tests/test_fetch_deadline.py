"""A server that trickles its answer one byte at a time, each byte just inside the per-read
timeout, must not hold a revocation fetch (and the handshake waiting on it) forever: every
fetch has an overall deadline and then answers "unavailable"."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import certpolicy as cp
from certpolicy.revocation.crl import CrlChecker
from certpolicy.revocation.ocsp import OcspChecker
from test_cli import run

from loopback import tcp_server
from pki import make_root

TIMEOUT = 0.3  # per socket read; the server waits 0.2 s between bytes


@contextmanager
def trickling_server() -> Iterator[str]:
    def drip(client: socket.socket, stop: threading.Event) -> None:
        try:
            client.recv(65536)
            client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            while not stop.wait(0.2):
                client.sendall(b"x")
        except OSError:
            pass
        finally:
            client.close()

    with tcp_server(drip) as port:
        yield f"http://127.0.0.1:{port}"


def config(tmp_path: Path) -> cp.RevocationConfig:
    return cp.RevocationConfig(
        cache_dir=tmp_path, timeout=TIMEOUT, retry=cp.Retry(attempts=1, backoff=0.0)
    )


@pytest.mark.timeout(60)
def test_crl_download_has_an_overall_deadline(tmp_path: Path) -> None:
    with trickling_server() as base:
        root = make_root("trickle CA")
        leaf = root.issue_leaf(["t.example"], crl_urls=[base + "/ca.crl"])
        with CrlChecker(config(tmp_path)) as checker:
            answer = checker.check(leaf.der, root.der, at=None)
    assert answer.status == "unavailable"
    assert "did not finish within" in answer.detail


@pytest.mark.timeout(60)
def test_ocsp_request_has_an_overall_deadline(tmp_path: Path) -> None:
    with trickling_server() as base:
        root = make_root("trickle CA")
        leaf = root.issue_leaf(["t.example"], ocsp_urls=[base + "/ocsp"])
        answer = OcspChecker(config(tmp_path)).check(leaf.der, root.der, at=None)
    assert answer.status == "unavailable"
    assert "did not finish within" in answer.detail


@pytest.mark.timeout(60)
def test_cli_downloads_stop_at_the_library_deadline(tmp_path: Path) -> None:
    """``certpolicy crl fetch`` and ``certpolicy ocsp`` use the library's fetchers, so a
    trickling server holds them no longer than the library's overall deadline (the server
    would take 100000 x 0.2 s to finish)."""
    settings = tmp_path / "certpolicy.toml"
    settings.write_text(
        '[revocation]\ncache_dir = "cache"\nretry = { attempts = 1, backoff = 0.0 }\n'
    )
    root = make_root("trickle CA")
    with trickling_server() as base:
        leaf = root.issue_leaf(["t.example"], ocsp_urls=[base + "/ocsp"])
        cert_file, issuer_file = tmp_path / "leaf.pem", tmp_path / "issuer.pem"
        cert_file.write_bytes(leaf.pem)
        issuer_file.write_bytes(root.pem)
        options = ("--config", str(settings), "--timeout", str(TIMEOUT))
        crl = run("crl", "fetch", base + "/ca.crl", *options)
        ocsp = run("ocsp", str(cert_file), str(issuer_file), *options)
    # Cut off by the deadline: nothing to judge, so "unreachable" (exit 3), not a rejection.
    assert crl.returncode == 3, crl.stderr
    assert "did not finish within" in crl.stderr
    assert ocsp.returncode == 3, ocsp.stderr
    assert "did not finish within" in ocsp.stderr
