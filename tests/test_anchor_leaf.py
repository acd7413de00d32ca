"""A server certificate that is itself a trust anchor (an imported self-signed certificate):
the chain check passes with the certificate listed once, and revocation is not applicable
(RFC 5280 section 6.1), under the fresh-install defaults that check revocation everywhere."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import certpolicy as cp
from test_tls_server import self_signed, tls_server

from pki import make_root


def engine_trusting(*certs: bytes) -> cp.Engine:
    store = cp.TrustStore()
    for der in certs:
        store.add_der(der)
    # Fresh-install defaults: chain, hostname and revocation on for every kind.
    return cp.Engine(cp.PolicySet.defaults(), store)


@pytest.mark.parametrize("ca", [False, True], ids=["CA-false", "CA-true"])
def test_imported_self_signed_certificate_is_enough(ca: bool) -> None:
    appliance = self_signed(["nas.corp.example"], ca=ca)
    report = engine_trusting(appliance.der).check([appliance.der], "nas.corp.example")
    assert report.ok, report.message()
    chain, hostname, revocation = report.results
    assert chain.status == "passed"
    assert "itself a trust anchor" in chain.detail
    assert report.verified_path == (appliance.der,)  # listed once
    assert hostname.status == "passed"
    assert revocation.status == "skipped"
    assert "not applicable" in revocation.detail
    assert report.revocation is None  # nothing was fetched


def test_without_the_import_it_is_untrusted() -> None:
    appliance = self_signed(["nas.corp.example"])
    other = self_signed(["other.corp.example"])
    report = engine_trusting(other.der).check([appliance.der], "nas.corp.example")
    assert not report.ok
    error = report.result("chain").error
    assert isinstance(error, cp.ChainError)
    assert error.kind == "untrusted"


def test_an_imported_certificate_must_still_be_valid() -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    appliance = self_signed(["nas.corp.example"], not_after=past)
    report = engine_trusting(appliance.der).check([appliance.der], "nas.corp.example")
    assert not report.ok
    error = report.result("chain").error
    assert isinstance(error, cp.ChainError)
    assert error.kind == "expired"
    assert "expired at" in str(error)


def test_server_certificate_rules_still_apply() -> None:
    """No issuer vouches for an imported certificate, so the server-certificate rules that
    need none still run: here the extended key usage must allow TLS servers."""
    appliance = self_signed(["nas.corp.example"], client_only=True)
    report = engine_trusting(appliance.der).check([appliance.der], "nas.corp.example")
    assert not report.ok
    error = report.result("chain").error
    assert isinstance(error, cp.ChainError)
    assert error.kind == "constraints"
    assert "serverAuth" in str(error)


def test_a_certificate_a_ca_issued_is_not_its_own_path(tmp_path: Path) -> None:
    """Trusting a CA-issued server certificate byte for byte does not skip its issuer: it is
    verified up to its CA (when that is trusted too) and its revocation is checked."""
    root = make_root("pinning root")
    leaf = root.issue_leaf(["pinned.example"])
    report = engine_trusting(leaf.der, root.der).check([leaf.der], "pinned.example")
    assert report.verified_path == (leaf.der, root.der)
    assert report.result("revocation").status == "failed"  # no CRL/OCSP URL: unavailable


def test_hostname_still_applies() -> None:
    appliance = self_signed(["nas.corp.example"])
    report = engine_trusting(appliance.der).check([appliance.der], "printer.corp.example")
    assert not report.ok
    assert report.result("hostname").status == "failed"


def test_a_real_server_after_import(tmp_path: Path) -> None:
    appliance = self_signed(["localhost"], ca=True)
    engine = engine_trusting(appliance.der)
    with tls_server([appliance], appliance.key_pem, tmp_path) as server:
        report = engine.check_endpoint(server.url())
    assert report.ok, report.message()
    assert report.result("revocation").status == "skipped"
