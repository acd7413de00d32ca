"""``engine.check`` on a chain seen before vs a ``verify_chain`` cache hit alone, side by side in
one group (DESIGN.md "Performance targets": ``engine.check`` ≤ 4× the cache hit). The same
leaf + intermediate (EC P-256 or RSA-2048) against the same ~150-root store on both rows.

Groups (``kind`` is ``ec`` or ``rsa``):

- ``engine-check-warm-{kind}``: a policy checking chain and hostname, revocation off.
- ``engine-check-warm-crl-{kind}``: chain, hostname and revocation (CRL, the whole path: the
  leaf and the intermediate), both CRLs served once by a loopback HTTP server; the path's
  verdict is then remembered and reused (the bench checks that no further download happened
  and that every timed check but the first reused the verdict).

The ``verify_chain cache hit`` row is the floor (``extra_info["floor"]``): the report gives
``engine.check``'s cost in multiples of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import certpolicy as cp
from certpolicy.checks import chain_cache_info
from conftest import HOST, certifi_pems

import crl_pki as c
from crl_server import CrlSite, crl_site
from pki import make_root, new_key


@dataclass
class EngineSetup:
    kind: str
    chain: list[bytes]
    store: cp.TrustStore
    plain: cp.Engine  # chain + hostname
    revoking: cp.Engine  # chain + hostname + CRL revocation
    site: CrlSite


@pytest.fixture(scope="module")
def site() -> Iterator[CrlSite]:
    with crl_site() as running:
        yield running


@pytest.fixture(scope="module", params=["ec", "rsa"])
def engine_setup(
    request: pytest.FixtureRequest,
    site: CrlSite,
    extra_roots: list[bytes],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EngineSetup]:
    kind = request.param
    root = make_root(f"bench engine root {kind}", key_kind=kind)
    intermediate = c.issue_ca_with_crl(
        root,
        f"bench engine intermediate {kind}",
        [site.url(f"/{kind}-root.crl")],
        key=new_key(kind),
    )
    leaf = intermediate.issue_leaf([HOST], key_kind=kind, crl_urls=[site.url(f"/{kind}-int.crl")])
    site.crls[f"/{kind}-root.crl"] = c.make_crl(root)
    site.crls[f"/{kind}-int.crl"] = c.make_crl(intermediate)
    store = cp.TrustStore()
    for pem in [*certifi_pems(), *extra_roots, root.pem]:
        store.add_pem(pem)
    plain = cp.Engine(cp.PolicySet([cp.Policy("Web", "internet", check_revocation=False)]), store)
    revocation = cp.RevocationConfig(
        method="crl", cache_dir=tmp_path_factory.mktemp(f"engine-{kind}"), timeout=2.0
    )
    revoking = cp.Engine(cp.PolicySet([cp.Policy("Web", "internet")]), store, revocation)
    try:
        yield EngineSetup(kind, [leaf.der, intermediate.der], store, plain, revoking, site)
    finally:
        plain.close()
        revoking.close()


def test_engine_check_warm(benchmark: Any, engine_setup: EngineSetup) -> None:
    benchmark.group = f"engine-check-warm-{engine_setup.kind}"
    benchmark.extra_info.update(impl="engine.check", ours=True, roots=len(engine_setup.store))
    engine, chain = engine_setup.plain, engine_setup.chain
    assert engine.check(chain, HOST).ok  # the verified-chain cache now holds the chain
    before = chain_cache_info()
    report = benchmark(engine.check, chain, HOST)
    assert report.ok
    assert report.result("revocation").code == "skipped.policy"
    assert chain_cache_info().misses == before.misses, "every check must be a cache hit"


def test_engine_check_warm_crl(benchmark: Any, engine_setup: EngineSetup) -> None:
    benchmark.group = f"engine-check-warm-crl-{engine_setup.kind}"
    benchmark.extra_info.update(impl="engine.check", ours=True, roots=len(engine_setup.store))
    engine, chain, site = engine_setup.revoking, engine_setup.chain, engine_setup.site
    first = engine.check(chain, HOST)  # downloads both CRLs once
    assert first.result("revocation").status == "passed", first.to_dict()
    downloads = sum(site.requests.values())
    before = engine.stats()
    report = benchmark(engine.check, chain, HOST)
    after = engine.stats()
    assert report.result("revocation").status == "passed"
    assert sum(site.requests.values()) == downloads, "every check must use the cached CRLs"
    # The first check downloaded the CRLs, so its verdict was not remembered; the first timed
    # check remembers it and every later one must be decided in Rust with it.
    checks = after["checks"] - before["checks"]
    reused = after["revocation"]["reused_verdicts"] - before["revocation"]["reused_verdicts"]
    assert reused >= checks - 1, f"only {reused} of {checks} timed checks reused the verdict"
    benchmark.extra_info.update(checks=checks, reused_verdicts=reused)


@pytest.mark.parametrize("revocation", ["", "crl-"])
def test_verify_chain_cache_hit(benchmark: Any, engine_setup: EngineSetup, revocation: str) -> None:
    benchmark.group = f"engine-check-warm-{revocation}{engine_setup.kind}"
    benchmark.extra_info.update(impl="verify_chain cache hit", floor=True)
    chain, store = engine_setup.chain, engine_setup.store
    cp.verify_chain(chain, store)
    before = chain_cache_info()
    benchmark(cp.verify_chain, chain, store)
    assert chain_cache_info().misses == before.misses, "every call must be a hit"
