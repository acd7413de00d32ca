"""A full TLS handshake through ``engine.ssl_context()`` (caches warm) vs Python's default
verifying context (OpenSSL checks chain and hostname), to the same local server in the same
run. The server runs in its own process (so it does not share the GIL with the client) on
127.0.0.1; sessions are not resumed, so every round is a full handshake.

Groups: ``tls-handshake-full`` (the policy checks chain and hostname) and
``tls-handshake-revocation`` (it checks revocation too: CRLs of the leaf and the
intermediate, served once by a loopback HTTP server, then answered from the engine's CRL
cache; the default context checks no revocation)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
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


def test_handshake_certpolicy(benchmark: Any, setup: dict[str, Any]) -> None:
    benchmark.group = "tls-handshake-full"
    benchmark.extra_info.update(impl="certpolicy")
    handshake(setup["ours"], setup["address"])  # warm: the verified-chain cache, the policy
    benchmark(handshake, setup["ours"], setup["address"])


def test_handshake_ssl_default_context(benchmark: Any, setup: dict[str, Any]) -> None:
    benchmark.group = "tls-handshake-full"
    benchmark.extra_info.update(impl="ssl default context", peer=True)
    handshake(setup["default"], setup["address"])
    benchmark(handshake, setup["default"], setup["address"])


def test_handshake_revocation_certpolicy(benchmark: Any, revocation_setup: dict[str, Any]) -> None:
    benchmark.group = "tls-handshake-revocation"
    benchmark.extra_info.update(impl="certpolicy")
    address, site = revocation_setup["address"], revocation_setup["site"]
    report = handshake(revocation_setup["ours"], address)  # warm: downloads both CRLs
    assert report.result("revocation").status == "passed", report.to_dict()
    downloads = sum(site.requests.values())
    report = benchmark(handshake, revocation_setup["ours"], address)
    assert report.result("revocation").status == "passed"
    assert sum(site.requests.values()) == downloads, "every handshake must use the cached CRLs"


def test_handshake_revocation_ssl_default_context(
    benchmark: Any, revocation_setup: dict[str, Any]
) -> None:
    benchmark.group = "tls-handshake-revocation"
    benchmark.extra_info.update(impl="ssl default context", peer=True)
    handshake(revocation_setup["default"], revocation_setup["address"])
    benchmark(handshake, revocation_setup["default"], revocation_setup["address"])


def test_both_contexts_really_check(setup: dict[str, Any], tmp_path: Path) -> None:
    """The two sides of the bench do the same job: both reject a wrong host name."""
    for context in (setup["ours"], setup["default"]):
        raw = socket.create_connection(setup["address"], timeout=5)
        with pytest.raises(ssl.SSLCertVerificationError):
            context.wrap_socket(raw, server_hostname="wrong.example")
