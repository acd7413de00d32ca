"""TrustStore: construction, adding anchors, the certifi default, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

import certpolicy as cp

from pki import Pki, make_root


def test_empty_store_has_no_anchors() -> None:
    assert len(cp.TrustStore()) == 0


def test_add_pem_counts_new_certificates_only(pki: Pki) -> None:
    store = cp.TrustStore()
    other = make_root("another root")
    assert store.add_pem(pki.root.pem + other.pem) == 2
    assert store.add_pem(pki.root.pem) == 0
    assert len(store) == 2


def test_add_pem_accepts_str(pki: Pki) -> None:
    store = cp.TrustStore()
    assert store.add_pem(pki.root.pem.decode()) == 1


def test_add_der_and_duplicate(pki: Pki) -> None:
    store = cp.TrustStore()
    assert store.add_der(pki.root.der) is None
    store.add_der(pki.root.der)
    assert len(store) == 1


def test_add_file_pem_and_der(pki: Pki, tmp_path: Path) -> None:
    pem_file, der_file = tmp_path / "roots.pem", tmp_path / "root.der"
    other = make_root("file root")
    pem_file.write_bytes(pki.root.pem + other.pem)
    der_file.write_bytes(pki.root.der)
    store = cp.TrustStore()
    assert store.add_file(der_file) == 1
    assert store.add_file(pem_file) == 1
    assert len(store) == 2


def test_add_file_missing_is_typed_error(tmp_path: Path) -> None:
    with pytest.raises(cp.MalformedInputError, match="cannot read trust file"):
        cp.TrustStore().add_file(tmp_path / "nope.pem")


def test_default_store_holds_the_certifi_roots() -> None:
    import certifi

    expected = Path(certifi.where()).read_bytes().count(b"-----BEGIN CERTIFICATE-----")
    store = cp.TrustStore.default()
    assert len(store) == expected
    assert len(store) > 100


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not pem at all",
        b"-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n",
        b"-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n",
        b"-----BEGIN CERTIFICATE-----\nMIIB",
    ],
)
def test_bad_pem_is_rejected(data: bytes) -> None:
    store = cp.TrustStore()
    with pytest.raises(cp.MalformedInputError):
        store.add_pem(data)
    assert len(store) == 0


def test_add_pem_is_all_or_nothing(pki: Pki) -> None:
    store = cp.TrustStore()
    bad = b"-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n"
    with pytest.raises(cp.MalformedInputError, match="#1"):
        store.add_pem(pki.root.pem + bad)
    assert len(store) == 0


@pytest.mark.parametrize("data", [b"", b"\x30\x03\x02\x01\x01", b"\x00" * 100])
def test_bad_der_is_rejected(data: bytes) -> None:
    with pytest.raises(cp.MalformedInputError):
        cp.TrustStore().add_der(data)


def test_wrong_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        cp.TrustStore().add_pem(12)  # type: ignore[arg-type]


def test_repr(pki: Pki) -> None:
    store = cp.TrustStore()
    store.add_der(pki.root.der)
    assert repr(store) == "<TrustStore with 1 anchors>"
