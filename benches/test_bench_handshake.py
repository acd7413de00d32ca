"""A full TLS handshake through ``engine.ssl_context()`` (caches warm) vs Python's default
verifying context (OpenSSL checks chain and hostname), to the same local server in the same
run. The server runs in its own process (so it does not share the GIL with the client) on
127.0.0.1; sessions are not resumed, so every round is a full handshake (TLS 1.3, the
default of both sides). The rounds are interleaved: one handshake with each context in
turn, both timed, so the two rows of a group come from the same time window (the peer row
is made by benches/report.py from ``extra_info["peer_medians"]``).

Groups: ``tls-handshake-full`` (the policy checks chain and hostname) and
``tls-handshake-revocation`` (it checks revocation too: CRLs of the leaf and the
intermediate, served once by a loopback HTTP server, then answered from the engine's CRL
cache; the default context checks no revocation)."""

from __future__ import annotations

import socket
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import certpolicy as cp

import crl_pki as c
from crl_server import CrlSite, crl_site
from pki import Cert, Issuer, make_pki, make_root

HOST = "localhost"
ROUNDS = 200  # handshakes per context, alternating (interleaved)

SERVER = r"""
import socket, ssl, sys
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
while True:
    raw, _ = listener.accept()
    raw.settimeout(5)
    try:
        with context.wrap_socket(raw, server_side=True) as tls:
            tls.recv(1)
    except OSError:
        pass
"""


@contextmanager
def tls_server(folder: Path, leaf: Cert, intermediate: Issuer) -> Iterator[tuple[str, int]]:
    """The server process presenting leaf + intermediate; yields its address."""
    chain, key = folder / "chain.pem", folder / "key.pem"
    chain.write_bytes(leaf.pem + intermediate.pem)
    key.write_bytes(leaf.key_pem)
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(chain), str(key)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        yield ("127.0.0.1", int(server.stdout.readline()))
    finally:
        server.kill()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    pki = make_pki([HOST, "127.0.0.1"])
    folder = tmp_path_factory.mktemp("handshake")
    with tls_server(folder, pki.leaf, pki.intermediate) as address:
        store = cp.TrustStore()
        store.add_der(pki.root.der)
        policy = cp.Policy("Web", "internet", check_revocation=False)
        engine = cp.Engine(cp.PolicySet([policy]), store)
        yield {
            "address": address,
            "ours": engine.ssl_context(),
            "default": ssl.create_default_context(cadata=pki.root.pem.decode()),
        }


@pytest.fixture(scope="module")
def revocation_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Chain, hostname and CRL revocation (the whole path); the CRLs on a loopback server."""
    folder = tmp_path_factory.mktemp("handshake-revocation")
    site: CrlSite
    with crl_site() as site:
        root = make_root("bench handshake CRL root")
        intermediate = c.issue_ca_with_crl(
            root, "bench handshake CRL intermediate", [site.url("/root.crl")]
        )
        leaf = intermediate.issue_leaf([HOST, "127.0.0.1"], crl_urls=[site.url("/int.crl")])
        site.crls["/root.crl"] = c.make_crl(root)
        site.crls["/int.crl"] = c.make_crl(intermediate)
        with tls_server(folder, leaf, intermediate) as address:
            store = cp.TrustStore()
            store.add_der(root.der)
            revocation = cp.RevocationConfig(method="crl", cache_dir=folder / "cache")
            engine = cp.Engine(cp.PolicySet([cp.Policy("Web", "internet")]), store, revocation)
            try:
                yield {
                    "address": address,
                    "ours": engine.ssl_context(),
                    "default": ssl.create_default_context(cadata=root.pem.decode()),
                    "site": site,
                }
            finally:
                engine.close()


def handshake(context: ssl.SSLContext, address: tuple[str, int]) -> Any:
    raw = socket.create_connection(address, timeout=5)
    with context.wrap_socket(raw, server_hostname=HOST) as tls:
        tls.sendall(b"x")  # one byte, so the server's read ends its side promptly
        return getattr(tls, "report", None)


PEER = "ssl default context"


def interleaved(
    benchmark: Any, ours: ssl.SSLContext, default: ssl.SSLContext, address: tuple[str, int]
) -> Any:
    """Alternates handshakes of the two contexts in one time window: pytest-benchmark times
    ROUNDS handshakes with ``ours``, and before each one a handshake with ``default`` is
    timed here. The default context's median goes into ``extra_info["peer_medians"]``, from
    which benches/report.py makes the peer row of the group (so both rows come from the same
    rounds, whatever else the machine is doing)."""
    peer: list[float] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        started = time.perf_counter()
        handshake(default, address)
        peer.append(time.perf_counter() - started)
        return (ours, address), {}

    result = benchmark.pedantic(handshake, setup=setup, rounds=ROUNDS, iterations=1)
    benchmark.extra_info["peer_medians"] = {PEER: statistics.median(peer)}
    return result


def test_handshake_certpolicy(benchmark: Any, setup: dict[str, Any]) -> None:
    benchmark.group = "tls-handshake-full"
    benchmark.extra_info.update(impl="certpolicy")
    handshake(setup["ours"], setup["address"])  # warm: the verified-chain cache, the policy
    handshake(setup["default"], setup["address"])
    interleaved(benchmark, setup["ours"], setup["default"], setup["address"])


def test_handshake_revocation_certpolicy(benchmark: Any, revocation_setup: dict[str, Any]) -> None:
    benchmark.group = "tls-handshake-revocation"
    benchmark.extra_info.update(impl="certpolicy")
    address, site = revocation_setup["address"], revocation_setup["site"]
    report = handshake(revocation_setup["ours"], address)  # warm: downloads both CRLs
    assert report.result("revocation").status == "passed", report.to_dict()
    handshake(revocation_setup["default"], address)
    downloads = sum(site.requests.values())
    report = interleaved(benchmark, revocation_setup["ours"], revocation_setup["default"], address)
    assert report.result("revocation").status == "passed"
    assert sum(site.requests.values()) == downloads, "every handshake must use the cached CRLs"


def test_both_contexts_really_check(setup: dict[str, Any], tmp_path: Path) -> None:
    """The two sides of the bench do the same job: both reject a wrong host name."""
    for context in (setup["ours"], setup["default"]):
        raw = socket.create_connection(setup["address"], timeout=5)
        with pytest.raises(ssl.SSLCertVerificationError):
            context.wrap_socket(raw, server_hostname="wrong.example")
