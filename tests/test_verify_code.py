"""ChainError.verify_code: OpenSSL's X509_V_ERR number for the precise reason, computed in
the Rust core, for real chains made at run time. Each case is checked through
``verify_chain`` (and the batch ``verify_chains``), through ``Engine.check`` then
``report.raise_for_status()`` (the re-raised error keeps the code), and through a real TLS
handshake with ``engine.ssl_context()`` against a loopback server, where the stdlib's own
OpenSSL verification of the same server must report the same number."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

import certpolicy as cp
from test_tls_server import expired_leaf, self_signed, tls_server

import crl_pki as c
from crl_server import CrlSite, crl_site
from pki import (
    END,
    START,
    Cert,
    Issuer,
    Pki,
    _builder,
    _ca_extensions,
    make_pki,
    make_root,
    name,
    new_key,
)

HOST = "127.0.0.1"
NAMES = ["localhost", HOST]
NO_REVOCATION = cp.PolicySet([cp.Policy("Internet", "internet", check_revocation=False)])


@dataclass(frozen=True)
class Case:
    """A chain a server presents (leaf first), and what rejecting it must say."""

    chain: list[Cert]
    kind: str
    verify_code: int

    @property
    def der(self) -> list[bytes]:
        return [cert.der for cert in self.chain]


def tampered(cert: Cert) -> Cert:
    """The same certificate with one bit of its signature flipped."""
    der = bytearray(cert.der)
    der[-1] ^= 0x01
    return Cert(x509.load_der_x509_certificate(bytes(der)), cert.key)


def name_constrained(root: Issuer, permitted: str) -> Issuer:
    """An intermediate of ``root`` whose name constraints permit ``permitted`` only (RFC 5280
    section 4.2.1.10)."""
    key = new_key()
    builder = _ca_extensions(
        _builder(name("constrained intermediate"), root.cert.subject, key, root.key, START, END),
        key,
        None,
    )
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()), False
    ).add_extension(x509.NameConstraints([x509.DNSName(permitted)], None), critical=True)
    return Issuer(builder.sign(root.key, hashes.SHA256()), key)


def _expired(pki: Pki) -> Case:
    return Case([expired_leaf(pki.intermediate, NAMES), pki.intermediate], "expired", 10)


def _not_yet_valid(pki: Pki) -> Case:
    now = dt.datetime.now(dt.UTC)
    later = pki.intermediate.issue_leaf(
        NAMES, not_before=now + dt.timedelta(days=3), not_after=now + dt.timedelta(days=30)
    )
    return Case([later, pki.intermediate], "not_yet_valid", 9)


def _unknown_issuer(pki: Pki) -> Case:
    # The intermediate left out: the leaf's issuer is nowhere.
    return Case([pki.intermediate.issue_leaf(NAMES)], "untrusted", 20)


def _self_signed_leaf(pki: Pki) -> Case:
    return Case([self_signed(NAMES)], "untrusted", 18)


def _untrusted_root_presented(pki: Pki) -> Case:
    # A root of its own name (one named like the trusted root would be tried as the issuer).
    root = make_root("a root nobody trusts")
    intermediate = root.issue_ca("an intermediate of that root")
    return Case([intermediate.issue_leaf(NAMES), intermediate, root], "untrusted", 19)


def _bad_signature(pki: Pki) -> Case:
    return Case(
        [tampered(pki.intermediate.issue_leaf(NAMES)), pki.intermediate], "bad_signature", 7
    )


def _no_server_auth(pki: Pki) -> Case:
    client_only = pki.intermediate.issue_leaf(NAMES, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    return Case([client_only, pki.intermediate], "constraints", 26)


def _path_length(pki: Pki) -> Case:
    no_sub_ca = pki.root.issue_ca("pathLen 0 intermediate", path_length=0)
    sub_ca = no_sub_ca.issue_ca("sub CA below a pathLen 0 CA")
    return Case([sub_ca.issue_leaf(NAMES), sub_ca, no_sub_ca], "constraints", 25)


def _name_constraints(pki: Pki) -> Case:
    constrained = name_constrained(pki.root, "allowed.example")
    # localhost is outside allowed.example; 127.0.0.1 is no DNS name, which the DNS
    # constraint leaves alone (and lets the hostname check pass).
    return Case([constrained.issue_leaf(NAMES), constrained], "constraints", 47)


CASES: dict[str, Callable[[Pki], Case]] = {
    "expired": _expired,
    "not_yet_valid": _not_yet_valid,
    "unknown_issuer": _unknown_issuer,
    "self_signed_leaf": _self_signed_leaf,
    "untrusted_root_presented": _untrusted_root_presented,
    "bad_signature": _bad_signature,
    "no_server_auth": _no_server_auth,
    "path_length": _path_length,
    "name_constraints": _name_constraints,
}


@pytest.fixture(scope="module")
def shared() -> Pki:
    return make_pki(NAMES)


@pytest.fixture(scope="module")
def trust(shared: Pki) -> cp.TrustStore:
    store = cp.TrustStore()
    store.add_der(shared.root.der)
    return store


@pytest.fixture(scope="module", params=list(CASES))
def case(request: pytest.FixtureRequest, shared: Pki) -> Case:
    return CASES[request.param](shared)


def test_the_good_chain_passes(shared: Pki, trust: cp.TrustStore) -> None:
    """The cases differ from a chain that verifies in their one fault only."""
    assert cp.verify_chain(shared.chain, trust)[-1] == shared.root.der
    constrained = name_constrained(shared.root, "allowed.example")
    inside = constrained.issue_leaf(["www.allowed.example"])
    assert len(cp.verify_chain([inside.der, constrained.der], trust)) == 3


def test_verify_chain(case: Case, trust: cp.TrustStore) -> None:
    with pytest.raises(cp.ChainError) as raised:
        cp.verify_chain(case.der, trust)
    error = raised.value
    assert (error.kind, error.verify_code) == (case.kind, case.verify_code), str(error)
    assert error.code == f"chain.{case.kind}"
    assert isinstance(error, ssl.SSLCertVerificationError)
    # The batch path builds the same error.
    (batched,) = cp.verify_chains([case.der], trust)
    assert isinstance(batched, cp.ChainError)
    assert (batched.kind, batched.verify_code) == (case.kind, case.verify_code)


def test_engine_check_then_raise_for_status(case: Case, trust: cp.TrustStore) -> None:
    engine = cp.Engine(NO_REVOCATION, trust)
    report = engine.check(case.der, HOST)
    assert not report.ok
    result = report.result("chain")
    assert result.code == f"chain.{case.kind}"
    assert isinstance(result.error, cp.ChainError)
    assert result.error.verify_code == case.verify_code
    with pytest.raises(cp.ChainError) as raised:
        report.raise_for_status()
    error = raised.value
    assert (error.kind, error.verify_code) == (case.kind, case.verify_code)
    assert error.report is report
    assert "chain" in str(error)


def _handshake(context: ssl.SSLContext, port: int, server_hostname: str = HOST) -> None:
    with (
        socket.create_connection((HOST, port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server_hostname),
    ):
        pass


def _openssl_code(root: Issuer, port: int, server_hostname: str = HOST, *, hostname: bool) -> int:
    """What the stdlib's own OpenSSL verification says of the same server."""
    context = ssl.create_default_context(cadata=root.pem.decode())
    context.check_hostname = hostname
    with pytest.raises(ssl.SSLCertVerificationError) as raised:
        _handshake(context, port, server_hostname)
    return raised.value.verify_code


def test_tls_handshake_matches_openssl(
    case: Case, shared: Pki, trust: cp.TrustStore, tmp_path: Path
) -> None:
    engine = cp.Engine(NO_REVOCATION, trust)
    with tls_server(case.chain, case.chain[0].key_pem, tmp_path) as server:
        with pytest.raises(ssl.SSLCertVerificationError) as raised:
            _handshake(engine.ssl_context(), server.port)
        openssl = _openssl_code(shared.root, server.port, hostname=False)
        server.settle()
    error = raised.value
    assert isinstance(error, cp.ChainError), repr(error)
    assert (error.kind, error.verify_code) == (case.kind, case.verify_code)
    assert error.report is not None
    assert error.report.codes == (f"chain.{case.kind}",)
    assert openssl == case.verify_code
    assert server.app_bytes == 0


def test_hostname_mismatch_is_62(shared: Pki, trust: cp.TrustStore, tmp_path: Path) -> None:
    elsewhere = shared.intermediate.issue_leaf(["elsewhere.example"])
    chain = [elsewhere, shared.intermediate]
    report = cp.Engine(NO_REVOCATION, trust).check([cert.der for cert in chain], "localhost")
    assert report.result("hostname").code == "hostname.mismatch"
    with pytest.raises(cp.HostnameMismatchError) as raised:
        report.raise_for_status()
    assert raised.value.verify_code == 62
    assert raised.value.presented == ["elsewhere.example"]
    with tls_server(chain, elsewhere.key_pem, tmp_path) as server:
        with pytest.raises(cp.HostnameMismatchError) as handshake:
            _handshake(cp.Engine(NO_REVOCATION, trust).ssl_context(), server.port, "localhost")
        openssl = _openssl_code(shared.root, server.port, "localhost", hostname=True)
    assert handshake.value.verify_code == 62
    assert openssl == 62


def test_ip_address_mismatch_is_64(shared: Pki, trust: cp.TrustStore, tmp_path: Path) -> None:
    # OpenSSL tells an address mismatch (64) from a name mismatch (62); so do we.
    elsewhere = shared.intermediate.issue_leaf(["elsewhere.example", "192.0.2.7"])
    chain = [elsewhere, shared.intermediate]
    with tls_server(chain, elsewhere.key_pem, tmp_path) as server:
        with pytest.raises(cp.HostnameMismatchError) as handshake:
            _handshake(cp.Engine(NO_REVOCATION, trust).ssl_context(), server.port, "127.0.0.1")
        openssl = _openssl_code(shared.root, server.port, "127.0.0.1", hostname=True)
    assert handshake.value.verify_code == 64
    assert openssl == 64


def test_revocation_unavailable_is_3(shared: Pki, trust: cp.TrustStore, tmp_path: Path) -> None:
    # The shared leaf names no CRL or OCSP URL: nothing can answer, and the policy fails closed.
    config = cp.RevocationConfig(cache_dir=tmp_path)
    with cp.Engine(cp.PolicySet([cp.Policy("Internet", "internet")]), trust, config) as engine:
        report = engine.check(shared.chain, HOST)
    assert report.result("revocation").code == "revocation.unavailable"
    with pytest.raises(cp.RevocationUnavailableError) as raised:
        report.raise_for_status()
    assert raised.value.verify_code == 3


@pytest.fixture(scope="module")
def site() -> Iterator[CrlSite]:
    with crl_site() as running:
        yield running


def test_revoked_is_23(site: CrlSite, tmp_path: Path) -> None:
    root = make_root("verify code CRL root")
    intermediate = c.issue_ca_with_crl(root, "verify code CRL intermediate", [site.url("/r.crl")])
    leaf = intermediate.issue_leaf(["localhost"], crl_urls=[site.url("/i.crl")])
    site.crls["/r.crl"] = c.make_crl(root, [])
    revoked_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    site.crls["/i.crl"] = c.make_crl(
        intermediate, [c.Entry(leaf.cert.serial_number, revoked_at, "keyCompromise")]
    )
    store = cp.TrustStore()
    store.add_der(root.der)
    config = cp.RevocationConfig(
        method="crl", cache_dir=tmp_path, timeout=5, retry=cp.Retry(attempts=1, backoff=0.01)
    )
    with cp.Engine(cp.PolicySet([cp.Policy("Internet", "internet")]), store, config) as engine:
        report = engine.check([leaf.der, intermediate.der], "localhost")
    assert report.result("revocation").code == "revocation.revoked"
    with pytest.raises(cp.CertificateRevokedError) as raised:
        report.raise_for_status()
    assert raised.value.verify_code == 23
