"""The Engine with CRL revocation checking: every certificate of the verified path (or only
the leaf with depth="leaf") against CRLs served on loopback, revoked certificates named in
the error, and on_unavailable="fail" / "allow"."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import certpolicy as cp
from certpolicy import (
    CertificateRevokedError,
    Engine,
    PolicySet,
    Retry,
    RevocationConfig,
    RevocationUnavailableError,
    TrustStore,
)

import crl_pki as c
from crl_server import CrlSite, crl_site
from pki import Cert, Issuer, make_root

HOST = "leaf.example"
REVOKED = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=5)


@dataclass
class Chain:
    root: Issuer
    intermediate: Issuer
    leaf: Cert

    @property
    def presented(self) -> list[bytes]:
        return [self.leaf.der, self.intermediate.der]


@pytest.fixture(scope="module")
def site() -> Iterator[CrlSite]:
    with crl_site() as running:
        yield running


@pytest.fixture(scope="module")
def chain(site: CrlSite) -> Chain:
    root = make_root("CRL engine test root")
    intermediate = c.issue_ca_with_crl(
        root, "CRL engine test intermediate", [site.url("/root.crl")]
    )
    leaf = intermediate.issue_leaf([HOST], crl_urls=[site.url("/int.crl")])
    return Chain(root, intermediate, leaf)


@pytest.fixture(autouse=True)
def _fresh_site(site: CrlSite) -> None:
    site.reset()


def publish(site: CrlSite, chain: Chain, *, leaf: bool = False, intermediate: bool = False) -> None:
    """Serves both CRLs; ``leaf`` / ``intermediate`` revoke that certificate."""
    leaf_entries = [c.Entry(chain.leaf.cert.serial_number, REVOKED, "keyCompromise")]
    int_entries = [c.Entry(chain.intermediate.cert.serial_number, REVOKED, "cACompromise")]
    site.crls["/int.crl"] = c.make_crl(chain.intermediate, leaf_entries if leaf else [])
    site.crls["/root.crl"] = c.make_crl(chain.root, int_entries if intermediate else [])


def engine(chain: Chain, tmp_path: Path, **options: object) -> Engine:
    trust = TrustStore()
    trust.add_der(chain.root.der)
    settings: dict[str, object] = {
        "method": "crl",
        "cache_dir": tmp_path,
        "timeout": 0.5,
        "retry": Retry(attempts=2, backoff=0.01, max_backoff=0.02),
    }
    settings.update(options)
    return Engine(PolicySet.defaults(), trust, RevocationConfig(**settings))  # type: ignore[arg-type]


def revocation(report: cp.Report) -> cp.CheckResult:
    return next(result for result in report.results if result.name == "revocation")


def test_good_chain(site, chain, tmp_path) -> None:
    publish(site, chain)
    report = engine(chain, tmp_path).enforce(chain.presented, HOST)
    assert report.ok
    result = revocation(report)
    assert result.status == "passed"
    assert site.url("/int.crl") in result.detail
    assert site.url("/root.crl") in result.detail
    assert site.count("/int.crl") == 1
    assert site.count("/root.crl") == 1


def test_revoked_leaf(site, chain, tmp_path) -> None:
    publish(site, chain, leaf=True)
    report = engine(chain, tmp_path).check(chain.presented, HOST)
    assert not report.ok
    with pytest.raises(CertificateRevokedError) as caught:
        report.raise_for_status()
    message = str(caught.value)
    assert "CN=leaf.example" in message
    assert f"{chain.leaf.cert.serial_number:#x}" in message
    assert REVOKED.isoformat() in message
    assert "keyCompromise" in message
    assert site.url("/int.crl") in message
    assert caught.value.verify_code == 23  # X509_V_ERR_CERT_REVOKED


def test_revoked_intermediate(site, chain, tmp_path) -> None:
    publish(site, chain, intermediate=True)
    with pytest.raises(CertificateRevokedError) as caught:
        engine(chain, tmp_path).enforce(chain.presented, HOST)
    message = str(caught.value)
    assert "CN=CRL engine test intermediate" in message
    assert "cACompromise" in message


def test_depth_leaf_checks_only_the_leaf(site, chain, tmp_path) -> None:
    publish(site, chain, intermediate=True)
    report = engine(chain, tmp_path, depth="leaf").enforce(chain.presented, HOST)
    assert report.ok
    assert site.count("/root.crl") == 0


def test_unavailable_fails_closed(site, chain, tmp_path) -> None:
    site.crls["/root.crl"] = c.make_crl(chain.root, [])  # /int.crl answers 404
    with pytest.raises(RevocationUnavailableError) as caught:
        engine(chain, tmp_path).enforce(chain.presented, HOST)
    assert "HTTP 404" in str(caught.value)
    assert "CN=leaf.example" in str(caught.value)


def test_unavailable_allowed_with_a_warning(site, chain, tmp_path, caplog) -> None:
    site.crls["/root.crl"] = c.make_crl(chain.root, [])
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        report = engine(chain, tmp_path, on_unavailable="allow").enforce(chain.presented, HOST)
    assert report.ok
    assert "allowed (on_unavailable)" in revocation(report).detail
    warnings = [r for r in caplog.records if "revocation unavailable" in r.getMessage()]
    assert warnings
    assert warnings[0].levelno == logging.WARNING


def test_revoked_is_final_even_when_allowing_unavailable(site, chain, tmp_path) -> None:
    publish(site, chain, leaf=True)
    with pytest.raises(CertificateRevokedError):
        engine(chain, tmp_path, on_unavailable="allow").enforce(chain.presented, HOST)


def test_soft_fail_never_skips_the_rest_of_the_path(site, chain, tmp_path) -> None:
    """The leaf's CRL is down (404) under on_unavailable="allow"; the intermediate is listed
    as revoked by a reachable CRL: the path is revoked, not allowed as unavailable."""
    publish(site, chain, intermediate=True)
    del site.crls["/int.crl"]  # the leaf's distribution point answers 404
    with pytest.raises(CertificateRevokedError) as caught:
        engine(chain, tmp_path, on_unavailable="allow").enforce(chain.presented, HOST)
    assert "CN=CRL engine test intermediate" in str(caught.value)
    assert "cACompromise" in str(caught.value)


def test_crl_as_fallback_for_ocsp(site, chain, tmp_path) -> None:
    # The certificates name no OCSP responder, so OCSP cannot answer and CRL decides.
    publish(site, chain, leaf=True)
    with pytest.raises(CertificateRevokedError) as caught:
        engine(chain, tmp_path, method="ocsp_then_crl").enforce(chain.presented, HOST)
    assert "crl" in str(caught.value)
