"""CheckResult.code: the stable reason code of every failure kind, from real TLS servers on
loopback (chain, hostname) and real CRL servers (revocation), in reports, --json-able dicts,
the raised errors and the WARNING log's ``extra``."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

import certpolicy as cp
from certpolicy.report import CHECK_CODES
from test_tls_server import expired_leaf, self_signed, tls_server

import crl_pki as c
from crl_server import CrlSite, crl_site
from pki import Cert, Pki, make_pki, make_root

HOST = "127.0.0.1"
NO_REVOCATION = cp.PolicySet([cp.Policy("Internet", "internet", check_revocation=False)])


def engine_for(pki: Pki, policies: cp.PolicySet = NO_REVOCATION, **revocation: object) -> cp.Engine:
    trust = cp.TrustStore()
    trust.add_der(pki.root.der)
    config = cp.RevocationConfig(**revocation) if revocation else cp.RevocationConfig()  # type: ignore[arg-type]
    return cp.Engine(policies, trust, config)


@contextmanager
def serving(chain: list[Cert], tmp_path: Path) -> Iterator[int]:
    with tls_server(chain, chain[0].key_pem, tmp_path) as server:
        yield server.port


def tampered(cert: Cert) -> Cert:
    """The same certificate with one bit of its signature flipped."""
    der = bytearray(cert.der)
    der[-1] ^= 0x01
    return Cert(x509.load_der_x509_certificate(bytes(der)), cert.key)


def codes(report: cp.Report) -> dict[str, str | None]:
    return {result.name: result.code for result in report.results}


@pytest.fixture(scope="module")
def shared() -> Pki:
    return make_pki(["localhost", "127.0.0.1"])


def test_a_good_connection_has_no_failure_codes(shared: Pki, tmp_path: Path) -> None:
    with serving([shared.leaf, shared.intermediate], tmp_path) as port:
        report = engine_for(shared).check_endpoint(HOST, port, timeout=5)
    assert report.ok
    assert report.enforced
    assert codes(report) == {"chain": None, "hostname": None, "revocation": "skipped.policy"}
    assert report.codes == ()
    assert report.to_dict()["checks"]["revocation"]["code"] == "skipped.policy"


def _leaf(shared: Pki, case: str) -> list[Cert]:
    now = dt.datetime.now(dt.UTC)
    issuer = shared.intermediate
    if case == "expired":
        return [expired_leaf(issuer, [HOST]), issuer]
    if case == "not_yet_valid":
        later = issuer.issue_leaf(
            [HOST], not_before=now + dt.timedelta(days=3), not_after=now + dt.timedelta(days=30)
        )
        return [later, issuer]
    if case == "untrusted":
        other = make_pki([HOST])
        return [other.leaf, other.intermediate]
    if case == "bad_signature":
        return [tampered(issuer.issue_leaf([HOST])), issuer]
    if case == "constraints":
        client_only = issuer.issue_leaf([HOST], eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
        return [client_only, issuer]
    if case == "hostname":
        return [issuer.issue_leaf(["elsewhere.example"]), issuer]
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "chain_code", "hostname_code", "verify_code"),
    [
        ("expired", "chain.expired", None, 10),
        ("not_yet_valid", "chain.not_yet_valid", None, 9),
        ("untrusted", "chain.untrusted", None, 20),
        ("bad_signature", "chain.bad_signature", None, 7),
        ("constraints", "chain.constraints", None, 26),
        # An IP literal: X509_V_ERR_IP_ADDRESS_MISMATCH, as OpenSSL says (62 for a name).
        ("hostname", None, "hostname.mismatch", 64),
    ],
)
def test_each_failure_kind_has_its_code(
    shared: Pki,
    tmp_path: Path,
    case: str,
    chain_code: str | None,
    hostname_code: str | None,
    verify_code: int,
) -> None:
    with serving(_leaf(shared, case), tmp_path) as port:
        engine = engine_for(shared)
        report = engine.check_endpoint(HOST, port, timeout=5)
        assert not report.ok
        assert report.enforced
        assert codes(report)["chain"] == chain_code
        assert codes(report)["hostname"] == hostname_code
        expected = tuple(code for code in (chain_code, hostname_code) if code)
        assert report.codes == expected
        assert report.to_dict()["codes"] == list(expected)
        with pytest.raises(cp.CertificateCheckError) as raised:
            report.raise_for_status()
        assert raised.value.verify_code == verify_code
        # The same error through a real handshake with the enforcing context.
        with pytest.raises(cp.CertificateCheckError) as handshake:
            _handshake(engine, port)
        assert handshake.value.report.codes == expected
        assert handshake.value.verify_code == verify_code


def _handshake(engine: cp.Engine, port: int) -> None:
    import socket

    context = engine.ssl_context()
    with (
        socket.create_connection((HOST, port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=HOST),
    ):
        pass


def test_malformed_and_empty_chains(shared: Pki) -> None:
    engine = engine_for(shared)
    garbage = engine.check([b"\x30\x03\x02\x01"], HOST)
    assert codes(garbage)["chain"] == "chain.malformed"
    empty = engine.check([], HOST)
    assert codes(empty) == {
        "chain": "chain.empty",
        "hostname": "hostname.mismatch",
        "revocation": "skipped.policy",
    }


def test_offline_and_chain_failed_revocation_skips(shared: Pki) -> None:
    everything = cp.PolicySet([cp.Policy("Internet", "internet")])
    engine = engine_for(shared, everything)
    offline = engine.check(shared.chain, "localhost", offline=True)
    assert offline.result("revocation").status == "skipped"
    assert offline.result("revocation").code == "skipped.offline"
    other = make_pki(["localhost"])
    untrusted = engine.check(other.chain, "localhost")
    assert untrusted.result("revocation").status == "skipped"
    assert untrusted.result("revocation").code == "skipped.chain_failed"


def test_an_imported_self_signed_server_is_not_applicable(tmp_path: Path) -> None:
    appliance = self_signed([HOST])
    trust = cp.TrustStore()
    trust.add_der(appliance.der)
    engine = cp.Engine(cp.PolicySet([cp.Policy("Internet", "internet")]), trust)
    with serving([appliance], tmp_path) as port:
        report = engine.check_endpoint(HOST, port, timeout=5)
    assert report.ok
    revocation = report.result("revocation")
    assert (revocation.status, revocation.code) == ("skipped", "revocation.not_applicable")


# --- revocation against a real CRL server -------------------------------------------------


@pytest.fixture(scope="module")
def site() -> Iterator[CrlSite]:
    with crl_site() as running:
        yield running


@pytest.fixture
def crl_chain(site: CrlSite) -> Pki:
    site.reset()
    root = make_root("codes CRL root")
    intermediate = c.issue_ca_with_crl(root, "codes CRL intermediate", [site.url("/root.crl")])
    leaf = intermediate.issue_leaf(["localhost"], crl_urls=[site.url("/int.crl")])
    site.crls["/root.crl"] = c.make_crl(root, [])
    return Pki(root, intermediate, leaf)


def crl_engine(pki: Pki, tmp_path: Path, **options: object) -> cp.Engine:
    return engine_for(
        pki,
        cp.PolicySet([cp.Policy("Internet", "internet")]),
        method="crl",
        cache_dir=tmp_path,
        timeout=0.5,
        retry=cp.Retry(attempts=1, backoff=0.01),
        **options,
    )


def test_revoked_code(site: CrlSite, crl_chain: Pki, tmp_path: Path) -> None:
    revoked_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    entry = c.Entry(crl_chain.leaf.cert.serial_number, revoked_at, "keyCompromise")
    site.crls["/int.crl"] = c.make_crl(crl_chain.intermediate, [entry])
    with crl_engine(crl_chain, tmp_path) as engine:
        report = engine.check(crl_chain.chain, "localhost")
    result = report.result("revocation")
    assert (result.status, result.code) == ("failed", "revocation.revoked")
    with pytest.raises(cp.CertificateRevokedError) as raised:
        report.raise_for_status()
    assert raised.value.verify_code == 23


def test_unavailable_fails_closed_with_its_code(
    site: CrlSite, crl_chain: Pki, tmp_path: Path
) -> None:
    # No /int.crl published: the server answers 404.
    with crl_engine(crl_chain, tmp_path) as engine:
        report = engine.check(crl_chain.chain, "localhost")
    result = report.result("revocation")
    assert (result.status, result.code) == ("failed", "revocation.unavailable")
    with pytest.raises(cp.RevocationUnavailableError) as raised:
        report.raise_for_status()
    assert raised.value.verify_code == 3


def test_unavailable_but_allowed_is_skipped_never_passed(
    site: CrlSite, crl_chain: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="certpolicy"),
        crl_engine(crl_chain, tmp_path, on_unavailable="allow") as engine,
    ):
        report = engine.check(crl_chain.chain, "localhost")
    result = report.result("revocation")
    assert (result.status, result.code) == ("skipped", "revocation.unavailable")
    assert report.ok  # allowed: the connection goes on
    assert "allowed (on_unavailable)" in result.detail
    records = [r for r in caplog.records if getattr(r, "code", None) == "revocation.unavailable"]
    assert records
    assert records[0].levelno == logging.WARNING
    assert engine.stats()["codes"] == {"revocation.unavailable": 1}


def test_rejection_log_carries_the_code(
    shared: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = engine_for(shared)
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        engine.check([make_pki(["localhost"]).leaf.der], "localhost")
    (record,) = [r for r in caplog.records if getattr(r, "check", None) == "chain"]
    assert record.code == "chain.untrusted"  # type: ignore[attr-defined]
    assert record.enforced is True  # type: ignore[attr-defined]
    assert record.policy == "Internet"  # type: ignore[attr-defined]


def test_every_code_emitted_is_in_the_documented_table() -> None:
    # The table the docs publish; a new code must be added there (and to CHANGELOG) first.
    documented = Path(__file__).parent.parent / "docs" / "api.md"
    text = documented.read_text("utf-8")
    for code in CHECK_CODES:
        assert f"`{code}`" in text, f"{code} is not documented in docs/api.md"
