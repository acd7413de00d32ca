"""Shared fixtures: a fresh test PKI per test module."""

from __future__ import annotations

import pytest

import certpolicy as cp

from pki import Pki, make_pki


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki(["leaf.example.com", "*.wild.example.com", "127.0.0.1", "::1"])


@pytest.fixture(scope="module")
def store(pki: Pki) -> cp.TrustStore:
    trust = cp.TrustStore()
    trust.add_der(pki.root.der)
    return trust
