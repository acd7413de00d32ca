"""A small test PKI made at run time with ``cryptography``: roots, intermediates and leaves
with the extensions a real web PKI uses. Shared by the tests and the benches."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KeyKind = Literal["ec", "rsa"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
START = NOW - dt.timedelta(days=30)
END = NOW + dt.timedelta(days=365)

_KEY_CACHE: dict[tuple[KeyKind, int], PrivateKey] = {}


def new_key(kind: KeyKind = "ec", slot: int | None = None) -> PrivateKey:
    """A fresh key; with ``slot`` a cached one (RSA generation is slow)."""
    if slot is not None and (kind, slot) in _KEY_CACHE:
        return _KEY_CACHE[(kind, slot)]
    key: PrivateKey
    if kind == "ec":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if slot is not None:
        _KEY_CACHE[(kind, slot)] = key
    return key


def name(common_name: str, org: str = "certpolicy tests") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for value in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(value)))
        except ValueError:
            entries.append(x509.DNSName(value))
    return x509.SubjectAlternativeName(entries)


@dataclass
class Cert:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: PrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


@dataclass
class Issuer(Cert):
    """A CA certificate that can issue."""

    children: list[Cert] = field(default_factory=list)

    def issue_ca(
        self,
        common_name: str,
        *,
        key_kind: KeyKind = "ec",
        path_length: int | None = None,
        not_before: dt.datetime = START,
        not_after: dt.datetime = END,
        subject: x509.Name | None = None,
        key: PrivateKey | None = None,
    ) -> Issuer:
        key = key or new_key(key_kind)
        cert = _builder(
            subject or name(common_name), self.cert.subject, key, self.key, not_before, not_after
        )
        cert = _ca_extensions(cert, key, path_length).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
            critical=False,
        )
        return Issuer(cert.sign(self.key, _hash_for(self.key)), key)

    def issue_leaf(
        self,
        names: list[str],
        *,
        key_kind: KeyKind = "ec",
        common_name: str | None = None,
        not_before: dt.datetime = START,
        not_after: dt.datetime = END,
        eku: list[x509.ObjectIdentifier] | None = None,
        san: bool = True,
        crl_urls: list[str] | None = None,
        ocsp_urls: list[str] | None = None,
        serial: int | None = None,
        key: PrivateKey | None = None,
    ) -> Cert:
        key = key or new_key(key_kind)
        cn = common_name if common_name is not None else (names[0] if names else "leaf")
        builder = _builder(
            name(cn), self.cert.subject, key, self.key, not_before, not_after, serial
        )
        builder = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage(eku or [ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )
        if san:
            builder = builder.add_extension(_san(names), critical=False)
        if crl_urls:
            builder = builder.add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [x509.UniformResourceIdentifier(u)], None, None, None
                        )
                        for u in crl_urls
                    ]
                ),
                critical=False,
            )
        if ocsp_urls:
            builder = builder.add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            x509.oid.AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier(u),
                        )
                        for u in ocsp_urls
                    ]
                ),
                critical=False,
            )
        leaf = Cert(builder.sign(self.key, _hash_for(self.key)), key)
        self.children.append(leaf)
        return leaf


def _hash_for(key: PrivateKey) -> hashes.HashAlgorithm:
    return hashes.SHA256()


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: PrivateKey,
    issuer_key: PrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    serial: int | None = None,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def _ca_extensions(
    builder: x509.CertificateBuilder, key: PrivateKey, path_length: int | None
) -> x509.CertificateBuilder:
    return (
        builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_length), True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )


def make_root(
    common_name: str = "certpolicy test root",
    *,
    key_kind: KeyKind = "ec",
    not_before: dt.datetime = START,
    not_after: dt.datetime = END,
    key: PrivateKey | None = None,
) -> Issuer:
    key = key or new_key(key_kind)
    subject = name(common_name)
    builder = _ca_extensions(_builder(subject, subject, key, key, not_before, not_after), key, None)
    return Issuer(builder.sign(key, _hash_for(key)), key)


@dataclass
class Pki:
    """root -> intermediate -> leaf, the shape of a typical web server chain."""

    root: Issuer
    intermediate: Issuer
    leaf: Cert

    @property
    def chain(self) -> list[bytes]:
        """What a TLS server presents: leaf, then the intermediate."""
        return [self.leaf.der, self.intermediate.der]


def make_pki(
    names: list[str] | None = None, *, key_kind: KeyKind = "ec", **leaf_options: object
) -> Pki:
    root = make_root(key_kind=key_kind)
    intermediate = root.issue_ca("certpolicy test intermediate", key_kind=key_kind)
    leaf = intermediate.issue_leaf(
        names or ["localhost", "127.0.0.1"],
        key_kind=key_kind,
        **leaf_options,  # type: ignore[arg-type]
    )
    return Pki(root, intermediate, leaf)
