"""CRLs for the tests and benches, assembled as DER (RFC 5280 section 5.1) and signed with
``cryptography``. Building the TBSCertList by hand makes every shape possible: huge lists,
non-minimal serial encodings, critical extensions, delta and indirect CRLs, wrong signers.

Also CA certificates that point at a CRL (``issue_ca_with_crl``): tests/pki.py's ``issue_ca``
has no distribution point parameter.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from pki import END, NOW, START, Issuer, PrivateKey, name, new_key

REASONS = {
    "unspecified": 0,
    "keyCompromise": 1,
    "cACompromise": 2,
    "affiliationChanged": 3,
    "superseded": 4,
    "cessationOfOperation": 5,
    "certificateHold": 6,
    "removeFromCRL": 8,
    "privilegeWithdrawn": 9,
    "aACompromise": 10,
}

ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")
RSA_SHA256 = bytes.fromhex("300d06092a864886f70d01010b0500")
ECDSA_SHA1 = bytes.fromhex("300906072a8648ce3d0401")


# --- DER -------------------------------------------------------------------------------


def der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + der_length(len(content)) + content


def sequence(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def integer_content(value: int) -> bytes:
    """Minimal two's complement octets of ``value``."""
    return value.to_bytes((value + (value < 0)).bit_length() // 8 + 1, "big", signed=True)


def der_integer(value: int) -> bytes:
    return tlv(0x02, integer_content(value))


def der_time(when: dt.datetime) -> bytes:
    """UTCTime through 2049, GeneralizedTime after (RFC 5280 section 5.1.2.4)."""
    when = when.astimezone(dt.UTC)
    if when.year < 2050:
        return tlv(0x17, when.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(0x18, when.strftime("%Y%m%d%H%M%SZ").encode())


def der_oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    out = bytearray([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        out.extend(reversed(chunk))
    return tlv(0x06, bytes(out))


def extension(oid: str, value: bytes, *, critical: bool = False) -> bytes:
    """An Extension: ``value`` is the DER that goes inside the OCTET STRING."""
    flag = tlv(0x01, b"\xff") if critical else b""
    return sequence(der_oid(oid), flag, tlv(0x04, value))


# --- CRL extensions (RFC 5280 section 5.2) and entry extensions (section 5.3) ----------


def crl_number(number: int, *, critical: bool = False) -> bytes:
    return extension("2.5.29.20", der_integer(number), critical=critical)


def authority_key_id(key: PrivateKey) -> bytes:
    key_id = x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()).key_identifier
    assert key_id is not None
    return extension("2.5.29.35", sequence(tlv(0x80, key_id)))


def delta_crl_indicator(base: int) -> bytes:
    return extension("2.5.29.27", der_integer(base), critical=True)


def issuing_distribution_point(
    uris: Sequence[str] = (),
    *,
    only_user: bool = False,
    only_ca: bool = False,
    indirect: bool = False,
    directory_names: Sequence[x509.Name] = (),
) -> bytes:
    parts = []
    if uris or directory_names:
        names = b"".join(tlv(0x86, u.encode()) for u in uris)
        # directoryName [4] EXPLICIT Name
        names += b"".join(tlv(0xA4, n.public_bytes()) for n in directory_names)
        parts.append(tlv(0xA0, tlv(0xA0, names)))  # distributionPoint [0] fullName [0]
    if only_user:
        parts.append(tlv(0x81, b"\xff"))
    if only_ca:
        parts.append(tlv(0x82, b"\xff"))
    if indirect:
        parts.append(tlv(0x84, b"\xff"))
    return extension("2.5.29.28", sequence(*parts), critical=True)


def reason_code(code: int) -> bytes:
    return extension("2.5.29.21", tlv(0x0A, bytes([code])))


# --- entries and whole CRLs -------------------------------------------------------------


@dataclass
class Entry:
    """A revokedCertificates entry. ``serial`` as bytes is the raw INTEGER content (for
    non-minimal encodings); ``reason`` a name of REASONS."""

    serial: int | bytes
    revoked_at: dt.datetime = START
    reason: str | None = None
    extensions: list[bytes] = field(default_factory=list)

    def der(self) -> bytes:
        serial = (
            tlv(0x02, self.serial) if isinstance(self.serial, bytes) else der_integer(self.serial)
        )
        exts = list(self.extensions)
        if self.reason is not None:
            exts.insert(0, reason_code(REASONS[self.reason]))
        tail = sequence(*exts) if exts else b""
        return sequence(serial, der_time(self.revoked_at), tail)


def algorithm_for(key: PrivateKey) -> bytes:
    return ECDSA_SHA256 if isinstance(key, ec.EllipticCurvePrivateKey) else RSA_SHA256


def sign(data: bytes, key: PrivateKey) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def assemble(
    issuer_name: bytes,
    entries_der: bytes,
    key: PrivateKey,
    *,
    this_update: dt.datetime,
    next_update: dt.datetime | None,
    extensions: Sequence[bytes],
    version: int | None = 1,
    algorithm: bytes | None = None,
) -> bytes:
    """A signed CertificateList from its parts (``entries_der``: the concatenated entries)."""
    algorithm = algorithm or algorithm_for(key)
    tbs = sequence(
        der_integer(version) if version is not None else b"",
        algorithm,
        issuer_name,
        der_time(this_update),
        der_time(next_update) if next_update is not None else b"",
        tlv(0x30, entries_der) if entries_der else b"",
        tlv(0xA0, sequence(*extensions)) if extensions else b"",
    )
    return sequence(tbs, algorithm, tlv(0x03, b"\x00" + sign(tbs, key)))


def make_crl(
    issuer: Issuer,
    entries: Iterable[Entry] = (),
    *,
    number: int | None = 1,
    this_update: dt.datetime | None = None,
    next_update: dt.datetime | None = None,
    extra_extensions: Sequence[bytes] = (),
    signer: PrivateKey | None = None,
    issuer_name: x509.Name | None = None,
) -> bytes:
    """A CRL of ``issuer`` (DER): CRL number and authority key identifier, then any
    ``extra_extensions``; valid from an hour ago for a week unless told otherwise. ``signer``
    signs instead of the issuer's key (a wrong signer), keeping the issuer's name and AKI."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    extensions = [authority_key_id(issuer.key)]
    if number is not None:
        extensions.append(crl_number(number))
    extensions.extend(extra_extensions)
    return assemble(
        (issuer_name or issuer.cert.subject).public_bytes(),
        b"".join(entry.der() for entry in entries),
        signer or issuer.key,
        this_update=this_update or now - dt.timedelta(hours=1),
        next_update=next_update or now + dt.timedelta(days=7),
        extensions=extensions,
    )


def to_pem(der: bytes) -> bytes:
    import base64

    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"-----BEGIN X509 CRL-----\n" + b"\n".join(lines) + b"\n-----END X509 CRL-----\n"


def large_crl(issuer: Issuer, count: int, *, reason_every: int = 10) -> tuple[bytes, list[int]]:
    """A CRL of ``count`` random 128-bit serials (17-octet INTEGERs, like many public CAs'),
    every ``reason_every``-th with a keyCompromise reason: ~36 bytes an entry, so 1,000,000
    entries make ~36 MB. Returns the DER and the serials in CRL order."""
    raw = bytearray(os.urandom(16 * count))
    raw[0::16] = bytes(b | 0x80 for b in raw[0::16])  # top bit set: the 0x00 octet is needed
    revoked = der_time(NOW - dt.timedelta(days=1))
    reason = sequence(reason_code(1))
    plain_header = bytes([0x30, 2 + 17 + len(revoked), 0x02, 17, 0x00])
    reason_header = bytes([0x30, 2 + 17 + len(revoked) + len(reason), 0x02, 17, 0x00])
    parts = []
    serials = []
    for i in range(count):
        serial = bytes(raw[16 * i : 16 * i + 16])
        serials.append(int.from_bytes(serial, "big"))
        if i % reason_every == 0:
            parts.append(reason_header + serial + revoked + reason)
        else:
            parts.append(plain_header + serial + revoked)
    der = assemble(
        issuer.cert.subject.public_bytes(),
        b"".join(parts),
        issuer.key,
        this_update=NOW - dt.timedelta(hours=1),
        next_update=NOW + dt.timedelta(days=7),
        extensions=[authority_key_id(issuer.key), crl_number(count)],
    )
    return der, serials


# --- certificates that point at CRLs ----------------------------------------------------


def _distribution_points(urls: Sequence[str]) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None)
            for u in urls
        ]
    )


def issue_ca_with_crl(
    parent: Issuer,
    common_name: str,
    crl_urls: Sequence[str],
    *,
    crl_sign: bool = True,
    key: PrivateKey | None = None,
    subject: x509.Name | None = None,
) -> Issuer:
    """An intermediate CA issued by ``parent`` whose certificate lists ``crl_urls`` (the
    parent's CRL). ``crl_sign=False`` leaves cRLSign out of its key usage."""
    key = key or new_key("ec")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject or name(common_name))
        .issuer_name(parent.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(START)
        .not_valid_after(END)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, crl_sign, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()), False
        )
    )
    if crl_urls:
        builder = builder.add_extension(_distribution_points(crl_urls), critical=False)
    return Issuer(builder.sign(parent.key, hashes.SHA256()), key)
