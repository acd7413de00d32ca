"""Chain verification, cold (no cache): certpolicy vs cryptography's X.509 verifier, the same
leaf + intermediate against the same ~150-root store, hostname included on both sides (the
cryptography server verifier always checks it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import certifi
import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

import certpolicy as cp

from pki import Pki, make_pki, make_root

HOST = "leaf.example.com"
EXTRA_ROOTS = 30  # certifi ships ~120; the target store is ~150 roots


@pytest.fixture(scope="module", params=["ec", "rsa"])
def setup(request: pytest.FixtureRequest) -> dict[str, Any]:
    pki: Pki = make_pki([HOST], key_kind=request.param)
    root_pems = [cp_pem for cp_pem in _certifi_pems()]
    extra = [make_root(f"bench extra root {i}").pem for i in range(EXTRA_ROOTS)]
    ours = cp.TrustStore()
    for pem in [*root_pems, *extra, pki.root.pem]:
        ours.add_pem(pem)
    theirs = Store([x509.load_pem_x509_certificate(p) for p in [*root_pems, *extra, pki.root.pem]])
    now = dt.datetime.now(dt.UTC)
    verifier = PolicyBuilder().store(theirs).time(now).build_server_verifier(x509.DNSName(HOST))
    return {
        "kind": request.param,
        "pki": pki,
        "ours": ours,
        "verifier": verifier,
        "leaf": x509.load_der_x509_certificate(pki.leaf.der),
        "intermediate": x509.load_der_x509_certificate(pki.intermediate.der),
        "roots": len(ours),
    }


def _certifi_pems() -> list[bytes]:
    data = open(certifi.where(), "rb").read()  # noqa: SIM115
    marker = b"-----END CERTIFICATE-----"
    return [block + marker + b"\n" for block in data.split(marker) if b"BEGIN" in block]


def test_chain_certpolicy(benchmark: Any, setup: dict[str, Any]) -> None:
    benchmark.group = f"chain-cold-{setup['kind']}"
    benchmark.extra_info.update(impl="certpolicy", roots=setup["roots"])
    chain, store = setup["pki"].chain, setup["ours"]

    def run() -> None:
        cp.verify_chain(chain, store)
        cp.verify_hostname(chain[0], HOST)

    benchmark(run)


def test_chain_cryptography(benchmark: Any, setup: dict[str, Any]) -> None:
    benchmark.group = f"chain-cold-{setup['kind']}"
    benchmark.extra_info.update(impl="cryptography", peer=True, roots=setup["roots"])
    verifier, leaf, intermediate = setup["verifier"], setup["leaf"], setup["intermediate"]
    benchmark(verifier.verify, leaf, [intermediate])
