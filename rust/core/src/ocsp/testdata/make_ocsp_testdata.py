"""Regenerates the fixed OCSP fixtures of certpolicy-core's unit tests (rust/core/src/ocsp).

Run from this folder: python make_ocsp_testdata.py. A CA, two leaves, delegated responders
and responses made with cryptography's OCSPResponseBuilder. Certificates are valid
2025-01-01 .. 2045-01-01 (one responder only until 2029-12-31T12:00Z); responses have
thisUpdate 2029-12-31T00:00Z and nextUpdate 2030-01-07T00:00Z, so the tests check at
2030-01-01 (testdata::NOW), never "now".
"""

import datetime as dt
import pathlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = pathlib.Path(__file__).parent
UTC = dt.timezone.utc
START = dt.datetime(2025, 1, 1, tzinfo=UTC)
END = dt.datetime(2045, 1, 1, tzinfo=UTC)
THIS_UPDATE = dt.datetime(2029, 12, 31, tzinfo=UTC)
NEXT_UPDATE = dt.datetime(2030, 1, 7, tzinfo=UTC)
REVOKED_AT = dt.datetime(2029, 6, 1, 12, 0, tzinfo=UTC)
NONCE = b"certpolicy-nonce"


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certpolicy ocsp test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def cert(subject, issuer, key, issuer_key, *, ca=False, eku=None, serial=None, end=END):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(key.public_key()).serial_number(serial or x509.random_serial_number())
         .not_valid_before(START).not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def response(leaf, issuer, signer_cert, signer_key, *, status=ocsp.OCSPCertStatus.GOOD,
             algorithm=hashes.SHA1(), encoding=ocsp.OCSPResponderEncoding.NAME,
             certs=(), nonce=None, next_update=NEXT_UPDATE):
    b = ocsp.OCSPResponseBuilder().add_response(
        cert=leaf, issuer=issuer, algorithm=algorithm, cert_status=status,
        this_update=THIS_UPDATE, next_update=next_update,
        revocation_time=REVOKED_AT if status == ocsp.OCSPCertStatus.REVOKED else None,
        revocation_reason=(x509.ReasonFlags.key_compromise
                           if status == ocsp.OCSPCertStatus.REVOKED else None),
    ).responder_id(encoding, signer_cert)
    if certs:
        b = b.certificates(list(certs))
    if nonce is not None:
        b = b.add_extension(x509.OCSPNonce(nonce), critical=False)
    return b.sign(signer_key, hashes.SHA256())


def main() -> None:
    ca_key, other_key, leaf_key, resp_key = (ec.generate_private_key(ec.SECP256R1())
                                             for _ in range(4))
    ca = cert(name("ocsp test CA"), name("ocsp test CA"), ca_key, ca_key, ca=True)
    other = cert(name("other CA"), name("other CA"), other_key, other_key, ca=True)
    leaf = cert(name("leaf.ocsp.example"), ca.subject, leaf_key, ca_key, serial=0x1001,
                eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    leaf2 = cert(name("leaf2.ocsp.example"), ca.subject, leaf_key, ca_key, serial=0x1002,
                 eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    signing = [ExtendedKeyUsageOID.OCSP_SIGNING]
    responder = cert(name("ocsp responder"), ca.subject, resp_key, ca_key, eku=signing)
    no_eku = cert(name("ocsp responder without EKU"), ca.subject, resp_key, ca_key,
                  eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    foreign = cert(name("foreign ocsp responder"), other.subject, resp_key, other_key,
                   eku=signing)
    expired = cert(name("expired ocsp responder"), ca.subject, resp_key, ca_key, eku=signing,
                   end=dt.datetime(2029, 12, 31, 12, 0, tzinfo=UTC))
    hash_id = ocsp.OCSPResponderEncoding.HASH
    revoked = ocsp.OCSPCertStatus.REVOKED
    files = {
        "ca.der": ca, "leaf.der": leaf, "leaf2.der": leaf2,
        "good_by_issuer.der": response(leaf, ca, ca, ca_key),
        "good_nonce.der": response(leaf, ca, ca, ca_key, nonce=NONCE),
        "good_no_next_update.der": response(leaf, ca, ca, ca_key, next_update=None),
        "unknown_sha256.der": response(leaf, ca, ca, ca_key, encoding=hash_id,
                                       status=ocsp.OCSPCertStatus.UNKNOWN,
                                       algorithm=hashes.SHA256()),
        "revoked_by_delegate.der": response(leaf, ca, responder, resp_key, status=revoked,
                                            encoding=hash_id, certs=[responder]),
        "by_delegate_without_eku.der": response(leaf, ca, no_eku, resp_key, certs=[no_eku]),
        "by_foreign_delegate.der": response(leaf, ca, foreign, resp_key, certs=[foreign]),
        "by_expired_delegate.der": response(leaf, ca, expired, resp_key, certs=[expired]),
        "by_delegate_not_included.der": response(leaf, ca, responder, resp_key),
    }
    for fname, item in files.items():
        (HERE / fname).write_bytes(item.public_bytes(serialization.Encoding.DER))


if __name__ == "__main__":
    main()
