"""ocsp_request / ocsp_check_response against a real responder (``openssl ocsp``): good,
revoked, unknown; issuer-signed and delegated responses; unauthorized responders; tampered,
stale and foreign answers; nonces; SHA-1 and SHA-256 CertIDs; hostile bytes."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import certpolicy as cp
from certpolicy._util import CLOCK_SKEW
from certpolicy.revocation.ocsp import OcspStatus, ocsp_check_response, ocsp_request

from ocsp_responder import OPENSSL, Responder
from pki import START, Cert, Issuer, make_root

UTC = dt.UTC
REVOKED_AT = dt.datetime(2025, 3, 1, 12, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca() -> Issuer:
    return make_root("ocsp test root").issue_ca("ocsp test CA")


@pytest.fixture(scope="module")
def leaf(ca: Issuer) -> Cert:
    return ca.issue_leaf(["good.example"])


@pytest.fixture
def responder(tmp_path: Path, ca: Issuer, leaf: Cert) -> Responder:
    responder = Responder(tmp_path / "responder", ca, ca)
    responder.add_good(leaf)
    return responder


def ask(responder: Responder, cert: Cert, nonce: bytes | None = None) -> bytes:
    """The real responder's answer to our request for ``cert``."""
    return responder.respond(ocsp_request(cert.der, responder.ca.der, nonce=nonce))


def check(response: bytes, cert: Cert, ca: Issuer, **options: object) -> OcspStatus:
    return ocsp_check_response(response, cert.der, ca.der, **options)  # type: ignore[arg-type]


def responder_cert(
    issuer: Issuer, common_name: str, eku: list[x509.ObjectIdentifier] | None = None, **kw: object
) -> Cert:
    return issuer.issue_leaf(
        [common_name],
        common_name=common_name,
        eku=eku or [ExtendedKeyUsageOID.OCSP_SIGNING],
        san=False,
        **kw,  # type: ignore[arg-type]
    )


# --- requests --------------------------------------------------------------------------


def test_request_is_what_cryptography_builds(ca: Issuer, leaf: Cert) -> None:
    ours = ocsp_request(leaf.der, ca.der)
    theirs = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(leaf.cert, ca.cert, hashes.SHA1())
        .build()
        .public_bytes(Encoding.DER)
    )
    parsed = ocsp.load_der_ocsp_request(ours)
    expected = ocsp.load_der_ocsp_request(theirs)
    assert parsed.serial_number == leaf.cert.serial_number
    assert isinstance(parsed.hash_algorithm, hashes.SHA1)
    assert parsed.issuer_name_hash == expected.issuer_name_hash
    assert parsed.issuer_key_hash == expected.issuer_key_hash
    assert list(parsed.extensions) == []
    nonce = b"\x01" * 16
    with_nonce = ocsp.load_der_ocsp_request(ocsp_request(leaf.der, ca.der, nonce=nonce))
    assert with_nonce.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce


def test_openssl_reads_our_request(tmp_path: Path, ca: Issuer, leaf: Cert) -> None:
    request = tmp_path / "req.der"
    request.write_bytes(ocsp_request(leaf.der, ca.der, nonce=b"abcdefgh"))
    text = subprocess.run(
        [OPENSSL, "ocsp", "-reqin", str(request), "-req_text"],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    ).stdout
    assert "Hash Algorithm: sha1" in text
    assert format(leaf.cert.serial_number, "X") in text.replace(":", "")
    assert "OCSP Nonce" in text


@pytest.mark.parametrize("nonce", [b"", b"x" * 33])
def test_bad_nonce_sizes(ca: Issuer, leaf: Cert, nonce: bytes) -> None:
    with pytest.raises(cp.OcspError, match="nonce"):
        ocsp_request(leaf.der, ca.der, nonce=nonce)


def test_request_for_the_wrong_issuer(ca: Issuer, leaf: Cert) -> None:
    other = make_root("someone else")
    with pytest.raises(cp.OcspError, match="is not the issuer"):
        ocsp_request(leaf.der, other.der)
    with pytest.raises(cp.MalformedInputError):
        ocsp_request(b"not a certificate", ca.der)


# --- statuses --------------------------------------------------------------------------


def test_good_signed_by_the_issuer(responder: Responder, ca: Issuer, leaf: Cert) -> None:
    before = dt.datetime.now(UTC).replace(microsecond=0)
    status = check(ask(responder, leaf), leaf, ca)
    assert status.status == "good"
    assert status.responder is None
    assert before - CLOCK_SKEW <= status.this_update <= dt.datetime.now(UTC)
    assert status.next_update is not None
    assert status.next_update - status.this_update == dt.timedelta(days=1)  # -ndays 1
    assert status.revoked_at is None
    assert status.reason is None
    assert status.this_update.tzinfo is UTC


def test_revoked_with_time_and_reason(responder: Responder, ca: Issuer) -> None:
    victim = ca.issue_leaf(["revoked.example"])
    responder.revoke(victim, REVOKED_AT, "keyCompromise")
    status = check(ask(responder, victim), victim, ca)
    assert status.status == "revoked"
    assert status.revoked_at == REVOKED_AT
    assert status.reason == "keyCompromise"
    other = ca.issue_leaf(["superseded.example"])
    responder.revoke(other, REVOKED_AT, "superseded")
    assert check(ask(responder, other), other, ca).reason == "superseded"


def test_unknown_certificate(responder: Responder, ca: Issuer) -> None:
    stranger = ca.issue_leaf(["not-in-the-index.example"])
    assert check(ask(responder, stranger), stranger, ca).status == "unknown"


def test_sha256_cert_id(tmp_path: Path, responder: Responder, ca: Issuer, leaf: Cert) -> None:
    # openssl's own client builds the SHA-256 CertID; the responder answers in kind.
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    (tmp_path / "leaf.pem").write_bytes(leaf.pem)
    subprocess.run(
        [
            *(OPENSSL, "ocsp", "-sha256", "-issuer", str(tmp_path / "ca.pem")),
            *(
                "-cert",
                str(tmp_path / "leaf.pem"),
                "-no_nonce",
                "-reqout",
                str(tmp_path / "req.der"),
            ),
        ],
        capture_output=True,
        timeout=20,
        check=True,
    )
    response = responder.respond((tmp_path / "req.der").read_bytes())
    single = ocsp.load_der_ocsp_response(response)
    assert isinstance(single.hash_algorithm, hashes.SHA256)
    assert check(response, leaf, ca).status == "good"


def test_agrees_with_cryptography(responder: Responder, ca: Issuer, leaf: Cert) -> None:
    response = ask(responder, leaf)
    ours = check(response, leaf, ca)
    theirs = ocsp.load_der_ocsp_response(response)
    assert theirs.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert theirs.this_update_utc == ours.this_update
    assert theirs.next_update_utc == ours.next_update
    assert theirs.produced_at_utc == ours.produced_at


# --- who signed ------------------------------------------------------------------------


def test_delegated_responder(responder: Responder, ca: Issuer, leaf: Cert) -> None:
    delegate = responder_cert(ca, "ocsp.delegate.example")
    responder.use_signer(delegate)
    status = check(ask(responder, leaf), leaf, ca)
    assert status.status == "good"
    assert status.responder == "CN=ocsp.delegate.example,O=certpolicy tests"
    # The same with a byKey responderID.
    responder.options = ["-ndays", "1", "-resp_key_id"]
    assert check(ask(responder, leaf), leaf, ca).responder == status.responder


def test_delegate_without_ocsp_signing_is_rejected(
    responder: Responder, ca: Issuer, leaf: Cert
) -> None:
    responder.use_signer(
        responder_cert(ca, "no-eku.example", eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    )
    with pytest.raises(cp.OcspError, match=r"responder: .*lacks the id-kp-OCSPSigning"):
        check(ask(responder, leaf), leaf, ca)


def test_delegate_of_another_ca_is_rejected(responder: Responder, ca: Issuer, leaf: Cert) -> None:
    other_ca = make_root("other root").issue_ca("other CA")
    responder.use_signer(responder_cert(other_ca, "foreign-responder.example"))
    with pytest.raises(cp.OcspError, match="not issued by the certificate's issuer"):
        check(ask(responder, leaf), leaf, ca)


def test_expired_delegate_is_rejected(responder: Responder, ca: Issuer, leaf: Cert) -> None:
    expired_at = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    responder.use_signer(
        responder_cert(ca, "expired-responder.example", not_before=START, not_after=expired_at)
    )
    with pytest.raises(cp.OcspError, match=r"is not valid at .*: it expired at"):
        check(ask(responder, leaf), leaf, ca)


def test_delegate_not_included_is_rejected(responder: Responder, ca: Issuer, leaf: Cert) -> None:
    responder.use_signer(responder_cert(ca, "shy-responder.example"))
    responder.options = ["-ndays", "1", "-resp_no_certs"]
    with pytest.raises(cp.OcspError, match="names neither the certificate's issuer"):
        check(ask(responder, leaf), leaf, ca)


def test_a_response_signed_by_a_stranger(tmp_path: Path, ca: Issuer, leaf: Cert) -> None:
    # A responder for a different CA with the same name: right names, wrong key.
    twin = make_root("ocsp test root").issue_ca("ocsp test CA")
    impostor = Responder(tmp_path / "impostor", twin, twin)
    impostor.add_good(leaf)
    response = impostor.respond(ocsp_request(leaf.der, ca.der))
    with pytest.raises(cp.OcspError, match=r"does not verify|certID"):
        check(response, leaf, ca)


# --- integrity and freshness -----------------------------------------------------------


def test_tampered_response(responder: Responder, ca: Issuer, leaf: Cert) -> None:
    # Without the (unsigned, here unused) certificate list every byte is signed or structure.
    responder.options = ["-ndays", "1", "-resp_no_certs"]
    response = ask(responder, leaf)
    assert check(response, leaf, ca).status == "good"
    for index in range(len(response)):
        for bit in (0x01, 0x80):
            damaged = bytearray(response)
            damaged[index] ^= bit
            with pytest.raises(cp.OcspError):
                check(bytes(damaged), leaf, ca)


def test_response_for_another_certificate(responder: Responder, ca: Issuer, leaf: Cert) -> None:
    other = ca.issue_leaf(["other.example"])
    responder.add_good(other)
    with pytest.raises(cp.OcspError, match="certID: no SingleResponse matches"):
        check(ask(responder, other), leaf, ca)


def test_stale_at_a_later_time(responder: Responder, ca: Issuer, leaf: Cert) -> None:
    responder.options = ["-nmin", "10"]
    response = ask(responder, leaf)
    now = dt.datetime.now(UTC)
    assert check(response, leaf, ca, at=now + dt.timedelta(minutes=10)).status == "good"
    with pytest.raises(cp.OcspError, match="nextUpdate: the response is stale"):
        check(response, leaf, ca, at=now + dt.timedelta(minutes=20))
    with pytest.raises(cp.OcspError, match=r"thisUpdate: .* is in the future"):
        check(response, leaf, ca, at=now - dt.timedelta(minutes=20))


def test_stale_now(ca: Issuer, leaf: Cert) -> None:
    # openssl always answers with thisUpdate = now; a past nextUpdate needs a made-up answer.
    past = dt.datetime.now(UTC) - dt.timedelta(days=2)
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=leaf.cert,
            issuer=ca.cert,
            algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=past,
            next_update=past + dt.timedelta(days=1),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, ca.cert)
        .sign(ca.key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )
    with pytest.raises(cp.OcspError, match="stale"):
        check(response, leaf, ca)
    assert check(response, leaf, ca, at=past + dt.timedelta(hours=1)).status == "good"


def test_max_age_without_next_update(responder: Responder, ca: Issuer, leaf: Cert) -> None:
    responder.options = []  # no -ndays: the answer has no nextUpdate
    response = ask(responder, leaf)
    status = check(response, leaf, ca)
    assert status.next_update is None
    # The maximum age has the clock skew allowance on top.
    later = status.this_update + CLOCK_SKEW + dt.timedelta(seconds=120)
    assert check(response, leaf, ca, at=later, max_age=300).status == "good"
    with pytest.raises(cp.OcspError, match="max age: "):
        check(response, leaf, ca, at=later, max_age=60)


def test_nonce_echo(responder: Responder, ca: Issuer, leaf: Cert) -> None:
    nonce = b"0123456789abcdef"
    response = ask(responder, leaf, nonce=nonce)
    assert check(response, leaf, ca, nonce=nonce).status == "good"
    with pytest.raises(cp.OcspError, match=r"nonce: .*differs"):
        check(response, leaf, ca, nonce=b"fedcba9876543210")
    with pytest.raises(cp.OcspError, match=r"nonce: .*does not echo"):
        check(ask(responder, leaf), leaf, ca, nonce=nonce)


def test_unsuccessful_response_status(ca: Issuer, leaf: Cert) -> None:
    for status, name in [
        (ocsp.OCSPResponseStatus.TRY_LATER, "tryLater"),
        (ocsp.OCSPResponseStatus.UNAUTHORIZED, "unauthorized"),
        (ocsp.OCSPResponseStatus.MALFORMED_REQUEST, "malformedRequest"),
    ]:
        response = ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(Encoding.DER)
        with pytest.raises(cp.OcspError, match=f"responseStatus: .*{name}"):
            check(response, leaf, ca)


# --- hostile bytes ---------------------------------------------------------------------


def _only_ocsp_errors(response: bytes, leaf: Cert, ca: Issuer) -> None:
    try:
        check(response, leaf, ca)
    except cp.CertPolicyError:
        return
    except BaseException as exc:
        pytest.fail(f"{type(exc).__name__} escaped: {exc!r}")
    pytest.fail("a damaged response was accepted")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2048))
def test_random_bytes(data: bytes, ca: Issuer, leaf: Cert) -> None:
    _only_ocsp_errors(data, leaf, ca)


def test_truncations_and_oversize(tmp_path: Path, ca: Issuer, leaf: Cert) -> None:
    responder = Responder(tmp_path / "r", ca, ca)
    responder.add_good(leaf)
    response = ask(responder, leaf)
    for cut in range(len(response)):
        _only_ocsp_errors(response[:cut], leaf, ca)
    _only_ocsp_errors(response + b"\x00", leaf, ca)
    with pytest.raises(cp.OcspError, match="size: "):
        check(b"\x30" * (2 * 1024 * 1024), leaf, ca)


def test_wrong_argument_types(ca: Issuer, leaf: Cert) -> None:
    with pytest.raises(TypeError):
        ocsp_request("not bytes", ca.der)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ocsp_check_response(b"", leaf.der, ca.der, at="yesterday")  # type: ignore[arg-type]
    with pytest.raises(cp.MalformedInputError):
        ocsp_check_response(b"", leaf.der, ca.der, max_age=-1)
