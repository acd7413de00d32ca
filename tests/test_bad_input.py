"""Hostile input never crashes: every malformed value gets a typed CertPolicyError, in bounded
time, and no Rust panic crosses into Python (it would surface as pyo3's PanicException, a
BaseException that `pytest.raises(CertPolicyError)` would not catch)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import certpolicy as cp

from pki import END, START, Cert, Pki, make_root, name, new_key

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_typed_errors(call: object, *args: object, **kwargs: object) -> None:
    try:
        call(*args, **kwargs)  # type: ignore[operator]
    except cp.CertPolicyError:
        pass
    except BaseException as exc:
        pytest.fail(f"{type(exc).__module__}.{type(exc).__name__} escaped: {exc!r}")


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_everywhere(data: bytes, pki: Pki, store: cp.TrustStore) -> None:
    _only_typed_errors(cp.verify_chain, [data], store)
    _only_typed_errors(cp.verify_chain, [pki.leaf.der, data], store)
    _only_typed_errors(cp.verify_hostname, data, "a.example")
    _only_typed_errors(cp.verify_hostname, data, "a.example", allow_common_name=True)
    _only_typed_errors(cp.cert_info, data)
    _only_typed_errors(cp.TrustStore().add_der, data)
    _only_typed_errors(cp.TrustStore().add_pem, data)


@FUZZ
@given(cut=st.integers(min_value=0), flips=st.lists(st.integers(min_value=0), max_size=4))
def test_truncated_and_bit_flipped_certificates(
    cut: int, flips: list[int], pki: Pki, store: cp.TrustStore
) -> None:
    damaged = bytearray(pki.leaf.der[: cut % (len(pki.leaf.der) + 1)])
    for flip in flips:
        if damaged:
            damaged[flip % len(damaged)] ^= 1 << (flip % 8)
    der = bytes(damaged)
    _only_typed_errors(cp.verify_chain, [der, pki.intermediate.der], store)
    _only_typed_errors(cp.verify_hostname, der, "leaf.example.com", allow_common_name=True)
    _only_typed_errors(cp.cert_info, der)
    _only_typed_errors(cp.TrustStore().add_der, der)


@FUZZ
@given(host=st.text(max_size=300))
def test_any_hostname_string(host: str, pki: Pki) -> None:
    _only_typed_errors(cp.verify_hostname, pki.leaf.der, host)


@pytest.mark.parametrize("der", [b"", b"\x30", b"\x30\x80\x00\x00", b"\xff" * 64])
def test_malformed_leaf_is_a_chain_error(der: bytes, store: cp.TrustStore) -> None:
    with pytest.raises(cp.ChainError, match="malformed"):
        cp.verify_chain([der], store)


def test_empty_chain(store: cp.TrustStore) -> None:
    with pytest.raises(cp.ChainError, match="empty"):
        cp.verify_chain([], store)


def test_oversized_certificate(pki: Pki, store: cp.TrustStore) -> None:
    huge = b"\x30\x83\x10\x00\x00" + b"\x00" * 0x100000
    with pytest.raises(cp.ChainError, match="at most"):
        cp.verify_chain([huge], store)
    with pytest.raises(cp.ChainError, match="at most"):
        cp.verify_chain([pki.leaf.der, huge], store)
    with pytest.raises(cp.MalformedInputError):
        cp.cert_info(huge)
    with pytest.raises(cp.MalformedInputError):
        cp.TrustStore().add_der(huge)


def test_chain_of_a_thousand_certificates(pki: Pki, store: cp.TrustStore) -> None:
    chain = [pki.leaf.der] + [pki.intermediate.der] * 999
    with pytest.raises(cp.ChainError, match="1000 certificates"):
        cp.verify_chain(chain, store)


@pytest.mark.timeout(120)
def test_path_building_maze_ends_within_budget() -> None:
    """60 CAs sharing the anchor's name, each signed by another: exponentially many candidate
    paths, each ending in a signature check against the anchor that fails. webpki's signature
    and path-building budgets stop the search."""
    root = make_root("maze CA")
    maze_name = name("maze CA")
    keys = [new_key() for _ in range(60)]
    rng = random.Random(1)
    intermediates = []
    for key in keys:
        signer = rng.choice(keys)
        cert = (
            x509.CertificateBuilder()
            .subject_name(maze_name)
            .issuer_name(maze_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(START)
            .not_valid_after(END)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(signer, hashes.SHA256())
        )
        intermediates.append(cert.public_bytes(serialization.Encoding.DER))
    leaf_key = new_key()
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("maze.example"))
        .issuer_name(maze_name)
        .public_key(leaf_key.public_key())
        .serial_number(1)
        .not_valid_before(START)
        .not_valid_after(END)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("maze.example")]), False)
        .sign(keys[0], hashes.SHA256())
    )
    store = cp.TrustStore()
    store.add_der(root.der)
    chain = [Cert(leaf, leaf_key).der, *intermediates]
    with pytest.raises(cp.ChainError):
        cp.verify_chain(chain, store)


def test_far_future_and_epoch_times(pki: Pki, store: cp.TrustStore) -> None:
    with pytest.raises(cp.ChainError):
        cp.verify_chain(pki.chain, store, at=dt.datetime(9999, 12, 31, tzinfo=dt.UTC))
    with pytest.raises(cp.ChainError):
        cp.verify_chain(pki.chain, store, at=dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
