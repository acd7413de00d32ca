"""Generates the pre-made PKI of ``certpolicy demo`` into python/certpolicy/data/demo/.

Run once (needs ``cryptography``, which is not a runtime dependency):
``python tools/make_demo_data.py``. The output is committed; the demo only reads it.

Everything is valid from 2025-01-01 to 2045-01-01 except the expired leaf (2024). The CRLs
and OCSP responses are signed with nextUpdate 2045-01-01, so the demo works offline until
then. The private keys are demo keys, published on purpose: never trust this root.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

OUT = Path(__file__).resolve().parents[1] / "python" / "certpolicy" / "data" / "demo"
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2045, 1, 1, tzinfo=dt.UTC)
REVOKED_AT = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
SIGNED_AT = dt.datetime(2025, 6, 2, tzinfo=dt.UTC)
# Fixed loopback ports of the revocation servers: their URLs are inside the certificates.
CRL_PORT = 29171
OCSP_PORT = 29172
CRL_BASE = f"http://127.0.0.1:{CRL_PORT}"
OCSP_URL = f"http://127.0.0.1:{OCSP_PORT}/"
INSTANCE_HOST = "instance.demo.test"

Key = ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certpolicy demo"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key() -> Key:
    return ec.generate_private_key(ec.SECP256R1())


def _revocation_urls(
    builder: x509.CertificateBuilder, crl: str | None, with_ocsp: bool
) -> x509.CertificateBuilder:
    if crl:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    if with_ocsp:
        access = x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(OCSP_URL)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    return builder


def _base(
    subject: x509.Name, issuer: x509.Name, key: Key, start: dt.datetime, end: dt.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )


def make_ca(
    common_name: str, key: Key, issuer: x509.Certificate | None, issuer_key: Key | None
) -> x509.Certificate:
    signer_key = issuer_key or key
    builder = _base(
        _name(common_name), issuer.subject if issuer else _name(common_name), key, START, END
    )
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    builder = builder.add_extension(
        x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), False
        )
        builder = _revocation_urls(builder, f"{CRL_BASE}/demo-root.crl", with_ocsp=True)
    return builder.sign(signer_key, hashes.SHA256())


def make_leaf(
    names: list[str],
    key: Key,
    issuer: x509.Certificate | None,
    issuer_key: Key | None,
    *,
    start: dt.datetime = START,
    end: dt.datetime = END,
    crl: bool = True,
    with_ocsp: bool = True,
) -> x509.Certificate:
    """A server certificate; with no issuer, self-signed (an intranet appliance's)."""
    subject = _name(names[0])
    signer_key = issuer_key or key
    builder = _base(subject, issuer.subject if issuer else subject, key, start, end)
    builder = (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), False
        )
        builder = _revocation_urls(
            builder, f"{CRL_BASE}/demo-intermediate.crl" if crl else None, with_ocsp
        )
    return builder.sign(signer_key, hashes.SHA256())


def make_crl(issuer: x509.Certificate, issuer_key: Key, revoked: list[x509.Certificate]) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(SIGNED_AT)
        .next_update(END)
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(REVOKED_AT)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def make_ocsp_response(
    cert: x509.Certificate, issuer: x509.Certificate, issuer_key: Key, *, revoked: bool
) -> bytes:
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert,
        issuer=issuer,
        algorithm=hashes.SHA1(),
        cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
        this_update=SIGNED_AT,
        next_update=END,
        revocation_time=REVOKED_AT if revoked else None,
        revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
    )
    response = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, issuer).sign(
        issuer_key, hashes.SHA256()
    )
    return response.public_bytes(serialization.Encoding.DER)


def _der_integer(value: int) -> bytes:
    body = value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)
    return b"\x02" + bytes([len(body)]) + body


def certid_tails(cert: x509.Certificate, issuer: x509.Certificate) -> list[str]:
    """The end of an OCSP CertID (issuerKeyHash OCTET STRING + serialNumber INTEGER) for SHA-1
    and SHA-256: the demo responder finds the requested certificate by these bytes."""
    key_bits = issuer.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    serial = _der_integer(cert.serial_number)
    tails = []
    for digest in (hashlib.sha1(key_bits).digest(), hashlib.sha256(key_bits).digest()):
        tails.append((b"\x04" + bytes([len(digest)]) + digest + serial).hex())
    return tails


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: Key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


CONFIG_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- The agent configuration of `certpolicy demo`: the bootstrap policy for the instance. -->
<parameters>
    <parameter name="url" value="https://{INSTANCE_HOST}"/>
    <parameter name="mid.ssl.bootstrap.default.target_endpoint" value="{INSTANCE_HOST}"/>
    <parameter name="mid.ssl.bootstrap.default.check_cert_chain" value="true"/>
    <parameter name="mid.ssl.bootstrap.default.check_cert_hostname" value="true"/>
    <parameter name="mid.ssl.bootstrap.default.check_cert_revocation" value="true"/>
    <parameter name="mid.ssl.use.instance.security.policy" value="false"/>
</parameters>
"""


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    root_key, inter_key = _key(), _key()
    root = make_ca("certpolicy demo root CA", root_key, None, None)
    inter = make_ca("certpolicy demo intermediate CA", inter_key, root, root_key)

    servers: dict[str, tuple[x509.Certificate, Key, bool]] = {}  # name -> cert, key, chained

    def leaf(server: str, names: list[str], **options: object) -> x509.Certificate:
        key = _key()
        cert = make_leaf(names, key, inter, inter_key, **options)  # type: ignore[arg-type]
        servers[server] = (cert, key, True)
        return cert

    def appliance(server: str, names: list[str]) -> None:
        key = _key()
        servers[server] = (make_leaf(names, key, None, None), key, False)

    instance = leaf("instance", [INSTANCE_HOST])
    good = leaf("good", ["www.good.demo.test"])
    revoked = leaf("revoked", ["www.revoked.demo.test"], with_ocsp=False)
    leaf(
        "expired",
        ["www.expired.demo.test"],
        start=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        end=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )
    appliance("wiki", ["wiki.intranet.demo.test"])
    appliance("printer", ["printer.intranet.demo.test"])

    (OUT / "certpolicy-trust.pem").write_bytes(pem(root))
    for server, (cert, key, chained) in servers.items():
        (OUT / f"{server}.chain.pem").write_bytes(pem(cert) + (pem(inter) if chained else b""))
        (OUT / f"{server}.key.pem").write_bytes(key_pem(key))
    (OUT / "demo-root.crl").write_bytes(make_crl(root, root_key, []))
    (OUT / "demo-intermediate.crl").write_bytes(make_crl(inter, inter_key, [revoked]))
    responses = []
    for label, cert, issuer, issuer_key, is_revoked in (
        ("instance", instance, inter, inter_key, False),
        ("good", good, inter, inter_key, False),
        ("intermediate", inter, root, root_key, False),
    ):
        file = f"ocsp-{label}.der"
        (OUT / file).write_bytes(make_ocsp_response(cert, issuer, issuer_key, revoked=is_revoked))
        responses.append({"file": file, "certid_tails": certid_tails(cert, issuer)})
    (OUT / "config.xml").write_text(CONFIG_XML, "utf-8")
    manifest = {
        "crl_port": CRL_PORT,
        "ocsp_port": OCSP_PORT,
        "crls": ["demo-root.crl", "demo-intermediate.crl"],
        "ocsp_responses": responses,
    }
    (OUT / "demo.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT}")


if __name__ == "__main__":
    main()
