"""Bench fixtures: the test PKI of tests/pki.py, a ~150-root store for both sides of the chain
benches, and the machine's load recorded in the JSON (benches/report.py prints it: on a shared
machine the load explains outliers, above all in the thread-scaling bench)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import certifi
import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, ServerVerifier, Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import certpolicy as cp

from pki import Pki, make_pki, make_root

HOST = "leaf.example.com"
EXTRA_ROOTS = 30  # certifi ships ~120; the target store is ~150 roots


def certifi_pems() -> list[bytes]:
    """Every certificate of the certifi bundle, one PEM each."""
    data = Path(certifi.where()).read_bytes()
    marker = b"-----END CERTIFICATE-----"
    return [block + marker + b"\n" for block in data.split(marker) if b"BEGIN" in block]


@dataclass
class ChainSetup:
    """One key type's chain and the same ~150-root store on both sides."""

    kind: str
    pki: Pki
    ours: cp.TrustStore
    verifier: ServerVerifier
    theirs: Store
    leaf: x509.Certificate
    intermediate: x509.Certificate

    @property
    def roots(self) -> int:
        return len(self.ours)


@pytest.fixture(scope="session")
def extra_roots() -> list[bytes]:
    return [make_root(f"bench extra root {i}").pem for i in range(EXTRA_ROOTS)]


@pytest.fixture(scope="session", params=["ec", "rsa"])
def chain_setup(request: pytest.FixtureRequest, extra_roots: list[bytes]) -> ChainSetup:
    kind = request.param
    pki = make_pki([HOST], key_kind=kind)
    pems = [*certifi_pems(), *extra_roots, pki.root.pem]
    ours = cp.TrustStore()
    for pem in pems:
        ours.add_pem(pem)
    theirs = Store([x509.load_pem_x509_certificate(pem) for pem in pems])
    return ChainSetup(
        kind=kind,
        pki=pki,
        ours=ours,
        verifier=server_verifier(theirs),
        theirs=theirs,
        leaf=x509.load_der_x509_certificate(pki.leaf.der),
        intermediate=x509.load_der_x509_certificate(pki.intermediate.der),
    )


def server_verifier(store: Store) -> ServerVerifier:
    """cryptography's verifier for HOST at the current time."""
    builder = PolicyBuilder().store(store).time(dt.datetime.now(dt.UTC))
    return builder.build_server_verifier(x509.DNSName(HOST))


LOAD_AT_START = list(os.getloadavg())


def pytest_benchmark_update_machine_info(config: Any, machine_info: dict[str, Any]) -> None:
    """Runs when the JSON is written, after the benches."""
    machine_info["nproc"] = os.cpu_count()
    machine_info["loadavg_at_start"] = LOAD_AT_START
    machine_info["loadavg_at_end"] = list(os.getloadavg())
