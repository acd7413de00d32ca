"""Numeric IPv4 spellings that resolvers accept as host names ("127.1", "2130706433",
"0x7f.1", "0177.0.0.1") select no policy; through real clients they end in a certificate
error (the hostname check), never a bare PolicyError escaping the client's error handling.
An IPv4 address with a zone index ("10.0.0.1%x") is not an address for policy selection."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import requests

import certpolicy as cp
from test_tls_server import tls_server

from pki import Pki, make_pki

SPELLINGS = ["127.1", "2130706433", "0x7f.1", "0177.0.0.1"]


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki(["localhost", "127.0.0.1"])


def engine(pki: Pki) -> cp.Engine:
    trust = cp.TrustStore()
    trust.add_der(pki.root.der)
    return cp.Engine(cp.PolicySet([cp.Policy("Web", "internet", check_revocation=False)]), trust)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_numeric_spelling_is_a_certificate_error(pki: Pki, tmp_path: Path, spelling: str) -> None:
    checker = engine(pki)
    report = checker.check([pki.leaf.der, pki.intermediate.der], spelling)
    assert not report.ok
    assert report.policy.name.startswith("Internet")
    assert report.result("hostname").status == "failed"
    with tls_server([pki.leaf, pki.intermediate], pki.leaf.key_pem, tmp_path) as server:
        url = f"https://{spelling}:{server.port}/"
        with (
            cp.requests_session(checker) as session,
            pytest.raises(requests.exceptions.SSLError) as by_requests,
        ):
            session.get(url, timeout=10)
        with pytest.raises(urllib.error.URLError) as by_urllib:
            urllib.request.urlopen(url, context=checker.ssl_context(), timeout=10)

        async def by_asyncio() -> None:
            _reader, writer = await asyncio.open_connection(
                "127.0.0.1", server.port, ssl=checker.ssl_context(), server_hostname=spelling
            )
            writer.close()

        with pytest.raises(cp.HostnameMismatchError):
            asyncio.run(asyncio.wait_for(by_asyncio(), 10))
        assert server.requests == []
    for caught in (by_requests.value, by_urllib.value):
        assert isinstance(cp.certificate_check_error(caught), cp.HostnameMismatchError)


def test_an_ipv4_address_with_a_zone_is_no_address() -> None:
    policies = cp.PolicySet.defaults(fresh_install=False)
    assert policies.select("10.0.0.1").name == "Intranet"
    with pytest.raises(cp.PolicyError):
        policies.select("10.0.0.1%x")
    assert policies.select("fe80::1%eth0").name == "Intranet"
