"""OCSP through the Engine: method order, fallback to a CRL served over HTTP when the
responder is down, slow or does not know the certificate, and hard / soft fail when nothing
answers. Real responder (openssl ocsp) and real CRL server, both on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

import certpolicy as cp

from ocsp_responder import Responder, closed_port_url, running_responder
from pki import Cert, Issuer, make_root
from servers import Request, Response, Server, serve

HOST = "api.example.com"
REVOKED_AT = dt.datetime(2025, 4, 5, 6, 7, 8, tzinfo=dt.UTC)


def make_crl(ca: Issuer, revoked: list[Cert]) -> bytes:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now - dt.timedelta(hours=1))
        .next_update(now + dt.timedelta(days=1))
        .add_extension(x509.CRLNumber(7), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.cert.serial_number)
            .revocation_date(REVOKED_AT)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(Encoding.DER)


@dataclass
class CrlServer:
    """Serves the CA's CRL, or fails on demand."""

    body: bytes = b""
    status: int = 200

    def handle(self, request: Request) -> Response:
        return Response(self.status, self.body, {"Content-Type": "application/pkix-crl"})


@dataclass
class World:
    root: Issuer
    ca: Issuer
    responder: Responder
    ocsp_server: Server
    crl: CrlServer
    crl_url: str
    tmp_path: Path

    def leaf(self, ocsp_url: str | None = None, crl: bool = True) -> Cert:
        return self.ca.issue_leaf(
            [HOST],
            ocsp_urls=[ocsp_url or self.responder.url],
            crl_urls=[self.crl_url] if crl else None,
        )

    def engine(self, **options: object) -> cp.Engine:
        trust = cp.TrustStore()
        trust.add_der(self.root.der)
        settings: dict[str, object] = {
            "depth": "leaf",
            "cache_dir": self.tmp_path / "cache",
            "timeout": 1.0,
            "retry": cp.Retry(attempts=1, backoff=0.0),
        }
        settings.update(options)
        revocation = cp.RevocationConfig(**settings)  # type: ignore[arg-type]
        return cp.Engine(cp.PolicySet([cp.Policy("Web", "internet")]), trust, revocation)

    def chain(self, leaf: Cert) -> list[bytes]:
        return [leaf.der, self.ca.der]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    root = make_root("engine ocsp root")
    ca = root.issue_ca("engine ocsp CA")
    crl = CrlServer(make_crl(ca, []))
    with (
        running_responder(tmp_path / "responder", ca) as responder,
        serve(crl.handle) as crl_server,
    ):
        assert responder.server is not None
        url = f"http://127.0.0.1:{crl_server.port}/ca.crl"
        yield World(root, ca, responder, responder.server, crl, url, tmp_path)


def methods(report: cp.Report) -> list[tuple[str, str]]:
    assert report.revocation is not None
    return [(a.method, a.status) for a in report.revocation.answers]


def test_good_by_ocsp(world: World) -> None:
    leaf = world.leaf()
    world.responder.add_good(leaf)
    report = world.engine().enforce(world.chain(leaf), HOST)
    assert report.result("revocation").status == "passed"
    assert methods(report) == [("ocsp", "good")]
    assert world.crl.body  # the CRL was not needed
    assert "ocsp" in report.result("revocation").detail


def test_revoked_by_ocsp_is_final(world: World) -> None:
    leaf = world.leaf()
    world.responder.revoke(leaf, REVOKED_AT, "keyCompromise")
    with pytest.raises(cp.CertificateRevokedError) as info:
        world.engine().enforce(world.chain(leaf), HOST)
    message = str(info.value)
    assert "was revoked at 2025-04-05T06:07:08+00:00" in message
    assert "reason: keyCompromise" in message
    assert f"according to ocsp {world.responder.url}" in message
    assert methods(info.value.report) == [("ocsp", "revoked")]


@pytest.mark.parametrize("failure", ["down", "slow", "unknown", "http-error", "tampered"])
def test_falls_back_to_the_crl(world: World, failure: str) -> None:
    leaf = world.leaf(closed_port_url() if failure == "down" else None)
    if failure != "unknown":
        world.responder.add_good(leaf)
    world.responder.mode = {"slow": "slow", "http-error": "error", "tampered": "tamper"}.get(
        failure, "normal"
    )
    world.responder.delay = 5.0
    report = world.engine(timeout=0.5).enforce(world.chain(leaf), HOST)
    expected = "unknown" if failure == "unknown" else "unavailable"
    assert methods(report) == [("ocsp", expected), ("crl", "good")]


def test_unknown_to_ocsp_revoked_in_the_crl(world: World) -> None:
    leaf = world.leaf()
    world.crl.body = make_crl(world.ca, [leaf])
    with pytest.raises(cp.CertificateRevokedError, match="according to crl"):
        world.engine().enforce(world.chain(leaf), HOST)


def test_both_down_fails_hard(world: World) -> None:
    leaf = world.leaf(closed_port_url())
    world.crl.status = 503
    report = world.engine().check(world.chain(leaf), HOST)
    assert report.result("revocation").status == "failed"
    assert [m for m, s in methods(report) if s == "unavailable"] == ["ocsp", "crl"]
    with pytest.raises(cp.RevocationUnavailableError) as info:
        report.raise_for_status()
    message = str(info.value)
    assert "no definitive revocation status" in message
    assert "ocsp" in message
    assert "unreachable" in message
    assert "crl" in message


def test_both_down_soft_fail_passes_with_a_warning(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    leaf = world.leaf(closed_port_url())
    world.crl.status = 503
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        report = world.engine(on_unavailable="allow").enforce(world.chain(leaf), HOST)
    assert report.ok
    assert "allowed (on_unavailable)" in report.result("revocation").detail
    warnings = [r for r in caplog.records if "revocation unavailable" in r.getMessage()]
    assert warnings
    assert warnings[0].levelno == logging.WARNING


def test_crl_then_ocsp(world: World) -> None:
    leaf = world.leaf()
    world.responder.add_good(leaf)
    world.crl.status = 500
    report = world.engine(method="crl_then_ocsp").enforce(world.chain(leaf), HOST)
    assert methods(report) == [("crl", "unavailable"), ("ocsp", "good")]


def test_ocsp_only_has_no_fallback(world: World) -> None:
    leaf = world.leaf(closed_port_url())
    with pytest.raises(cp.RevocationUnavailableError) as info:
        world.engine(method="ocsp").enforce(world.chain(leaf), HOST)
    assert methods(info.value.report) == [("ocsp", "unavailable")]
