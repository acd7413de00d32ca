"""The verified-chain cache, the signature memo and verify_chains.

A hit must only ever happen for the byte-identical chain, verified against the same store
contents with the same max_depth, at a time inside the validity of every certificate of its
path. Each test reads the cache's counters before and after, so a hit that should not happen
(or a hit that should and does not) fails it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

import certpolicy as cp
from certpolicy import _core
from certpolicy.checks import (
    ChainCacheInfo,
    chain_cache_info,
    clear_chain_cache,
    set_chain_cache_size,
    verify_chains,
)

from pki import END, NOW, START, Pki, make_pki, make_root


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    capacity = chain_cache_info().capacity
    clear_chain_cache()
    yield
    set_chain_cache_size(capacity)
    clear_chain_cache()


def delta(before: ChainCacheInfo) -> tuple[int, int]:
    """(hits, misses) since `before`."""
    now = chain_cache_info()
    return now.hits - before.hits, now.misses - before.misses


def test_a_repeated_chain_hits_and_gives_the_same_path(pki: Pki, store: cp.TrustStore) -> None:
    before = chain_cache_info()
    first = cp.verify_chain(pki.chain, store)
    assert delta(before) == (0, 1)
    second = cp.verify_chain(pki.chain, store)
    assert delta(before) == (1, 1)
    assert first == second == [pki.leaf.der, pki.intermediate.der, pki.root.der]
    # The caller owns the returned list: changing it does not change the cache.
    second.clear()
    assert cp.verify_chain(list(pki.chain), store) == first
    assert delta(before) == (2, 1)
    assert chain_cache_info().entries == 1


@pytest.mark.parametrize("which", ["leaf", "intermediate"])
@pytest.mark.parametrize("where", ["start", "middle", "signature", "last"])
def test_a_changed_byte_never_hits(pki: Pki, store: cp.TrustStore, which: str, where: str) -> None:
    cp.verify_chain(pki.chain, store)
    index = 0 if which == "leaf" else 1
    der = bytearray(pki.chain[index])
    # "middle" changes bytes the cache's lookup hash does not read (it samples each
    # certificate's tail), so only the byte-for-byte comparison can tell the chains apart.
    position = {"start": 4, "middle": len(der) // 2, "signature": len(der) - 20}.get(
        where, len(der) - 1
    )
    der[position] ^= 0x01
    changed = list(pki.chain)
    changed[index] = bytes(der)
    before = chain_cache_info()
    with pytest.raises(cp.ChainError):
        cp.verify_chain(changed, store)
    assert delta(before) == (0, 1)


def test_another_set_of_presented_certificates_is_another_entry(
    pki: Pki, store: cp.TrustStore
) -> None:
    cp.verify_chain(pki.chain, store)
    before = chain_cache_info()
    with_root = [*pki.chain, pki.root.der]
    assert cp.verify_chain(with_root, store) == [pki.leaf.der, pki.intermediate.der, pki.root.der]
    reordered = [pki.leaf.der, pki.root.der, pki.intermediate.der]
    cp.verify_chain(reordered, store)
    assert delta(before) == (0, 2)
    cp.verify_chain(with_root, store)
    assert delta(before) == (1, 2)


def test_a_chain_verified_with_one_store_is_not_trusted_by_another(pki: Pki) -> None:
    trusting = cp.TrustStore()
    trusting.add_der(pki.root.der)
    stranger = cp.TrustStore()
    stranger.add_der(make_root("somebody else").der)
    cp.verify_chain(pki.chain, trusting)
    before = chain_cache_info()
    with pytest.raises(cp.ChainError, match="not trusted"):
        cp.verify_chain(pki.chain, stranger)
    with pytest.raises(cp.ChainError):
        cp.verify_chain(pki.chain, cp.TrustStore())
    assert delta(before) == (0, 2)


def test_a_store_change_invalidates(pki: Pki) -> None:
    store = cp.TrustStore()
    store.add_der(pki.root.der)
    generation = store._core.generation
    cp.verify_chain(pki.chain, store)
    cp.verify_chain(pki.chain, store)
    before = chain_cache_info()
    assert before.entries == 1
    store.add_der(pki.root.der)  # already there: nothing changes
    assert store._core.generation == generation
    cp.verify_chain(pki.chain, store)
    assert delta(before) == (1, 0)
    store.add_der(make_root("another root").der)
    assert store._core.generation != generation
    assert chain_cache_info().entries == 0, "entries of the replaced anchors are dropped"
    cp.verify_chain(pki.chain, store)
    assert delta(before) == (1, 1)
    cp.verify_chain(pki.chain, store)
    assert delta(before) == (2, 1)


def test_max_depth_is_part_of_the_key(pki: Pki, store: cp.TrustStore) -> None:
    cp.verify_chain(pki.chain, store)
    before = chain_cache_info()
    cp.verify_chain(pki.chain, store, max_depth=1)
    with pytest.raises(cp.ChainError, match="maximum depth"):
        cp.verify_chain(pki.chain, store, max_depth=0)
    assert delta(before) == (0, 2)
    with pytest.raises(cp.ChainError, match="maximum depth"):
        cp.verify_chain(pki.chain, store, max_depth=0)
    cp.verify_chain(pki.chain, store, max_depth=1)
    assert delta(before) == (1, 3)


def test_outside_the_validity_period_never_hits(pki: Pki, store: cp.TrustStore) -> None:
    cp.verify_chain(pki.chain, store, at=NOW)
    before = chain_cache_info()
    with pytest.raises(cp.ChainError, match="expired at"):
        cp.verify_chain(pki.chain, store, at=END + dt.timedelta(seconds=1))
    with pytest.raises(cp.ChainError, match="not valid before"):
        cp.verify_chain(pki.chain, store, at=START - dt.timedelta(seconds=1))
    assert delta(before) == (0, 2)
    # The bounds themselves are inside (RFC 5280 section 4.1.2.5: inclusive).
    cp.verify_chain(pki.chain, store, at=END)
    cp.verify_chain(pki.chain, store, at=START)
    cp.verify_chain(pki.chain, store)
    assert delta(before) == (3, 2)


@pytest.mark.parametrize("short_lived", ["intermediate", "root"])
def test_the_window_is_that_of_the_whole_path(short_lived: str) -> None:
    expiry = NOW + dt.timedelta(days=10)
    root = make_root(not_after=expiry if short_lived == "root" else END)
    intermediate = root.issue_ca(
        "short-lived intermediate", not_after=expiry if short_lived == "intermediate" else END
    )
    leaf = intermediate.issue_leaf(["window.example"])
    store = cp.TrustStore()
    store.add_der(root.der)
    chain = [leaf.der, intermediate.der]
    cp.verify_chain(chain, store, at=NOW)
    before = chain_cache_info()
    cp.verify_chain(chain, store, at=expiry)
    assert delta(before) == (1, 0)
    # The leaf is still valid here; the path is not.
    with pytest.raises(cp.ChainError, match="expired"):
        cp.verify_chain(chain, store, at=expiry + dt.timedelta(seconds=1))
    assert delta(before) == (1, 1)


def test_failures_are_never_remembered(pki: Pki, store: cp.TrustStore) -> None:
    before = chain_cache_info()
    for _ in range(3):
        with pytest.raises(cp.ChainError, match="no path to a trusted root"):
            cp.verify_chain([pki.leaf.der], store)
        with pytest.raises(cp.ChainError):
            cp.verify_chain([b"\x30\x03\x02\x01\x01"], store)
    assert delta(before) == (0, 6)
    assert chain_cache_info().entries == 0


def test_a_padded_chain_is_verified_but_not_kept(pki: Pki, store: cp.TrustStore) -> None:
    # Unused certificates a server adds are ignored by path building; the cache does not keep
    # a chain that large (at most 32 KiB per entry).
    padding = make_root("padding", key_kind="rsa").der
    padded = [*pki.chain, *[padding] * (32 * 1024 // len(padding) + 1)]
    before = chain_cache_info()
    for _ in range(2):
        assert cp.verify_chain(padded, store)[-1] == pki.root.der
    assert delta(before) == (0, 2)
    assert chain_cache_info().entries == 0


def test_the_size_knob(store: cp.TrustStore) -> None:
    set_chain_cache_size(0)
    assert chain_cache_info().capacity == 0
    assert chain_cache_info().signature_capacity == 0
    pki = make_pki(["size.example"])
    trust = cp.TrustStore()
    trust.add_der(pki.root.der)
    before = chain_cache_info()
    for _ in range(3):
        cp.verify_chain(pki.chain, trust)
    assert delta(before) == (0, 0), "a disabled cache neither hits nor counts"
    assert chain_cache_info().entries == 0

    set_chain_cache_size(20)
    info = chain_cache_info()
    assert info.capacity == 32, "rounded up to a multiple of the 16 shards"
    assert info.signature_capacity == 80, "4 signatures per chain, 5 per shard"
    leaves = [pki.intermediate.issue_leaf(["size.example"]) for _ in range(60)]
    for leaf in leaves:
        cp.verify_chain([leaf.der, pki.intermediate.der], trust)
    assert 0 < chain_cache_info().entries <= 32
    before = chain_cache_info()
    cp.verify_chain([leaves[-1].der, pki.intermediate.der], trust)
    assert delta(before) == (1, 0), "the most recently used entry is kept"

    for bad in (-1, 2**20 + 1):
        with pytest.raises(cp.MalformedInputError):
            set_chain_cache_size(bad)
    for wrong in ("10", 1.5, True):
        with pytest.raises(TypeError):
            set_chain_cache_size(wrong)  # type: ignore[arg-type]


def test_clear_forgets(pki: Pki, store: cp.TrustStore) -> None:
    cp.verify_chain(pki.chain, store)
    clear_chain_cache()
    assert chain_cache_info().entries == 0
    before = chain_cache_info()
    cp.verify_chain(pki.chain, store)
    assert delta(before) == (0, 1)


def test_a_known_ca_signature_is_reused_for_a_new_leaf_only(pki: Pki, store: cp.TrustStore) -> None:
    cp.verify_chain(pki.chain, store)
    before = chain_cache_info()
    fresh = pki.intermediate.issue_leaf(["fresh.example"])
    cp.verify_chain([fresh.der, pki.intermediate.der], store)
    after = chain_cache_info()
    assert after.signature_hits - before.signature_hits == 1
    assert after.misses - before.misses == 1

    # A leaf signed by another key in the intermediate's name is still rejected, though the
    # intermediate's own signature is remembered.
    impostor_ca = make_root("impostor").issue_ca("certpolicy test intermediate")
    impostor = impostor_ca.issue_leaf(["fresh.example"])
    assert impostor.cert.issuer == pki.leaf.cert.issuer
    with pytest.raises(cp.ChainError, match="signature"):
        cp.verify_chain([impostor.der, pki.intermediate.der], store)
    # So is a tampered copy of the fresh leaf.
    tampered = bytearray(fresh.der)
    tampered[len(tampered) // 2] ^= 0x01
    with pytest.raises(cp.ChainError):
        cp.verify_chain([bytes(tampered), pki.intermediate.der], store)


def test_signature_floor_checks_only_signatures(pki: Pki, store: cp.TrustStore) -> None:
    path = cp.verify_chain(pki.chain, store)
    assert _core._signature_floor(path) == 2
    assert _core._signature_floor(path[1:]) == 1
    with pytest.raises(cp.ChainError):
        _core._signature_floor([path[0], path[2]])
    with pytest.raises(cp.MalformedInputError):
        _core._signature_floor([b"junk", path[1]])


# --- verify_chains ---------------------------------------------------------------------------


def test_verify_chains_returns_paths_and_exceptions_in_order(
    pki: Pki, store: cp.TrustStore
) -> None:
    other = make_pki(["other.example"])
    chains: list[list[bytes]] = [
        pki.chain,
        [pki.leaf.der],
        [b"garbage"],
        other.chain,
        [],
        pki.chain,
    ]
    results = verify_chains(chains, store)
    assert len(results) == len(chains)
    expected_path = [pki.leaf.der, pki.intermediate.der, pki.root.der]
    assert results[0] == results[5] == expected_path
    for index in (1, 2, 3, 4):
        result = results[index]
        assert isinstance(result, cp.ChainError), (index, result)
        with pytest.raises(cp.ChainError) as raised:
            cp.verify_chain(chains[index], store)
        assert str(result) == str(raised.value)
    assert verify_chains([], store) == []
    assert verify_chains((tuple(c) for c in [pki.chain]), store) == [expected_path]


def test_verify_chains_honours_time_and_depth(pki: Pki, store: cp.TrustStore) -> None:
    late = END + dt.timedelta(days=1)
    (expired,) = verify_chains([pki.chain], store, at=late)
    assert isinstance(expired, cp.ChainError)
    assert "expired" in str(expired)
    (too_deep,) = verify_chains([pki.chain], store, max_depth=0)
    assert isinstance(too_deep, cp.ChainError)
    assert verify_chains([pki.chain], store, at=NOW, max_depth=1) == [
        cp.verify_chain(pki.chain, store)
    ]


def test_verify_chains_shares_the_cache(pki: Pki, store: cp.TrustStore) -> None:
    before = chain_cache_info()
    verify_chains([pki.chain] * 5, store)
    assert delta(before) == (4, 1)
    cp.verify_chain(pki.chain, store)
    assert delta(before) == (5, 1)


def test_verify_chains_rejects_wrong_shapes(pki: Pki, store: cp.TrustStore) -> None:
    with pytest.raises(TypeError):
        verify_chains(pki.leaf.der, store)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"chains\[1\]"):
        verify_chains([pki.chain, pki.leaf.der], store)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        verify_chains([pki.chain, [1, 2]], store)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        verify_chains([pki.chain], object())  # type: ignore[arg-type]
    with pytest.raises(cp.MalformedInputError):
        verify_chains([pki.chain], store, max_depth=-1)


def test_chains_with_extra_certificates_are_verified_but_not_remembered(
    pki: Pki, store: cp.TrustStore
) -> None:
    """A server appending unrelated certificates could otherwise fill the cache with ever
    "new" chains; a presented anchor is part of the path and does not count as extra."""
    stranger = make_root("stranger").der
    padded = [*pki.chain, stranger]
    cp.verify_chain(padded, store)
    before = chain_cache_info()
    assert cp.verify_chain(padded, store)[0] == pki.leaf.der
    assert delta(before) == (0, 1)
    with_anchor = [*pki.chain, pki.root.der]
    cp.verify_chain(with_anchor, store)
    before = chain_cache_info()
    cp.verify_chain(with_anchor, store)
    assert delta(before) == (1, 0)


def test_the_cache_has_a_byte_bound() -> None:
    """Each cached chain is at most MAX_CACHED_CHAIN_BYTES, so the byte bound caps the
    entries (rounded down to whole shards): 64 chains' worth of bytes keeps 64 chains, however
    many entries are asked for."""
    from certpolicy import _core

    try:
        per_chain = _core.MAX_CACHED_CHAIN_BYTES
        cp.set_chain_cache_size(100_000, max_bytes=64 * per_chain)
        assert cp.chain_cache_info().capacity == 64
        cp.set_chain_cache_size(100_000, max_bytes=per_chain)  # less than one shard's worth
        assert cp.chain_cache_info().capacity == 0
        cp.set_chain_cache_size(16)  # the default byte bound (32 MiB) allows 1,024
        assert cp.chain_cache_info().capacity == 16
        with pytest.raises(cp.MalformedInputError):
            cp.set_chain_cache_size(16, max_bytes=-1)
    finally:
        cp.set_chain_cache_size(1024)
