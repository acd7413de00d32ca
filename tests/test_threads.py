"""Threads: heavy verification runs without the GIL, and many threads sharing one Engine and
TrustStore get consistent answers while the store changes under them."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

import certpolicy as cp
from certpolicy.checks import (
    chain_cache_info,
    clear_chain_cache,
    set_chain_cache_size,
    verify_chains,
)

from pki import END, Pki, make_pki, make_root

WORKERS = 8
ROUNDS = 25


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    capacity = chain_cache_info().capacity
    clear_chain_cache()
    yield
    set_chain_cache_size(capacity)


def test_the_gil_is_released_while_a_batch_verifies() -> None:
    """While another thread is inside one verify_chains call, this thread runs Python code
    and sees the batch half done: only possible if the call released the GIL."""
    pki = make_pki(["gil.example"])
    store = cp.TrustStore()
    store.add_der(pki.root.der)
    batch = [
        [pki.intermediate.issue_leaf(["gil.example"]).der, pki.intermediate.der] for _ in range(400)
    ]
    start_misses = chain_cache_info().misses
    entered = threading.Event()
    outcome: list[list[list[bytes] | cp.CertPolicyError]] = []

    def verify() -> None:
        entered.set()
        outcome.append(verify_chains(batch, store))

    worker = threading.Thread(target=verify)
    worker.start()
    entered.wait(timeout=30)
    partial: list[int] = []
    while worker.is_alive():
        done = chain_cache_info().misses - start_misses
        if 0 < done < len(batch):
            partial.append(done)
    worker.join(timeout=60)
    assert len(outcome) == 1
    assert all(isinstance(r, list) for r in outcome[0])
    assert partial, "no progress was observed from outside the call: was the GIL held?"


@dataclass(frozen=True)
class Case:
    chain: list[bytes]
    host: str
    at: dt.datetime | None
    expected: tuple[tuple[str, str], ...] | None  # None: depends on the late root


PASSED = (("chain", "passed"), ("hostname", "passed"), ("revocation", "skipped"))


def _cases(a: Pki, b: Pki, late: Pki) -> list[Case]:
    after_expiry = END + dt.timedelta(days=1)
    return [
        Case(a.chain, "a.example", None, PASSED),
        Case(b.chain, "b.example", None, PASSED),
        Case(
            a.chain,
            "wrong.example",
            None,
            (("chain", "passed"), ("hostname", "failed"), ("revocation", "skipped")),
        ),
        Case(
            a.chain,
            "a.example",
            after_expiry,
            (("chain", "failed"), ("hostname", "passed"), ("revocation", "skipped")),
        ),
        Case([a.leaf.der], "a.example", None, (("chain", "failed"), *PASSED[1:])),
        Case(late.chain, "late.example", None, None),
    ]


def test_many_threads_share_an_engine_while_the_store_changes() -> None:
    a, b, late = make_pki(["a.example"]), make_pki(["b.example"]), make_pki(["late.example"])
    store = cp.TrustStore()
    store.add_der(a.root.der)
    store.add_der(b.root.der)
    policy = cp.Policy("Web", "internet", check_revocation=False)
    engine = cp.Engine(cp.PolicySet([policy]), store)
    cases = _cases(a, b, late)
    unrelated_roots = [make_root(f"unrelated {i}").der for i in range(60)]

    start = threading.Barrier(WORKERS + 1)
    workers_done = threading.Event()
    adding_late_root = threading.Event()
    late_root_added = threading.Event()
    additions_while_running: list[int] = []

    def mutate() -> None:
        start.wait(timeout=30)
        for index, der in enumerate(unrelated_roots):
            if workers_done.is_set():
                break
            if index == len(unrelated_roots) // 4:
                adding_late_root.set()
                store.add_der(late.root.der)
                late_root_added.set()
            store.add_der(der)
            if not workers_done.is_set():
                additions_while_running.append(index)

    def work(seed: int) -> list[str]:
        problems = []
        rng = random.Random(seed)
        start.wait(timeout=30)
        for _ in range(ROUNDS):
            for case in rng.sample(cases, len(cases)):
                trusted_before = late_root_added.is_set()
                if rng.random() < 0.2:
                    (result,) = verify_chains([case.chain], store, at=case.at)
                    got = (("chain", "passed" if isinstance(result, list) else "failed"),)
                    want = None if case.expected is None else case.expected[:1]
                else:
                    report = engine.check(case.chain, case.host, at=case.at)
                    got = tuple((r.name, r.status) for r in report.results)
                    want = case.expected
                trusted_after = adding_late_root.is_set()
                if want is None:  # the late chain: fails before its root, passes after
                    if trusted_before and got[0] != ("chain", "passed"):
                        problems.append(f"late chain rejected after its root was added: {got}")
                    if not trusted_after and got[0] != ("chain", "failed"):
                        problems.append(f"late chain accepted before its root was added: {got}")
                elif got != want:
                    problems.append(f"{case.host} at {case.at}: got {got}, expected {want}")
        return problems

    with ThreadPoolExecutor(max_workers=WORKERS + 1) as pool:
        mutator = pool.submit(mutate)
        futures = [pool.submit(work, seed) for seed in range(WORKERS)]
        problems = [problem for future in futures for problem in future.result(timeout=240)]
        workers_done.set()
        mutator.result(timeout=60)

    assert problems == []
    assert late_root_added.is_set(), "the store never changed during the run"
    assert additions_while_running, "no store change overlapped the checks"
    info = chain_cache_info()
    assert info.hits > 0
    assert info.misses > 0
    # After the run every answer is still right, from the cache or not.
    assert engine.check(late.chain, "late.example").ok
    assert not engine.check(a.chain, "wrong.example").ok


def test_threads_agree_with_a_single_thread() -> None:
    pkis = [make_pki([f"h{i}.example"]) for i in range(4)]
    store = cp.TrustStore()
    for pki in pkis[:3]:  # the last one is untrusted
        store.add_der(pki.root.der)
    chains = [pki.chain for pki in pkis] * 10
    random.Random(3).shuffle(chains)
    expected = [_summary(result) for result in verify_chains(chains, store)]

    def batch() -> list[str]:
        return [_summary(result) for result in verify_chains(chains, store)]

    def calls() -> list[str]:
        out = []
        for chain in chains:
            try:
                out.append(_summary(cp.verify_chain(chain, store)))
            except cp.ChainError as exc:
                out.append(_summary(exc))
        return out

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(batch if i % 2 else calls) for i in range(WORKERS * 3)]
        for future in futures:
            assert future.result(timeout=120) == expected


def _summary(result: list[bytes] | cp.CertPolicyError) -> str:
    if isinstance(result, list):
        return f"path of {len(result)} ending {result[-1][-8:].hex()}"
    return f"{type(result).__name__}: {result}"


def test_shared_engine_during_crl_refreshes(tmp_path: object) -> None:
    """Many threads check through one Engine (chain, hostname and CRL revocation for the leaf
    and the intermediate) while the CRL server publishes new CRLs and the engine's CRL
    method refreshes them in the background. Every answer is a definitive, consistent one:
    good until the revoking CRL arrives, revoked after it in every thread, never an error."""
    import time
    from pathlib import Path

    import crl_pki
    from crl_server import crl_site

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # Past the midpoint of their validity, so refreshes fall due at the minimum interval.
    late = {"this_update": now - dt.timedelta(days=2), "next_update": now + dt.timedelta(hours=1)}
    with crl_site() as site:
        root = make_root("stress root")
        intermediate = crl_pki.issue_ca_with_crl(root, "stress intermediate", [site.url("/r.crl")])
        leaf = intermediate.issue_leaf(["stress.example"], crl_urls=[site.url("/i.crl")])
        site.crls["/r.crl"] = crl_pki.make_crl(root, [], number=1, **late)
        site.crls["/i.crl"] = crl_pki.make_crl(intermediate, [], number=1, **late)
        trust = cp.TrustStore()
        trust.add_der(root.der)
        revocation = cp.RevocationConfig(
            method="crl",
            cache_dir=Path(str(tmp_path)),
            timeout=2.0,
            retry=cp.Retry(attempts=2, backoff=0.01, max_backoff=0.05),
            crl_refresh_margin=30 * 86400.0,
            crl_min_refresh_interval=0.1,
        )
        engine = cp.Engine(cp.PolicySet([cp.Policy("Web", "internet")]), trust, revocation)
        chain = [leaf.der, intermediate.der]
        assert engine.check(chain, "stress.example").ok
        stop = threading.Event()
        seen: list[list[str]] = [[] for _ in range(WORKERS)]
        failures: list[BaseException] = []

        def run(out: list[str]) -> None:
            try:
                while not stop.is_set():
                    report = engine.check(chain, "stress.example")
                    assert report.result("chain").status == "passed"
                    assert report.result("hostname").status == "passed"
                    out.append(report.result("revocation").status)
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=run, args=(out,)) for out in seen]
        for thread in threads:
            thread.start()
        try:
            deadline = time.monotonic() + 30
            # Unchanged CRLs first (304s and newer numbers with the same content) ...
            for number in (2, 3):
                site.crls["/i.crl"] = crl_pki.make_crl(intermediate, [], number=number, **late)
                before = site.count("/i.crl")
                while site.count("/i.crl") < before + 2:
                    assert time.monotonic() < deadline, "refreshes did not happen"
                    time.sleep(0.02)
            # ... then the leaf is revoked: every thread must come to see it.
            revoked = crl_pki.Entry(leaf.cert.serial_number, now - dt.timedelta(hours=1), None)
            site.crls["/i.crl"] = crl_pki.make_crl(intermediate, [revoked], number=4, **late)
            while not all("failed" in out for out in seen):
                assert time.monotonic() < deadline, "not every thread saw the revocation"
                assert not failures, failures
                time.sleep(0.02)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            engine.close()
    assert not failures, failures
    for out in seen:
        assert set(out) <= {"passed", "failed"}, set(out)
        first = out.index("failed")
        # The refresh swaps the index atomically and #4 is never replaced by an older CRL.
        assert all(status == "failed" for status in out[first:])
        assert out[:first], "each thread answered before the revocation too"
