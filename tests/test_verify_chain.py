"""verify_chain: path building, validity, EKU, depth, messages."""

from __future__ import annotations

import datetime as dt
import random
import ssl

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

import certpolicy as cp

from pki import END, NOW, START, Pki, make_pki, make_root


@pytest.mark.parametrize("key_kind", ["ec", "rsa"])
def test_valid_chain_returns_the_path(key_kind: str) -> None:
    pki = make_pki(["a.example"], key_kind=key_kind)  # type: ignore[arg-type]
    store = cp.TrustStore()
    store.add_der(pki.root.der)
    path = cp.verify_chain(pki.chain, store)
    assert path == [pki.leaf.der, pki.intermediate.der, pki.root.der]
    assert all(isinstance(der, bytes) for der in path)


def test_intermediates_in_any_order_with_distractors(pki: Pki, store: cp.TrustStore) -> None:
    stranger = make_root("stranger").issue_ca("stranger intermediate")
    chain = [pki.leaf.der, stranger.der, pki.root.der, pki.intermediate.der]
    path = cp.verify_chain(chain, store)
    assert path == [pki.leaf.der, pki.intermediate.der, pki.root.der]


def test_longer_path_any_order() -> None:
    root = make_root()
    ca1 = root.issue_ca("ca1")
    ca2 = ca1.issue_ca("ca2")
    ca3 = ca2.issue_ca("ca3")
    leaf = ca3.issue_leaf(["deep.example"])
    store = cp.TrustStore()
    store.add_der(root.der)
    intermediates = [ca1.der, ca2.der, ca3.der]
    random.Random(7).shuffle(intermediates)
    path = cp.verify_chain([leaf.der, *intermediates], store)
    assert path == [leaf.der, ca3.der, ca2.der, ca1.der, root.der]
    assert cp.verify_chain([leaf.der, *intermediates], store, max_depth=3)
    with pytest.raises(cp.ChainError, match="maximum depth"):
        cp.verify_chain([leaf.der, *intermediates], store, max_depth=2)


def test_missing_intermediate(pki: Pki, store: cp.TrustStore) -> None:
    with pytest.raises(cp.ChainError, match="no path to a trusted root") as info:
        cp.verify_chain([pki.leaf.der], store)
    assert "CN=leaf.example.com" in str(info.value)


def test_untrusted_root(pki: Pki) -> None:
    store = cp.TrustStore()
    store.add_der(make_root("someone else").der)
    with pytest.raises(cp.ChainError, match="not trusted"):
        cp.verify_chain(pki.chain, store)


def test_empty_store_trusts_nothing(pki: Pki) -> None:
    with pytest.raises(cp.ChainError):
        cp.verify_chain(pki.chain, cp.TrustStore())


def test_validation_time(pki: Pki, store: cp.TrustStore) -> None:
    cp.verify_chain(pki.chain, store, at=NOW)
    with pytest.raises(cp.ChainError, match="expired at"):
        cp.verify_chain(pki.chain, store, at=END + dt.timedelta(days=1))
    with pytest.raises(cp.ChainError, match="not valid before"):
        cp.verify_chain(pki.chain, store, at=START - dt.timedelta(days=1))


def test_naive_validation_time_is_utc(pki: Pki, store: cp.TrustStore) -> None:
    just_after = (END + dt.timedelta(seconds=30)).replace(tzinfo=None)
    with pytest.raises(cp.ChainError, match="expired"):
        cp.verify_chain(pki.chain, store, at=just_after)
    just_before = (END - dt.timedelta(seconds=30)).replace(tzinfo=None)
    cp.verify_chain(pki.chain, store, at=just_before)


def test_expired_leaf_only() -> None:
    root = make_root()
    intermediate = root.issue_ca("int")
    leaf = intermediate.issue_leaf(["old.example"], not_after=NOW - dt.timedelta(days=1))
    store = cp.TrustStore()
    store.add_der(root.der)
    with pytest.raises(cp.ChainError, match="expired"):
        cp.verify_chain([leaf.der, intermediate.der], store)


def test_client_auth_only_leaf_is_rejected() -> None:
    root = make_root()
    intermediate = root.issue_ca("int")
    leaf = intermediate.issue_leaf(["c.example"], eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    store = cp.TrustStore()
    store.add_der(root.der)
    with pytest.raises(cp.ChainError, match="TLS server authentication"):
        cp.verify_chain([leaf.der, intermediate.der], store)


def test_pathlen_constraint() -> None:
    root = make_root()
    ca1 = root.issue_ca("ca1", path_length=0)
    ca2 = ca1.issue_ca("ca2")
    leaf = ca2.issue_leaf(["p.example"])
    store = cp.TrustStore()
    store.add_der(root.der)
    with pytest.raises(cp.ChainError):
        cp.verify_chain([leaf.der, ca2.der, ca1.der], store)


def test_self_signed_leaf_is_not_trusted_unless_anchor() -> None:
    root = make_root("selfsigned.example")
    with pytest.raises(cp.ChainError):
        cp.verify_chain([root.der], cp.TrustStore())


def test_chain_error_is_an_ssl_error(pki: Pki) -> None:
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        cp.verify_chain([pki.leaf.der], cp.TrustStore())
    err = info.value
    assert isinstance(err, cp.CertificateCheckError)
    assert isinstance(err, cp.CertPolicyError)
    assert err.report is None
    assert err.verify_message == str(err)


def test_bytearray_and_tuple_inputs(pki: Pki, store: cp.TrustStore) -> None:
    chain = (bytearray(pki.leaf.der), bytearray(pki.intermediate.der))
    assert cp.verify_chain(chain, store)[0] == pki.leaf.der  # type: ignore[arg-type]


def test_argument_errors(pki: Pki, store: cp.TrustStore) -> None:
    with pytest.raises(TypeError):
        cp.verify_chain(pki.leaf.der, store)
    with pytest.raises(TypeError):
        cp.verify_chain(pki.chain, object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cp.verify_chain(pki.chain, store, at="2030-01-01")  # type: ignore[arg-type]
    with pytest.raises(cp.MalformedInputError):
        cp.verify_chain(pki.chain, store, max_depth=-1)
    with pytest.raises(cp.MalformedInputError):
        cp.verify_chain(pki.chain, store, at=dt.datetime(1960, 1, 1, tzinfo=dt.UTC))
