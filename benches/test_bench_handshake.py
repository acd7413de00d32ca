"""A full TLS handshake through ``engine.ssl_context()`` (caches warm) vs Python's default
verifying context (OpenSSL checks chain and hostname), to the same local server in the same
run. The server runs in its own process (so it does not share the GIL with the client) on
127.0.0.1; sessions are not resumed, so every round is a full handshake."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import certpolicy as cp

from pki import make_pki

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


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    pki = make_pki([HOST, "127.0.0.1"])
    folder = tmp_path_factory.mktemp("handshake")
    chain, key = folder / "chain.pem", folder / "key.pem"
    chain.write_bytes(pki.leaf.pem + pki.intermediate.pem)
    key.write_bytes(pki.leaf.key_pem)
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(chain), str(key)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        store = cp.TrustStore()
        store.add_der(pki.root.der)
        policy = cp.Policy("Web", "internet", check_revocation=False)
        engine = cp.Engine(cp.PolicySet([policy]), store)
        yield {
            "address": ("127.0.0.1", port),
            "ours": engine.ssl_context(),
            "default": ssl.create_default_context(cadata=pki.root.pem.decode()),
        }
    finally:
        server.kill()
        server.wait(timeout=10)


def handshake(context: ssl.SSLContext, address: tuple[str, int]) -> None:
    raw = socket.create_connection(address, timeout=5)
    with context.wrap_socket(raw, server_hostname=HOST) as tls:
        tls.sendall(b"x")  # one byte, so the server's read ends its side promptly


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


def test_both_contexts_really_check(setup: dict[str, Any], tmp_path: Path) -> None:
    """The two sides of the bench do the same job: both reject a wrong host name."""
    for context in (setup["ours"], setup["default"]):
        raw = socket.create_connection(setup["address"], timeout=5)
        with pytest.raises(ssl.SSLCertVerificationError):
            context.wrap_socket(raw, server_hostname="wrong.example")
