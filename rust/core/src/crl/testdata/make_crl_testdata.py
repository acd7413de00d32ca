"""Regenerates the fixed CRLs and certificates of the CRL unit tests (certpolicy-core).

Run from this folder: python make_crl_testdata.py (needs ``cryptography``; uses the CRL
builder of tests/crl_pki.py). Times are fixed: CRLs are valid from 2029-12-31 to 2030-01-07
and the tests check at 2030-01-01.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[4] / "tests"))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID  # noqa: E402

import crl_pki as c  # noqa: E402
from pki import Issuer, make_root, name, new_key  # noqa: E402

START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2045, 1, 1, tzinfo=dt.UTC)
THIS = dt.datetime(2029, 12, 31, tzinfo=dt.UTC)
NEXT = dt.datetime(2030, 1, 7, tzinfo=dt.UTC)
REVOKED = dt.datetime(2029, 6, 1, 12, 0, 0, tzinfo=dt.UTC)
CA_NAME = name("certpolicy crl test CA")
LEAF_SERIAL = 0xC0FFEE
NEGATIVE_SERIAL = -0x1234
LONG_SERIAL = int("7f" + "ab" * 19, 16)  # 20 octets


def ca(key, *, crl_sign=True, subject=CA_NAME) -> Issuer:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(START)
        .not_valid_after(END)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, crl_sign, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    return Issuer(builder.sign(key, hashes.SHA256()), key)


def leaf(issuer: Issuer, serial: int, cn: str, crl_urls: list[str]) -> x509.Certificate:
    key = new_key("ec")
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(START)
        .not_valid_after(END)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None)
                    for u in crl_urls
                ]
            ),
            False,
        )
    )
    return builder.sign(issuer.key, hashes.SHA256())


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def main() -> None:
    key = new_key("ec")
    issuer = ca(key)
    imposter = ca(new_key("ec"))  # the same name, another key
    no_crl_sign = ca(key, crl_sign=False)
    other = make_root("certpolicy other CA")

    entries = [
        c.Entry(LEAF_SERIAL, REVOKED, "keyCompromise"),
        c.Entry(0x80, REVOKED, "cACompromise"),  # content 00 80
        c.Entry(b"\x00\x00\x42", REVOKED, "superseded"),  # non-minimal encoding of 0x42
        c.Entry(NEGATIVE_SERIAL, REVOKED, None),
        c.Entry(LONG_SERIAL, REVOKED, "unspecified"),
        c.Entry(7, REVOKED, "certificateHold", [c.extension("2.5.29.99", b"\x05\x00")]),
    ]

    def crl(items=entries, *, number=42, extra=(), signer=None, who=issuer, **kw) -> bytes:
        return c.make_crl(
            who,
            items,
            number=number,
            this_update=THIS,
            next_update=NEXT,
            extra_extensions=extra,
            signer=signer,
            **kw,
        )

    files = {
        "issuer.der": issuer.der,
        "imposter.der": imposter.der,
        "no_crl_sign.der": no_crl_sign.der,
        "other_ca.der": other.der,
        "revoked_leaf.der": der(leaf(issuer, LEAF_SERIAL, "revoked.example", ["http://a/ca.crl"])),
        "good_leaf.der": der(leaf(issuer, 0xBEEF, "good.example", ["http://b/other.crl"])),
        "crl.der": crl(),
        "crl_empty.der": crl([]),
        "crl_wrong_signer.der": crl(signer=imposter.key),
        "crl_imposter.der": crl(who=imposter),
        "crl_no_number.der": crl(number=None),
        "crl_number_critical.der": crl(number=None, extra=[c.crl_number(5, critical=True)]),
        "crl_delta.der": crl(extra=[c.delta_crl_indicator(41)]),
        "crl_indirect.der": crl(
            extra=[c.issuing_distribution_point(["http://a/ca.crl"], indirect=True)]
        ),
        "crl_user_only.der": crl(
            extra=[c.issuing_distribution_point(["http://a/ca.crl"], only_user=True)]
        ),
        "crl_unknown_critical.der": crl(extra=[c.extension("1.2.3.4", b"\x05\x00", critical=True)]),
        "crl_entry_critical.der": crl(
            [c.Entry(1, REVOKED, None, [c.extension("1.2.3.4", b"\x05\x00", critical=True)])]
        ),
        "crl_remove_from_crl.der": crl([c.Entry(1, REVOKED, "removeFromCRL")]),
        "crl_no_next_update.der": c.assemble(
            CA_NAME.public_bytes(),
            b"",
            key,
            this_update=THIS,
            next_update=None,
            extensions=[c.authority_key_id(key), c.crl_number(1)],
        ),
        "crl_sha1.der": c.assemble(
            CA_NAME.public_bytes(),
            b"",
            key,
            this_update=THIS,
            next_update=NEXT,
            extensions=[c.authority_key_id(key), c.crl_number(1)],
            algorithm=c.ECDSA_SHA1,
        ),
    }
    for file_name, data in files.items():
        (HERE / file_name).write_bytes(data)
    (HERE / "crl.pem").write_bytes(c.to_pem(files["crl.der"]))


if __name__ == "__main__":
    main()
