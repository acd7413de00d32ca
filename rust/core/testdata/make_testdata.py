"""Regenerates the fixed test PKI of certpolicy-core's unit tests and the package example.

Run from this folder: python make_testdata.py. Outputs DER files here and
python/certpolicy/data/example_chain.pem (leaf, intermediate) + example_root.pem.
Validity: 2025-01-01 .. 2045-01-01, so tests check at a fixed time, never "now".
"""

import datetime as dt
import ipaddress
import pathlib
import subprocess
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

START = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
END = dt.datetime(2045, 1, 1, tzinfo=dt.timezone.utc)
HERE = pathlib.Path(__file__).parent
PKG_DATA = HERE.parent.parent.parent / "python" / "certpolicy" / "data"


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certpolicy test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def build(subject, issuer, key, issuer_key, *, ca, san=None, path_len=None, serial=None):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(key.public_key()).serial_number(serial or x509.random_serial_number())
         .not_valid_before(START).not_valid_after(END)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer_key.public_key()), False))
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                          False, False), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                          False, False), critical=True)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
    if san is not None:
        b = b.add_extension(x509.SubjectAlternativeName(san), False)
    return b.sign(issuer_key, hashes.SHA256())


def main() -> None:
    root_key, int_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = build(name("certpolicy test root"), name("certpolicy test root"), root_key,
                 root_key, ca=True)
    inter = build(name("certpolicy test intermediate"), root.subject, int_key, root_key,
                  ca=True, path_len=0)
    leaf = build(name("leaf.example.com"), inter.subject, leaf_key, int_key, ca=False, san=[
        x509.DNSName("leaf.example.com"), x509.DNSName("*.wild.example.com"),
        x509.DNSName("xn--bcher-kva.example"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1"))], serial=0x00C0FFEE)
    cn_only = build(name("cn-only.example.com"), inter.subject, leaf_key, int_key, ca=False)
    for fname, cert in [("root.der", root), ("intermediate.der", inter), ("leaf.der", leaf),
                        ("cn_only.der", cn_only)]:
        (HERE / fname).write_bytes(cert.public_bytes(serialization.Encoding.DER))
    PKG_DATA.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    (PKG_DATA / "example_chain.pem").write_bytes(leaf.public_bytes(pem) + inter.public_bytes(pem))
    (PKG_DATA / "example_root.pem").write_bytes(root.public_bytes(pem))
    # The caIssuers fixture of aia.rs's `written_by_openssl` test: a PKCS#7 certs-only
    # message as OpenSSL writes it, of this intermediate and root.
    with tempfile.TemporaryDirectory() as scratch:
        certs = []
        for fname, cert in [("intermediate.pem", inter), ("root.pem", root)]:
            (Path(scratch) / fname).write_bytes(cert.public_bytes(pem))
            certs += ["-certfile", str(Path(scratch) / fname)]
        subprocess.run(
            ["openssl", "crl2pkcs7", "-nocrl", *certs, "-outform", "DER",
             "-out", str(HERE / "intermediate_root.p7c")],
            check=True,
        )


if __name__ == "__main__":
    main()
