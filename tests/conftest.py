"""Shared fixtures: a fresh test PKI per test module, and a loopback CRL server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import certpolicy as cp

from crl_server import CrlSite, crl_site
from pki import Pki, make_pki


@pytest.fixture(scope="module")
def site() -> Iterator[CrlSite]:
    """An HTTP server on 127.0.0.1 serving CRLs, one per test module (a module may define its
    own ``site``)."""
    with crl_site() as running:
        yield running


@pytest.fixture
def fresh_site(site: CrlSite) -> CrlSite:
    """The module's CRL server with nothing published and nothing counted yet."""
    site.reset()
    return site


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki(["leaf.example.com", "*.wild.example.com", "127.0.0.1", "::1"])


@pytest.fixture(scope="module")
def store(pki: Pki) -> cp.TrustStore:
    trust = cp.TrustStore()
    trust.add_der(pki.root.der)
    return trust
