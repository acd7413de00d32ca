"""certpolicy.Crl: parsing, issuer verification, the serial index, and hostile input.
CRLs are built with tests/crl_pki.py and cross-checked against cryptography's parser."""

from __future__ import annotations

import datetime as dt
import random
import sys
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from certpolicy import CrlError, MalformedInputError, cert_info
from certpolicy.revocation.crl import Crl, RevokedEntry

import crl_pki as c
from pki import Issuer, make_root, name, new_key

THIS = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
NEXT = dt.datetime(2030, 1, 8, tzinfo=dt.UTC)
REVOKED = dt.datetime(2029, 12, 24, 6, 30, 15, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def ca() -> Issuer:
    return make_root("certpolicy CRL test CA")


def crl_of(ca: Issuer, entries: list[c.Entry] | None = None, **options: object) -> bytes:
    options.setdefault("this_update", THIS)
    options.setdefault("next_update", NEXT)
    return c.make_crl(ca, entries or [], **options)  # type: ignore[arg-type]


def test_fields(ca: Issuer) -> None:
    crl = Crl.from_der(crl_of(ca, [c.Entry(5, REVOKED, "keyCompromise")], number=77), ca.der)
    assert (
        crl.issuer == cert_info(ca.der)["subject"] == "CN=certpolicy CRL test CA,O=certpolicy tests"
    )
    assert crl.this_update == THIS
    assert crl.this_update.tzinfo is not None
    assert crl.next_update == NEXT
    assert crl.number == 77
    assert len(crl) == 1
    assert crl.index_bytes() == 16
    assert "certpolicy CRL test CA" in repr(crl)
    assert "1 entries" in repr(crl)


def test_large_crl_number(ca: Issuer) -> None:
    number = 2**159 - 1  # 20 octets, the most RFC 5280 section 5.2.3 allows
    assert Crl.from_der(crl_of(ca, number=number)).number == number


def test_lookup_and_contains(ca: Issuer) -> None:
    entries = [
        c.Entry(0xC0FFEE, REVOKED, "keyCompromise"),
        c.Entry(0x80, REVOKED, "cACompromise"),  # encoded 00 80
        c.Entry(b"\x00\x00\x42", REVOKED, "superseded"),  # non-minimal encoding of 0x42
        c.Entry(-0x1234, REVOKED, None),  # negative: non-conforming, still indexed
        c.Entry(2**159 - 5, REVOKED, "unspecified"),
        c.Entry(9, REVOKED, "privilegeWithdrawn", [c.extension("1.2.3.4", b"\x05\x00")]),
    ]
    crl = Crl.from_der(crl_of(ca, entries), ca.der)
    assert len(crl) == 6
    entry = crl.lookup(0xC0FFEE)
    assert isinstance(entry, RevokedEntry)
    assert entry.serial == 0xC0FFEE
    assert entry.revoked_at == REVOKED
    assert entry.reason == "keyCompromise"
    assert "0xc0ffee" in repr(entry)
    assert "keyCompromise" in repr(entry)
    assert crl.lookup(0x80).reason == "cACompromise"  # type: ignore[union-attr]
    assert crl.lookup(0x42).serial == 0x42  # type: ignore[union-attr]
    assert crl.lookup(-0x1234).reason is None  # type: ignore[union-attr]
    assert crl.lookup(2**159 - 5).reason == "unspecified"  # type: ignore[union-attr]
    assert crl.lookup(9).reason == "privilegeWithdrawn"  # type: ignore[union-attr]
    for listed in (0xC0FFEE, 0x80, 0x42, -0x1234, 2**159 - 5, 9):
        assert listed in crl
    for absent in (0, 1, 0x1234, -0x80, 0xC0FFEF, 2**159 - 4, 2**600, -(2**600)):
        assert absent not in crl
        assert crl.lookup(absent) is None


def test_serials_must_be_ints(ca: Issuer) -> None:
    crl = Crl.from_der(crl_of(ca, [c.Entry(1)]))

    class Sneaky(int):
        def to_bytes(self, *args: object, **kwargs: object) -> bytes:  # type: ignore[override]
            return b"\x01" * 1000

    assert Sneaky(1) in crl  # int subclasses count as their value
    assert True in crl
    assert crl.lookup(Sneaky(2)) is None
    # Odd arguments are typed errors (lookup) or simply not in the CRL (``in``).
    with pytest.raises(MalformedInputError, match="int"):
        crl.lookup("1")  # type: ignore[arg-type]
    assert b"\x01" not in crl
    assert "abc" not in crl


def test_leaf_serial_from_cert_info(ca: Issuer) -> None:
    leaf = ca.issue_leaf(["revoked.example"], serial=0x7FEDCBA987654321)
    other = ca.issue_leaf(["good.example"])
    serial = cert_info(leaf.der)["serial"]
    crl = Crl.from_der(crl_of(ca, [c.Entry(serial, REVOKED, "superseded")]), ca.der)
    assert serial in crl
    assert cert_info(other.der)["serial"] not in crl


def test_pem(ca: Issuer) -> None:
    der = crl_of(ca, [c.Entry(7, REVOKED, "keyCompromise")])
    pem = c.to_pem(der)
    for data in (pem, pem.decode(), b"junk before\n" + pem):
        crl = Crl.from_pem(data, ca.der)
        assert crl.lookup(7).reason == "keyCompromise"  # type: ignore[union-attr]
    with pytest.raises(CrlError, match="X509 CRL"):
        Crl.from_pem(pem.replace(b"X509 CRL", b"CERTIFICATE"))
    with pytest.raises(CrlError):
        Crl.from_pem(b"-----BEGIN X509 CRL-----\n!!!!\n-----END X509 CRL-----\n")


def test_empty_crl(ca: Issuer) -> None:
    crl = Crl.from_der(crl_of(ca), ca.der)
    assert len(crl) == 0
    assert 1 not in crl
    assert crl.index_bytes() == 0


def test_wrong_issuers(ca: Issuer) -> None:
    der = crl_of(ca, [c.Entry(1)])
    other = make_root("certpolicy other CA")
    same_name = make_root("certpolicy CRL test CA")  # the same subject, another key
    with pytest.raises(CrlError, match="not by"):
        Crl.from_der(der, other.der)
    with pytest.raises(CrlError, match="authority key identifier"):
        Crl.from_der(der, same_name.der)
    with pytest.raises(CrlError, match=r"not a DER X\.509 certificate"):
        Crl.from_der(der, b"garbage")
    # Signed by another key but claiming the issuer's key identifier.
    forged = crl_of(ca, [c.Entry(1)], signer=same_name.key)
    with pytest.raises(CrlError, match="does not verify"):
        Crl.from_der(forged, ca.der)
    # Parsing without an issuer then verifying gives the same answers.
    crl = Crl.from_der(forged)
    with pytest.raises(CrlError, match="does not verify"):
        crl.verify(ca.der)
    Crl.from_der(der).verify(ca.der)


def test_issuer_without_crl_sign(ca: Issuer) -> None:
    key = new_key("ec")
    no_crl_sign = c.issue_ca_with_crl(ca, "no cRLSign", [], crl_sign=False, key=key)
    with_crl_sign = c.issue_ca_with_crl(ca, "no cRLSign", [], key=key)
    der = crl_of(no_crl_sign)
    with pytest.raises(CrlError, match="cRLSign"):
        Crl.from_der(der, no_crl_sign.der)
    Crl.from_der(der, with_crl_sign.der)


def test_rsa_issuer() -> None:
    ca = make_root("certpolicy RSA CA", key_kind="rsa")
    crl = Crl.from_der(crl_of(ca, [c.Entry(3, REVOKED, "keyCompromise")]), ca.der)
    assert 3 in crl


@pytest.mark.parametrize(
    ("extra", "entries", "number", "message"),
    [
        ([c.delta_crl_indicator(4)], [], 5, "delta CRLs are not supported"),
        (
            [c.issuing_distribution_point(["http://x/a.crl"], indirect=True)],
            [],
            5,
            "indirect CRLs are not supported",
        ),
        ([c.extension("1.2.3.4", b"\x05\x00", critical=True)], [], 5, "critical extension"),
        (
            [],
            [c.Entry(1, REVOKED, None, [c.extension("1.2.3.4", b"\x05\x00", critical=True)])],
            5,
            "critical extension",
        ),
        (
            [],
            [c.Entry(1, REVOKED, None, [c.extension("2.5.29.29", b"\x30\x00", critical=True)])],
            5,
            "indirect CRLs are not supported",
        ),
        ([], [c.Entry(1, REVOKED, "removeFromCRL")], 5, "removeFromCRL"),
        ([], [], None, "no CRL number"),
        ([c.crl_number(5, critical=True)], [], None, "CRL number extension is marked critical"),
    ],
)
def test_rejected_crls(
    ca: Issuer, extra: list[bytes], entries: list[c.Entry], number: int | None, message: str
) -> None:
    der = crl_of(ca, entries, number=number, extra_extensions=extra)
    with pytest.raises(CrlError, match=message):
        Crl.from_der(der, ca.der)


def test_rejected_shapes(ca: Issuer) -> None:
    issuer_name = ca.cert.subject.public_bytes()
    no_next = c.assemble(
        issuer_name, b"", ca.key, this_update=THIS, next_update=None,
        extensions=[c.crl_number(1)],
    )  # fmt: skip
    with pytest.raises(CrlError, match="no nextUpdate"):
        Crl.from_der(no_next)
    version_1 = c.assemble(
        issuer_name, c.Entry(1).der(), ca.key, this_update=THIS, next_update=NEXT,
        extensions=[], version=None,
    )  # fmt: skip
    with pytest.raises(CrlError):
        Crl.from_der(version_1)
    sha1 = c.assemble(
        issuer_name, b"", ca.key, this_update=THIS, next_update=NEXT,
        extensions=[c.crl_number(1)], algorithm=c.ECDSA_SHA1,
    )  # fmt: skip
    with pytest.raises(CrlError, match="unsupported or insecure"):
        Crl.from_der(sha1, ca.der)


def test_scope(ca: Issuer) -> None:
    leaf = ca.issue_leaf(["a.example"], crl_urls=["http://x/a.crl"])
    elsewhere = ca.issue_leaf(["b.example"], crl_urls=["http://x/b.crl"])
    sub_ca = c.issue_ca_with_crl(ca, "sub CA", ["http://x/a.crl"])
    partition = Crl.from_der(
        crl_of(
            ca, extra_extensions=[c.issuing_distribution_point(["http://x/a.crl"], only_user=True)]
        )
    )
    partition.check_scope(leaf.der)
    with pytest.raises(CrlError, match="partition"):
        partition.check_scope(elsewhere.der)
    with pytest.raises(CrlError, match="only end-entity"):
        partition.check_scope(sub_ca.der)
    foreign = make_root("someone else").issue_leaf(["c.example"])
    with pytest.raises(CrlError, match="does not cover"):
        Crl.from_der(crl_of(ca)).check_scope(foreign.der)


def test_scope_compares_every_name_type(ca: Issuer) -> None:
    """A partition named by a directoryName covers only certificates whose distribution point
    carries that name (RFC 5280 6.3.3 (b)(2)(i)); a URI-only comparison would let the CRL of
    partition A answer "good" for a certificate of partition B."""
    from cryptography.x509.oid import NameOID

    def partition(label: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, label)])

    def leaf_in(label: str) -> bytes:
        cert = ca.issue_leaf([f"{label}.example"])
        builder = (
            x509.CertificateBuilder()
            .subject_name(cert.cert.subject)
            .issuer_name(ca.cert.subject)
            .public_key(cert.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(cert.cert.not_valid_before_utc)
            .not_valid_after(cert.cert.not_valid_after_utc)
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [x509.DirectoryName(partition(label))], None, None, None
                        )
                    ]
                ),
                critical=False,
            )
        )
        return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    crl_a = Crl.from_der(
        crl_of(
            ca,
            extra_extensions=[c.issuing_distribution_point(directory_names=[partition("A")])],
        ),
        ca.der,
    )
    crl_a.check_scope(leaf_in("A"))
    with pytest.raises(CrlError, match="partition"):
        crl_a.check_scope(leaf_in("B"))


def test_agrees_with_cryptography(ca: Issuer) -> None:
    rng = random.Random(4)
    reasons = [None, "keyCompromise", "cACompromise", "superseded", "certificateHold"]
    serials = {rng.getrandbits(rng.choice([8, 63, 64, 127, 159])) + 1 for _ in range(3000)}
    entries = [
        c.Entry(
            serial,
            REVOKED - dt.timedelta(seconds=rng.randrange(10**7)),
            rng.choice(reasons),
        )
        for serial in serials
    ]
    der = crl_of(ca, entries)
    ours = Crl.from_der(der, ca.der)
    theirs = x509.load_der_x509_crl(der)
    assert theirs.is_signature_valid(ca.cert.public_key())  # type: ignore[arg-type]
    assert len(ours) == len(theirs)
    for revoked in theirs:
        entry = ours.lookup(revoked.serial_number)
        assert entry is not None
        assert entry.revoked_at == revoked.revocation_date_utc
        try:
            reason = revoked.extensions.get_extension_for_class(x509.CRLReason).value.reason
            expected = {"cACompromise": "cACompromise"}.get(reason.value, reason.value)
        except x509.ExtensionNotFound:
            expected = None
        assert entry.reason == expected
    for _ in range(2000):
        probe = rng.getrandbits(160)
        found = theirs.get_revoked_certificate_by_serial_number(probe) is not None
        assert (probe in ours) is found


def test_hostile_bytes(ca: Issuer) -> None:
    der = crl_of(ca, [c.Entry(n, REVOKED, "keyCompromise") for n in range(1, 40)])
    for data in (b"", b"\x30", b"\x30\x80\x00\x00", b"\x30\x84\xff\xff\xff\xff", b"\x00" * 64):
        with pytest.raises(CrlError):
            Crl.from_der(data)
    for cut in range(0, len(der), 7):
        with pytest.raises(CrlError):
            Crl.from_der(der[:cut])
    with pytest.raises(CrlError):
        Crl.from_der(der + b"\x00")
    rng = random.Random(7)
    for _ in range(400):
        corrupt = bytearray(der)
        corrupt[rng.randrange(len(der))] ^= 1 << rng.randrange(8)
        try:
            crl = Crl.from_der(bytes(corrupt))
        except CrlError:
            continue
        # Parsed despite the flip (e.g. in a serial or the signature): never verifies.
        with pytest.raises(CrlError):
            crl.verify(ca.der)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600))
def test_random_bytes_are_crl_errors(data: bytes) -> None:
    with pytest.raises(CrlError):
        Crl.from_der(data)


def test_parsing_releases_the_gil(ca: Issuer) -> None:
    der, _ = c.large_crl(ca, 200_000)
    started, other_ran = threading.Event(), threading.Event()
    seen: list[bool] = []

    def parse() -> None:
        started.set()
        Crl.from_der(der, ca.der)
        seen.append(other_ran.is_set())

    def other() -> None:
        started.wait(timeout=30)
        other_ran.set()

    # No forced GIL hand-over: the other thread can only run if parsing lets go of the GIL.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        threads = [threading.Thread(target=other), threading.Thread(target=parse)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert seen == [True]


def test_index_memory(ca: Issuer) -> None:
    der, serials = c.large_crl(ca, 50_000)
    crl = Crl.from_der(der, ca.der)
    assert len(crl) == 50_000
    assert crl.index_bytes() == 16 * 50_000
    assert all(serial in crl for serial in serials[::97])


def test_issuer_name_mismatch_is_reported_by_name(ca: Issuer) -> None:
    der = crl_of(ca, issuer_name=name("somebody else"))
    with pytest.raises(CrlError, match="somebody else"):
        Crl.from_der(der, ca.der)


def test_large_crls_get_the_same_checks(ca: Issuer) -> None:
    # Above 1 MiB, parsing takes the two-thread path: signature and entries are checked too.
    der, serials = c.large_crl(ca, 60_000)
    assert len(der) > 1024 * 1024
    with pytest.raises(CrlError, match="authority key identifier"):
        Crl.from_der(der, make_root("certpolicy CRL test CA").der)
    with pytest.raises(CrlError, match="does not verify"):
        Crl.from_der(der[:-8] + bytes(8), ca.der)
    # An entry deep inside whose serial is not an INTEGER.
    broken = bytearray(der)
    entry = der.index(b"\x02\x11\x00", len(der) * 3 // 4)
    broken[entry] = 0x04
    with pytest.raises(CrlError):
        Crl.from_der(bytes(broken))
    crl = Crl.from_der(der, ca.der)
    assert all(serial in crl for serial in serials[::101])
    assert crl.lookup(serials[-1]) is not None
