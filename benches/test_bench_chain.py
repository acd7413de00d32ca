"""Chain verification, certpolicy vs cryptography's X.509 verifier: the same leaf +
intermediate against the same ~150-root store, for EC P-256 and RSA-2048 chains.

Groups (``kind`` is ``ec`` or ``rsa``):

- ``chain-cold-{kind}``: a chain never seen before. certpolicy's verified-chain cache and
  signature memo are cleared before every call (the clearing is timed too), and the hostname
  is checked on both sides (cryptography's server verifier always checks it). The third row,
  ``ring signatures only``, is the floor: the path's two signature checks alone, with the
  algorithms verify_chain uses (``_core._signature_floor``); the target is certpolicy within
  1.15x of it (DESIGN.md, raised by issue 15; benches/baseline.json).
- ``chain-warm-{kind}``: the same chain again, answered by the verified-chain cache.
- ``chain+hostname-warm-{kind}``: the same, plus the hostname check, like for like with the peer.
- ``chain-new-leaf-{kind}``: a server certificate never seen before under a known
  intermediate (the common case for an agent meeting a new endpoint): the chain is new, the
  intermediate's signature is remembered. Each round verifies another leaf.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from cryptography import x509

import certpolicy as cp
from certpolicy import _core
from certpolicy.checks import chain_cache_info, clear_chain_cache
from conftest import HOST, ChainSetup

NEW_LEAF_ROUNDS = 200


def test_chain_cold_certpolicy(benchmark: Any, chain_setup: ChainSetup) -> None:
    benchmark.group = f"chain-cold-{chain_setup.kind}"
    benchmark.extra_info.update(impl="certpolicy", roots=chain_setup.roots)
    chain, store = chain_setup.pki.chain, chain_setup.ours

    def run() -> None:
        clear_chain_cache()
        cp.verify_chain(chain, store)
        cp.verify_hostname(chain[0], HOST)

    before = chain_cache_info()
    benchmark(run)
    after = chain_cache_info()
    assert after.hits == before.hits, "the cold bench must never hit the cache"
    assert after.signature_hits == before.signature_hits


def test_chain_cold_signature_floor(benchmark: Any, chain_setup: ChainSetup) -> None:
    benchmark.group = f"chain-cold-{chain_setup.kind}"
    benchmark.extra_info.update(impl="ring signatures only", floor=True)
    path = cp.verify_chain(chain_setup.pki.chain, chain_setup.ours)
    assert _core._signature_floor(path) == 2
    benchmark(_core._signature_floor, path)


def test_chain_cold_cryptography(benchmark: Any, chain_setup: ChainSetup) -> None:
    benchmark.group = f"chain-cold-{chain_setup.kind}"
    benchmark.extra_info.update(impl="cryptography", peer=True, roots=chain_setup.roots)
    benchmark(chain_setup.verifier.verify, chain_setup.leaf, [chain_setup.intermediate])


def test_chain_warm_certpolicy(benchmark: Any, chain_setup: ChainSetup) -> None:
    benchmark.group = f"chain-warm-{chain_setup.kind}"
    benchmark.extra_info.update(impl="certpolicy", roots=chain_setup.roots)
    chain, store = chain_setup.pki.chain, chain_setup.ours
    cp.verify_chain(chain, store)
    before = chain_cache_info()
    benchmark(cp.verify_chain, chain, store)
    assert chain_cache_info().misses == before.misses, "every call must be a hit"


def test_chain_warm_cryptography(benchmark: Any, chain_setup: ChainSetup) -> None:
    benchmark.group = f"chain-warm-{chain_setup.kind}"
    benchmark.extra_info.update(impl="cryptography", peer=True, roots=chain_setup.roots)
    benchmark(chain_setup.verifier.verify, chain_setup.leaf, [chain_setup.intermediate])


def test_chain_and_hostname_warm_certpolicy(benchmark: Any, chain_setup: ChainSetup) -> None:
    benchmark.group = f"chain+hostname-warm-{chain_setup.kind}"
    benchmark.extra_info.update(impl="certpolicy", roots=chain_setup.roots)
    chain, store = chain_setup.pki.chain, chain_setup.ours

    def run() -> None:
        cp.verify_chain(chain, store)
        cp.verify_hostname(chain[0], HOST)

    run()
    benchmark(run)


def test_chain_and_hostname_warm_cryptography(benchmark: Any, chain_setup: ChainSetup) -> None:
    benchmark.group = f"chain+hostname-warm-{chain_setup.kind}"
    benchmark.extra_info.update(impl="cryptography", peer=True, roots=chain_setup.roots)
    benchmark(chain_setup.verifier.verify, chain_setup.leaf, [chain_setup.intermediate])


@pytest.fixture(scope="module")
def new_leaves(chain_setup: ChainSetup) -> list[tuple[bytes, x509.Certificate]]:
    """Leaves never verified before, from the chain's intermediate (one shared key: only the
    certificates need to differ)."""
    intermediate = chain_setup.pki.intermediate
    key = chain_setup.pki.leaf.key
    leaves = []
    for _ in range(NEW_LEAF_ROUNDS + 1):
        leaf = intermediate.issue_leaf([HOST], key=key)
        leaves.append((leaf.der, leaf.cert))
    return leaves


def test_chain_new_leaf_certpolicy(
    benchmark: Any, chain_setup: ChainSetup, new_leaves: list[tuple[bytes, x509.Certificate]]
) -> None:
    benchmark.group = f"chain-new-leaf-{chain_setup.kind}"
    benchmark.extra_info.update(impl="certpolicy", roots=chain_setup.roots)
    store, intermediate = chain_setup.ours, chain_setup.pki.intermediate.der
    cp.verify_chain(chain_setup.pki.chain, store)  # the intermediate's signature is known
    chains = iter([[der, intermediate] for der, _ in new_leaves])

    def run(chain: list[bytes]) -> None:
        cp.verify_chain(chain, store)
        cp.verify_hostname(chain[0], HOST)

    before = chain_cache_info()
    benchmark.pedantic(run, setup=lambda: ((next(chains),), {}), rounds=NEW_LEAF_ROUNDS)
    after = chain_cache_info()
    assert after.hits == before.hits, "every leaf must be new"
    assert after.signature_hits - before.signature_hits == NEW_LEAF_ROUNDS


def test_chain_new_leaf_cryptography(
    benchmark: Any, chain_setup: ChainSetup, new_leaves: list[tuple[bytes, x509.Certificate]]
) -> None:
    benchmark.group = f"chain-new-leaf-{chain_setup.kind}"
    benchmark.extra_info.update(impl="cryptography", peer=True, roots=chain_setup.roots)
    leaves = itertools.cycle([cert for _, cert in new_leaves])
    verifier, intermediate = chain_setup.verifier, chain_setup.intermediate

    benchmark.pedantic(
        verifier.verify,
        setup=lambda: ((next(leaves), [intermediate]), {}),
        rounds=NEW_LEAF_ROUNDS,
    )
