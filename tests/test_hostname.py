"""verify_hostname: RFC 6125 matching, IDNA, IPs, CN fallback, messages."""

from __future__ import annotations

import pytest

import certpolicy as cp

from pki import Pki, make_root

MATCHING = [
    "leaf.example.com",
    "LEAF.Example.Com",
    "leaf.example.com.",
    "a.wild.example.com",
    "xn--bcher-kva.wild.example.com",
    "bücher.wild.example.com",
    "127.0.0.1",
    "::1",
    "[::1]",
    "0:0:0:0:0:0:0:1",
]
NOT_MATCHING = [
    "example.com",
    "wild.example.com",
    "a.b.wild.example.com",
    "leaf.example.com..",
    "leaf.example.co",
    "eaf.example.com",
    "127.0.0.2",
    "::2",
    "10.0.0.1",
]


@pytest.mark.parametrize("host", MATCHING)
def test_matches(pki: Pki, host: str) -> None:
    cp.verify_hostname(pki.leaf.der, host)


@pytest.mark.parametrize("host", NOT_MATCHING)
def test_does_not_match(pki: Pki, host: str) -> None:
    with pytest.raises(cp.HostnameMismatchError):
        cp.verify_hostname(pki.leaf.der, host)


def test_mismatch_names_presented_names(pki: Pki) -> None:
    with pytest.raises(cp.HostnameMismatchError) as info:
        cp.verify_hostname(pki.leaf.der, "api.example.org")
    err = info.value
    assert err.host == "api.example.org"
    assert err.presented == ["leaf.example.com", "*.wild.example.com", "127.0.0.1", "::1"]
    assert "leaf.example.com, *.wild.example.com, 127.0.0.1, ::1" in str(err)
    assert "CN=leaf.example.com" in str(err)
    assert isinstance(err, cp.CertificateCheckError)


def test_idna_a_label_san_matches_u_label_host() -> None:
    leaf = make_root().issue_leaf(["xn--mnchen-3ya.example"])
    cp.verify_hostname(leaf.der, "münchen.example")
    cp.verify_hostname(leaf.der, "XN--MNCHEN-3YA.example")


def test_partial_wildcards_never_match() -> None:
    leaf = make_root().issue_leaf(["f*.example.com", "*.com"])
    for host in ["foo.example.com", "example.com", "f.example.com"]:
        with pytest.raises(cp.HostnameMismatchError):
            cp.verify_hostname(leaf.der, host)


def test_ip_is_not_matched_against_dns_names() -> None:
    leaf = make_root().issue_leaf(["10.1.2.3.example", "host.example"])
    with pytest.raises(cp.HostnameMismatchError):
        cp.verify_hostname(leaf.der, "10.1.2.3")


def test_dns_san_equal_to_ip_string_does_not_match_ip() -> None:
    root = make_root()
    from cryptography import x509

    from pki import Cert

    leaf = root.issue_leaf(["placeholder.example"])
    # A dNSName "127.0.0.1" is not an iPAddress SAN and must not match the IP.
    builder = (
        x509.CertificateBuilder()
        .subject_name(leaf.cert.subject)
        .issuer_name(root.cert.subject)
        .public_key(leaf.key.public_key())
        .serial_number(1)
        .not_valid_before(leaf.cert.not_valid_before_utc)
        .not_valid_after(leaf.cert.not_valid_after_utc)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("127.0.0.1")]), False)
    )
    from cryptography.hazmat.primitives import hashes

    odd = Cert(builder.sign(root.key, hashes.SHA256()), leaf.key)
    with pytest.raises(cp.HostnameMismatchError):
        cp.verify_hostname(odd.der, "127.0.0.1")


def test_common_name_only_when_allowed_and_no_san() -> None:
    root = make_root()
    legacy = root.issue_leaf([], common_name="legacy.example", san=False)
    with pytest.raises(cp.HostnameMismatchError, match="allow_common_name"):
        cp.verify_hostname(legacy.der, "legacy.example")
    cp.verify_hostname(legacy.der, "legacy.example", allow_common_name=True)
    cp.verify_hostname(legacy.der, "LEGACY.example.", allow_common_name=True)
    with pytest.raises(cp.HostnameMismatchError) as info:
        cp.verify_hostname(legacy.der, "other.example", allow_common_name=True)
    assert info.value.presented == ["legacy.example"]
    with_san = root.issue_leaf(["san.example"], common_name="cn.example")
    with pytest.raises(cp.HostnameMismatchError):
        cp.verify_hostname(with_san.der, "cn.example", allow_common_name=True)


@pytest.mark.parametrize("host", ["", "a..b", "exa mple.com", "-" * 300, "a" * 64 + ".com"])
def test_invalid_reference_names(pki: Pki, host: str) -> None:
    with pytest.raises(cp.HostnameMismatchError, match="not a valid hostname"):
        cp.verify_hostname(pki.leaf.der, host)


@pytest.mark.parametrize("cert", [b"", b"\x30\x00", b"garbage" * 10])
def test_unreadable_certificate(cert: bytes) -> None:
    with pytest.raises(cp.HostnameMismatchError, match="not a readable"):
        cp.verify_hostname(cert, "a.example")
