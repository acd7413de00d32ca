"""The memos on the path of every check (issue 15): certificate summaries by DER, the CRL
scope memo, the OCSP request memo, the engine's shared results and the revocation deadline
context. Each answers exactly what the work it saves would, stays within its bound, and never
remembers a failure."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import certpolicy as cp
import certpolicy.engine as engine_module
from certpolicy import CertPolicyError, Retry, RevocationConfig
from certpolicy.checks import _cert_info, cert_info, cert_summary
from certpolicy.policy import BUILTIN_INTERNET
from certpolicy.revocation import _budget
from certpolicy.revocation.crl import CrlChecker
from certpolicy.revocation.crl import _checker as crl_checker_module
from certpolicy.revocation.ocsp import OcspChecker, ocsp_request
from certpolicy.revocation.ocsp import _checker as ocsp_checker_module

import crl_pki as c
from crl_server import CrlSite
from pki import Cert, Issuer, make_pki, make_root

HOST = "memo.example"


# A loopback CRL server for the module (tests/conftest.py), emptied before each test.
pytestmark = pytest.mark.usefixtures("fresh_site")


@pytest.fixture(scope="module")
def intermediate() -> Issuer:
    return c.issue_ca_with_crl(make_root("memo test root"), "memo test intermediate", [])


def leaf_of(intermediate: Issuer, site: CrlSite, name: str = HOST) -> Cert:
    return intermediate.issue_leaf(
        [name], crl_urls=[site.url("/int.crl")], ocsp_urls=["http://127.0.0.1:9/ocsp"]
    )


def config(tmp_path: Path) -> RevocationConfig:
    return RevocationConfig(
        method="crl",
        cache_dir=tmp_path,
        timeout=0.5,
        retry=Retry(attempts=1, backoff=0.01, max_backoff=0.02),
    )


# --- certificate summaries --------------------------------------------------------------


def test_summary_is_what_cert_info_says_and_is_reused(intermediate, site) -> None:
    leaf = leaf_of(intermediate, site)
    info = cert_info(leaf.der)
    summary = cert_summary(leaf.der)
    assert summary.subject == info["subject"]
    assert summary.serial == info["serial"] == leaf.cert.serial_number
    assert summary.is_ca is False
    assert summary.crl_urls == tuple(info["crl_urls"]) == (site.url("/int.crl"),)
    assert summary.ocsp_urls == tuple(info["ocsp_urls"]) == ("http://127.0.0.1:9/ocsp",)
    assert cert_summary(bytes(bytearray(leaf.der))) is summary
    assert cert_summary(intermediate.der).is_ca is True


def test_summary_of_a_malformed_certificate_raises_and_is_not_kept(intermediate) -> None:
    broken = intermediate.der[:-7]
    with pytest.raises(CertPolicyError) as from_info:
        cert_info(broken)
    with pytest.raises(type(from_info.value)):
        cert_summary(broken)
    assert broken not in _cert_info._summaries


def test_summaries_stay_within_their_bound(intermediate, site, monkeypatch) -> None:
    monkeypatch.setattr(_cert_info, "MAX_SUMMARIES", 2)
    monkeypatch.setattr(_cert_info, "_summaries", {})
    leaves = [leaf_of(intermediate, site, f"n{i}.example") for i in range(5)]
    for leaf in leaves:
        assert cert_summary(leaf.der).serial == leaf.cert.serial_number
        assert len(_cert_info._summaries) <= 2


# --- the CRL answer memo ----------------------------------------------------------------


def test_answer_memo_remembers_only_certificates_in_scope(
    intermediate, site, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(crl_checker_module, "MAX_ANSWER_MEMO", 1)
    leaf, other = leaf_of(intermediate, site), leaf_of(intermediate, site, "other.example")
    site.crls["/int.crl"] = c.make_crl(intermediate, [c.Entry(other.cert.serial_number)])
    with CrlChecker(config(tmp_path)) as checker:
        for _ in range(2):
            assert checker.check(leaf.der, intermediate.der, at=None).status == "good"
            assert checker.check(other.der, intermediate.der, at=None).status == "revoked"
            assert len(checker._answers) <= 1
    assert site.count("/int.crl") == 1


def test_answer_memo_stays_within_its_bytes(intermediate, site, tmp_path, monkeypatch) -> None:
    leaf = leaf_of(intermediate, site)
    monkeypatch.setattr(crl_checker_module, "MAX_ANSWER_MEMO_BYTES", len(leaf.der) + 10)
    site.crls["/int.crl"] = c.make_crl(intermediate)
    with CrlChecker(config(tmp_path)) as checker:
        for name in ("one.example", "two.example", "three.example"):
            other = leaf_of(intermediate, site, name)
            assert checker.check(other.der, intermediate.der, at=None).status == "good"
            assert checker._answer_bytes <= len(leaf.der) + 10
            assert len(checker._answers) == 1


def test_a_certificate_out_of_scope_is_checked_every_time(intermediate, site, tmp_path) -> None:
    leaf = leaf_of(intermediate, site)
    only_ca = c.issuing_distribution_point([site.url("/int.crl")], only_ca=True)
    site.crls["/int.crl"] = c.make_crl(intermediate, extra_extensions=[only_ca])
    with CrlChecker(config(tmp_path)) as checker:
        for _ in range(2):
            answer = checker.check(leaf.der, intermediate.der, at=None)
            assert answer.status == "unavailable", answer
        assert not checker._answers


# --- the OCSP request memo --------------------------------------------------------------


def test_ocsp_request_memo_gives_the_request_and_its_key(
    intermediate, site, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(ocsp_checker_module, "MAX_REQUEST_MEMO", 1)
    checker = OcspChecker(config(tmp_path))
    leaves = [leaf_of(intermediate, site, f"o{i}.example") for i in range(3)]
    for leaf in [*leaves, *leaves]:
        request, key = checker._plain_request(leaf.der, intermediate.der)
        assert request == ocsp_request(leaf.der, intermediate.der)
        assert key == hashlib.sha256(request).hexdigest()
        assert len(checker._requests) <= 1
    answer = checker.check(leaves[0].der[:-5], intermediate.der, at=None)
    assert answer.status == "unavailable"
    assert "cannot build a request" in answer.detail
    assert len(checker._requests) <= 1


# --- the engine's shared results ----------------------------------------------------------


def test_shared_results_name_each_host_and_stay_bounded(monkeypatch) -> None:
    monkeypatch.setattr(engine_module, "MAX_SHARED_RESULTS", 2)
    monkeypatch.setattr(engine_module, "_shared_results", {})
    pki = make_pki(["a.example", "b.example", "c.example"])
    trust = cp.TrustStore()
    trust.add_der(pki.root.der)
    engine = cp.Engine(cp.PolicySet([cp.Policy("Web", "internet", check_revocation=False)]), trust)
    for _ in range(2):
        for host in ("a.example", "b.example", "c.example"):
            report = engine.check(pki.chain, host)
            assert report.result("hostname").detail == f"valid for {host}"
            assert report.result("revocation").code == "skipped.policy"
            assert len(engine_module._shared_results) <= 2
    failed = engine.check(pki.chain, "d.example")
    assert failed.codes == ("hostname.mismatch",)
    assert failed.result("hostname").error is not None
    assert engine.stats()["passed"] == 6
    assert engine.stats()["rejected"] == 1


# --- the revocation deadline ----------------------------------------------------------------


def test_nested_decisions_never_end_later_than_the_one_around_them() -> None:
    assert _budget.current() is None
    with _budget.decision(10.0) as outer:
        assert _budget.current() is outer
        with _budget.decision(100.0) as longer:
            assert longer is outer
        with _budget.decision(1.0) as shorter:
            assert shorter is not outer
            assert shorter.ends <= outer.ends
            assert _budget.current() is shorter
        assert _budget.current() is outer
    assert _budget.current() is None
    with pytest.raises(ZeroDivisionError), _budget.decision(float("inf")):
        _ = 1 / 0
    assert _budget.current() is None


# --- the engine's remembered policy selections ----------------------------------------------


def test_selections_follow_the_policies_in_force(monkeypatch, caplog) -> None:
    monkeypatch.setattr(engine_module, "MAX_SELECTIONS", 2)
    pki = make_pki(["a.example"])
    trust = cp.TrustStore()
    trust.add_der(pki.root.der)
    lab = cp.Policy("Lab", "intranet", ip_ranges=("10.0.0.0/8",), check_hostname=False)
    web = cp.Policy("Web", "internet", check_revocation=False)
    engine = cp.Engine(cp.PolicySet([lab, web]), trust)
    for _ in range(3):
        with caplog.at_level("INFO", logger="certpolicy"):
            caplog.clear()
            report = engine.check(pki.chain, "a.example", ip="10.1.2.3")
        # The peer address is set aside (it would lower the checks), and said so every time.
        assert report.policy is web
        assert "was set aside" in report.reason
        assert any("set aside" in r.getMessage() for r in caplog.records)
        assert engine.check(pki.chain, "a.example", ip="10.1.2.3", trust_peer_ip=True).policy is lab
        assert engine.check(pki.chain, "b.example").policy is web
        assert len(engine._selections[1]) <= 2
    stricter = cp.Policy("Lab", "intranet", ip_ranges=("10.0.0.0/8",))
    engine._replace_policies(cp.PolicySet([stricter, web]))
    moved = engine.check(pki.chain, "a.example", ip="10.1.2.3", trust_peer_ip=True)
    assert moved.policy is stricter
    # Names no policy can be selected for are never remembered, and still fail as before.
    for _ in range(2):
        odd = engine.check(pki.chain, "127.1")
        assert odd.policy is BUILTIN_INTERNET
        assert "every check applies" in odd.reason
        assert odd.codes[0] == "hostname.mismatch"
    assert ("127.1", None, 443, False) not in engine._selections[1]


def test_bytes_like_arguments_behave_as_without_the_memos(intermediate, site, tmp_path) -> None:
    leaf = leaf_of(intermediate, site)
    with pytest.raises(TypeError):
        cert_info(bytearray(leaf.der))
    with pytest.raises(TypeError):
        cert_summary(bytearray(leaf.der))
    checker = OcspChecker(config(tmp_path))
    request, key = checker._plain_request(leaf.der, bytearray(intermediate.der))
    assert request == ocsp_request(leaf.der, intermediate.der)
    assert key == hashlib.sha256(request).hexdigest()
    assert not checker._requests
