"""cert_info: every key, cross-checked against cryptography's parser."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

import certpolicy as cp
from certpolicy import _core

from pki import Pki, make_root


def test_leaf_summary_matches_cryptography() -> None:
    root = make_root()
    leaf = root.issue_leaf(
        ["svc.example", "*.svc.example", "192.0.2.7", "2001:db8::1"],
        crl_urls=["http://127.0.0.1:8080/ca.crl"],
        ocsp_urls=["http://127.0.0.1:8081/ocsp"],
        serial=0x7FEDCBA987654321,
    )
    info = cp.cert_info(leaf.der)
    parsed = x509.load_der_x509_certificate(leaf.der)
    assert set(info) == {
        "subject",
        "issuer",
        "serial",
        "not_before",
        "not_after",
        "dns_names",
        "ip_addresses",
        "is_ca",
        "crl_urls",
        "ocsp_urls",
        "ca_issuers_urls",
        "sha256",
    }
    assert info["subject"] == parsed.subject.rfc4514_string()
    assert info["issuer"] == parsed.issuer.rfc4514_string()
    assert info["serial"] == 0x7FEDCBA987654321
    assert info["not_before"] == parsed.not_valid_before_utc
    assert info["not_after"] == parsed.not_valid_after_utc
    assert info["not_before"].tzinfo == dt.UTC
    assert info["dns_names"] == ["svc.example", "*.svc.example"]
    assert info["ip_addresses"] == ["192.0.2.7", "2001:db8::1"]
    assert info["is_ca"] is False
    assert info["crl_urls"] == ["http://127.0.0.1:8080/ca.crl"]
    assert info["ocsp_urls"] == ["http://127.0.0.1:8081/ocsp"]
    assert info["ca_issuers_urls"] == []  # tests/test_aia.py reads them
    assert info["sha256"] == parsed.fingerprint(hashes.SHA256()).hex()


def test_ca_summary(pki: Pki) -> None:
    info = cp.cert_info(pki.root.der)
    assert info["is_ca"] is True
    assert info["subject"] == info["issuer"]
    assert info["dns_names"] == []
    assert info["crl_urls"] == []
    assert info["ocsp_urls"] == []


def test_special_characters_are_escaped_like_cryptography() -> None:
    from cryptography.x509.oid import NameOID

    from pki import Issuer, _builder, _ca_extensions, new_key

    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'Acme, Inc. + "Sons"'),
            x509.NameAttribute(NameOID.COMMON_NAME, "#hash <x>;"),
        ]
    )
    key = new_key()
    cert = _ca_extensions(
        _builder(subject, subject, key, key, dt.datetime(2025, 1, 1), dt.datetime(2030, 1, 1)),
        key,
        None,
    ).sign(key, hashes.SHA256())
    issuer = Issuer(cert, key)
    assert cp.cert_info(issuer.der)["subject"] == cert.subject.rfc4514_string()


@pytest.mark.parametrize("data", [b"", b"\x30", b"\x30\x82\x10\x00" + b"\x00" * 10, b"hello"])
def test_garbage_is_malformed_input(data: bytes) -> None:
    with pytest.raises(cp.MalformedInputError):
        cp.cert_info(data)


def test_trailing_data_is_rejected(pki: Pki) -> None:
    with pytest.raises(cp.MalformedInputError, match="trailing"):
        cp.cert_info(pki.leaf.der + b"\x00")


def test_every_field_of_the_core_reaches_python(pki: Pki) -> None:
    """The Rust core's summary, its stub's TypedDict and the public CertInfo name the same
    keys, so a field added in Rust cannot be dropped or misnamed on the way (stubtest cannot
    see inside a returned dict)."""
    stub = ast.parse((Path(cp.__file__).parent / "_core.pyi").read_text())
    (stub_class,) = [
        node for node in stub.body if isinstance(node, ast.ClassDef) and node.name == "CertInfo"
    ]
    stub_keys = {
        node.target.id
        for node in stub_class.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    raw = _core.cert_info(pki.leaf.der)
    assert set(raw) == stub_keys
    assert set(raw) == set(cp.CertInfo.__annotations__)
    assert set(cp.cert_info(pki.leaf.der)) == set(raw)
