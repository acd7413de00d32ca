"""The engine's decision in one call into Rust (issue 15): a connection whose every enabled
check passes from what is already known (selection, the verified-chain cache, the hostname,
the path's remembered revocation verdict) is decided by ``_core.Decider`` and its report built
when first read. These tests hold it to the full path: the same report, the same counters,
nothing decided in Rust that the full path would not pass, and a remembered verdict never
outliving its source (a CRL replaced, past its nextUpdate)."""

from __future__ import annotations

import datetime as dt
import logging
import pickle
import time
from pathlib import Path

import prometheus_client
import pytest
from hypothesis import given
from hypothesis import strategies as st

import certpolicy as cp
from certpolicy import Retry, RevocationConfig
from certpolicy._util import core
from certpolicy.checks import chain_cache_info
from certpolicy.report import Report
from certpolicy.revocation import MethodAnswer, PathAnswer, RevocationChecker

import crl_pki as c
from crl_server import CrlSite
from pki import Cert, Issuer, make_root

HOST = "decide.example"


# A loopback CRL server for the module (tests/conftest.py), emptied before each test.
pytestmark = pytest.mark.usefixtures("fresh_site")


@pytest.fixture(scope="module")
def root() -> Issuer:
    return make_root("decision test root")


def crl_pki(root: Issuer, site: CrlSite, tag: str) -> tuple[Issuer, Cert]:
    """root -> intermediate -> leaf, each with a CRL on the site (served good)."""
    intermediate = c.issue_ca_with_crl(
        root, f"decision {tag} intermediate", [site.url("/root.crl")]
    )
    leaf = intermediate.issue_leaf([HOST], crl_urls=[site.url(f"/{tag}.crl")])
    site.crls["/root.crl"] = c.make_crl(root)
    site.crls[f"/{tag}.crl"] = c.make_crl(intermediate)
    return intermediate, leaf


def store_of(root: Issuer) -> cp.TrustStore:
    store = cp.TrustStore()
    store.add_pem(root.pem)
    return store


def revocation(tmp_path: Path) -> RevocationConfig:
    return RevocationConfig(
        method="crl",
        cache_dir=tmp_path,
        timeout=2.0,
        retry=Retry(attempts=1, backoff=0.01, max_backoff=0.02),
    )


def deferred(report: Report) -> bool:
    """True when the report was decided in Rust and is not built yet."""
    return type(report._state) is tuple


POLICIES = [
    cp.Policy("Web", "internet"),
    cp.Policy("Web", "internet", check_revocation=False),
    cp.Policy("Web", "internet", check_revocation=False, check_hostname=False),
    cp.Policy("Web", "internet", check_chain=False, check_revocation=False),
    cp.Policy("Web", "internet", check_chain=False, check_hostname=False, check_revocation=False),
    cp.Policy("Web", "internet", mode="audit"),
    cp.Policy("Web", "internet", allow_common_name=True, check_revocation=False),
]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: repr(p.checks) + p.mode)
def test_the_report_decided_in_rust_is_the_full_paths(
    policy: cp.Policy, root: Issuer, site: CrlSite, tmp_path: Path
) -> None:
    intermediate, leaf = crl_pki(root, site, "same")
    chain = [leaf.der, intermediate.der]
    with cp.Engine(cp.PolicySet([policy]), store_of(root), revocation(tmp_path)) as engine:
        first = engine.check(chain, HOST, ip="192.0.2.7", port=8443)
        assert first.ok, first.to_dict()
        # A chain never seen takes the full path; with the chain check off nothing is needed.
        assert deferred(first) is not policy.check_chain
        # The CRLs were downloaded during the first check: a cache that changes while a path
        # is checked keeps its verdict from being remembered; the second check remembers it.
        engine.check(chain, HOST, ip="192.0.2.7", port=8443)
        fast = engine.check(chain, HOST, ip="192.0.2.7", port=8443)
        assert deferred(fast), "a chain seen before, everything passing: decided in Rust"
        full = engine._decide(chain, HOST, ip="192.0.2.7", port=8443, at=None, trust_peer_ip=False)
        assert not deferred(full)
        assert fast.ok
        assert fast.enforced
        assert fast.failures == ()
        assert fast.codes == ()
        assert deferred(fast), "ok / enforced / failures need no building"
        assert fast == full
        assert hash(fast) == hash(full)
        assert repr(fast) == repr(full)
        assert fast.to_dict() == full.to_dict()
        assert fast.chain == full.chain == tuple(chain)
        assert fast.verified_path == full.verified_path
        assert not deferred(fast)
        fast.raise_for_status()
        assert pickle.loads(pickle.dumps(fast)) == full


def test_a_bytes_subclass_list_or_tuple_chain_decides_alike(root: Issuer, tmp_path: Path) -> None:
    intermediate = root.issue_ca("decision plain intermediate")
    leaf = intermediate.issue_leaf([HOST])
    policies = cp.PolicySet([cp.Policy("Web", "internet", check_revocation=False)])
    with cp.Engine(policies, store_of(root), revocation(tmp_path)) as engine:
        assert engine.check([leaf.der, intermediate.der], HOST).ok
        for chain in ([leaf.der, intermediate.der], (leaf.der, intermediate.der)):
            assert deferred(engine.check(chain, HOST))
        # bytearray and memoryview items, a generator: the full path (which copies them).
        odd: list[object] = [
            [bytearray(leaf.der), intermediate.der],
            iter([leaf.der, intermediate.der]),
        ]
        for chain in odd:
            report = engine.check(chain, HOST)  # type: ignore[arg-type]
            assert report.ok
            assert not deferred(report)
            assert report.chain == (leaf.der, intermediate.der)


def test_only_passing_connections_are_decided_in_rust(
    root: Issuer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    intermediate = root.issue_ca("decision failing intermediate")
    leaf = intermediate.issue_leaf([HOST])
    policies = cp.PolicySet([cp.Policy("Web", "internet", check_revocation=False)])
    with cp.Engine(policies, store_of(root), revocation(tmp_path)) as engine:
        chain = [leaf.der, intermediate.der]
        assert engine.check(chain, HOST).ok
        caplog.set_level(logging.WARNING, logger="certpolicy")
        for _ in range(2):
            report = engine.check(chain, "other.example")
            assert not deferred(report)
            assert report.codes == ("hostname.mismatch",)
        warnings = [r for r in caplog.records if "certificate check failed" in r.getMessage()]
        assert len(warnings) == 2, "every failure is logged, the second one too"
        with pytest.raises(cp.HostnameMismatchError):
            engine.enforce(chain, "other.example")
        stats = engine.stats()
        assert (stats["checks"], stats["passed"], stats["rejected"]) == (4, 1, 3)
        assert stats["codes"] == {"hostname.mismatch": 3}
        assert stats["policies"]["Web"]["checks"] == 4


def test_each_check_counts_once(root: Issuer, tmp_path: Path) -> None:
    intermediate = root.issue_ca("decision counting intermediate")
    leaf = intermediate.issue_leaf([HOST])
    chain = [leaf.der, intermediate.der]
    policies = cp.PolicySet([cp.Policy("Web", "internet", check_revocation=False)])
    with cp.Engine(policies, store_of(root), revocation(tmp_path)) as engine:
        before = chain_cache_info()
        assert engine.check(chain, HOST).ok  # never seen: Rust does not decide
        after_first = chain_cache_info()
        assert after_first.misses == before.misses + 1, "one miss, not one per attempt"
        assert after_first.hits == before.hits
        for _ in range(5):
            assert deferred(engine.check(chain, HOST))
        assert chain_cache_info().hits == after_first.hits + 5
        assert chain_cache_info().misses == after_first.misses
        stats = engine.stats()
        assert (stats["checks"], stats["passed"]) == (6, 6)
        assert stats["policies"] == {"Web": {"checks": 6, "passed": 6, "rejected": 0, "audited": 0}}


def test_a_set_aside_peer_address_or_debug_logging_takes_the_full_path(
    root: Issuer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    intermediate = root.issue_ca("decision proxy intermediate")
    leaf = intermediate.issue_leaf([HOST])
    chain = [leaf.der, intermediate.der]
    policies = cp.PolicySet(
        [
            cp.Policy("Lab", "intranet", ip_ranges=("10.0.0.0/8",), check_revocation=False),
            cp.Policy("Web", "internet", check_revocation=False, check_hostname=False),
        ]
    )
    with cp.Engine(policies, store_of(root), revocation(tmp_path)) as engine:
        # "Lab" (hostname on) is not weaker than "Web" (hostname off): the address counts.
        assert engine.check(chain, HOST, ip="10.1.1.1").policy.name == "Lab"
        assert deferred(engine.check(chain, HOST, ip="10.1.1.1"))
    weaker = cp.PolicySet(
        [
            cp.Policy("Lab", "intranet", ip_ranges=("10.0.0.0/8",), check_chain=False),
            cp.Policy("Web", "internet", check_revocation=False),
        ]
    )
    with cp.Engine(weaker, store_of(root), revocation(tmp_path)) as engine:
        caplog.set_level(logging.INFO, logger="certpolicy")
        for _ in range(2):
            report = engine.check(chain, HOST, ip="10.1.1.1")
            assert report.policy.name == "Web"
            assert not deferred(report)
        set_aside = [r for r in caplog.records if "set aside" in r.getMessage()]
        assert len(set_aside) == 2, "each connection through the proxy says so"
        assert deferred(engine.check(chain, HOST, ip="10.1.1.1", trust_peer_ip=True)) is False
        caplog.set_level(logging.DEBUG, logger="certpolicy")
        engine.check(chain, HOST)
        assert not deferred(engine.check(chain, HOST)), "debug logging: the full path logs"


# --- remembered revocation verdicts -------------------------------------------------------


def test_a_replaced_crl_ends_the_remembered_verdict(
    root: Issuer, site: CrlSite, tmp_path: Path
) -> None:
    intermediate, leaf = crl_pki(root, site, "replaced")
    chain = [leaf.der, intermediate.der]
    policies = cp.PolicySet([cp.Policy("Web", "internet")])
    with cp.Engine(policies, store_of(root), revocation(tmp_path)) as engine:
        assert engine.check(chain, HOST).result("revocation").status == "passed"
        engine.check(chain, HOST)  # remembers the verdict (the first one downloaded)
        assert deferred(engine.check(chain, HOST))
        crl = engine._revocation_checker.methods["crl"]
        # The leaf is revoked now; a refresh installs the new CRL.
        site.crls["/replaced.crl"] = c.make_crl(
            intermediate, [c.Entry(leaf.cert.serial_number, reason="keyCompromise")], number=2
        )
        url = site.url("/replaced.crl")
        crl._asked.add(url)  # asked since the last refresh: refreshed, not dropped
        crl._refresh_in_background(url)
        assert engine.stats()["revocation"]["reused_verdicts"] == 1
        registry = prometheus_client.CollectorRegistry()
        engine.register_metrics(registry)
        reused = registry.get_sample_value("certpolicy_revocation_verdicts_reused_total")
        assert reused == 1.0
        report = engine.check(chain, HOST)
        assert not deferred(report)
        assert report.codes == ("revocation.revoked",)
        with pytest.raises(cp.CertificateRevokedError):
            engine.enforce(chain, HOST)
        assert engine.stats()["revocation"]["reused_verdicts"] == 1


def test_a_crl_refreshed_unchanged_keeps_the_verdict(
    root: Issuer, site: CrlSite, tmp_path: Path
) -> None:
    intermediate, leaf = crl_pki(root, site, "unchanged")
    chain = [leaf.der, intermediate.der]
    policies = cp.PolicySet([cp.Policy("Web", "internet")])
    with cp.Engine(policies, store_of(root), revocation(tmp_path)) as engine:
        assert engine.check(chain, HOST).ok
        assert engine.check(chain, HOST).ok  # remembers the verdict
        crl = engine._revocation_checker.methods["crl"]
        url = site.url("/unchanged.crl")
        downloads = site.count("/unchanged.crl")
        crl._asked.add(url)
        crl._refresh_in_background(url)  # the same CRL again (a 304 or the same bytes)
        assert site.count("/unchanged.crl") == downloads + 1
        assert deferred(engine.check(chain, HOST)), "nothing changed: still reused"
        crl._refresh_in_background(url)  # used through the reuse: refreshed, unchanged
        # Leaving memory (idle at its next refresh) changes no answer either.
        crl._refresh_in_background(url)
        assert crl.current(url) is None
        assert deferred(engine.check(chain, HOST))


def test_a_verdict_is_not_reused_past_the_crls_next_update(
    root: Issuer, site: CrlSite, tmp_path: Path
) -> None:
    intermediate, leaf = crl_pki(root, site, "short")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    site.crls["/short.crl"] = c.make_crl(intermediate, next_update=now + dt.timedelta(seconds=3))
    chain = [leaf.der, intermediate.der]
    policies = cp.PolicySet([cp.Policy("Web", "internet")])
    with cp.Engine(policies, store_of(root), revocation(tmp_path)) as engine:
        first = engine.check(chain, HOST)
        assert first.result("revocation").status == "passed"
        until = first.revocation.reusable_until() if first.revocation else None
        assert until == (now + dt.timedelta(seconds=3)).timestamp()
        engine.check(chain, HOST)  # remembers the verdict (the first one downloaded)
        assert deferred(engine.check(chain, HOST))
        site.crls["/short.crl"] = c.make_crl(
            intermediate, [c.Entry(leaf.cert.serial_number)], number=2
        )
        time.sleep(max(0.0, until - time.time()) + 1.1)
        report = engine.check(chain, HOST)
        assert not deferred(report)
        assert report.codes == ("revocation.revoked",)


def test_a_reused_verdict_keeps_its_crls_refreshed(
    root: Issuer, site: CrlSite, tmp_path: Path
) -> None:
    intermediate, leaf = crl_pki(root, site, "used")
    chain = [leaf.der, intermediate.der]
    with cp.Engine(
        cp.PolicySet([cp.Policy("Web", "internet")]), store_of(root), revocation(tmp_path)
    ) as engine:
        assert engine.check(chain, HOST).ok
        assert engine.check(chain, HOST).ok  # remembers the verdict
        crl = engine._revocation_checker.methods["crl"]
        url = site.url("/used.crl")
        crl._asked.clear()  # as after a refresh
        assert deferred(engine.check(chain, HOST))
        downloads = site.count("/used.crl")
        crl._refresh_in_background(url)
        assert site.count("/used.crl") == downloads + 1, "used through Rust: refreshed"
        assert crl.current(url) is not None
        # Not used since: it leaves memory (the disk cache keeps it).
        crl._refresh_in_background(url)
        assert crl.current(url) is None
        assert site.count("/used.crl") == downloads + 1
        # Leaving memory changes no answer: the verdict is still reused, and the reuse flags
        # the CRL again, so its next refresh reads it back.
        assert deferred(engine.check(chain, HOST))
        assert crl.usage.take(url)


def test_the_decider_reuses_a_verdict_only_of_the_current_generation(root: Issuer) -> None:
    intermediate = root.issue_ca("decision unit intermediate")
    leaf = intermediate.issue_leaf([HOST])
    chain = [leaf.der, intermediate.der]
    store = store_of(root)
    cp.verify_chain(chain, store)
    policies = cp.PolicySet([cp.Policy("Web", "internet")])
    crl_changes, ocsp_changes = core.ChangeCounter(), core.ChangeCounter()
    counters = core.CheckCounters()
    usage = core.UsageFlags()
    decider = core.Decider(store._core, counters, [crl_changes, ocsp_changes], usage)

    def decide() -> object:
        return decider.decide(policies._matcher, chain, HOST, None, 443, False)

    assert decide() is None, "no verdict remembered"
    answer = PathAnswer("good", ())
    generation = decider.revocation_generation
    assert generation == 0
    ocsp_changes.bump()
    assert not decider.remember_revocation(chain, answer, time.time() + 60, generation), (
        "a cache changed while the path was checked: not remembered"
    )
    generation = decider.revocation_generation
    assert decider.remember_revocation(
        chain, answer, time.time() + 60, generation, ["http://127.0.0.1:1/x.crl"]
    )
    assert decider.remembered()[0] == 1
    decision = decide()
    assert decision is not None
    assert decision.revocation is answer
    assert decision.revocation_state == "good"
    assert usage.take("http://127.0.0.1:1/x.crl") is True
    assert usage.take("http://127.0.0.1:1/x.crl") is False
    crl_changes.bump()
    assert decide() is None, "a CRL entered or left memory"
    assert decider.remembered()[0] == 0
    assert decider.remember_revocation(chain, answer, time.time() - 1, crl_changes.value + 1)
    assert decide() is None, "past its end"
    assert not decider.remember_revocation(
        chain, answer, float("nan"), decider.revocation_generation
    )
    decider.forget_revocation()
    assert decider.remembered() == (0, 0)
    # Without change counters (a method that is not built in) nothing is remembered.
    blind = core.Decider(store._core, counters, None)
    assert blind.revocation_generation is None
    assert not blind.remember_revocation(chain, answer, time.time() + 60, 0)
    totals = counters.snapshot()[0]
    assert totals == (1, 1, 0, 0), "the one decision made counted as passed"


@pytest.mark.parametrize(
    "args",
    [
        (12, None, 443),  # host not text
        ("\ud800.example", None, 443),  # lone surrogate
        (HOST, 7, 443),  # ip not text
        (HOST, "not an address", 443),
        (HOST, None, -1),
        (HOST, None, 2**70),
        (HOST, None, "443"),
        ("bad host name", None, 443),
    ],
)
def test_odd_inputs_are_left_to_the_full_path(root: Issuer, args: tuple[object, ...]) -> None:
    intermediate = root.issue_ca("decision odd intermediate")
    leaf = intermediate.issue_leaf([HOST])
    chain = [leaf.der, intermediate.der]
    store = store_of(root)
    cp.verify_chain(chain, store)
    policies = cp.PolicySet([cp.Policy("Web", "internet", check_revocation=False)])
    decider = core.Decider(store._core, core.CheckCounters(), [])
    host, ip, port = args
    assert decider.decide(policies._matcher, chain, host, ip, port, False) is None
    for odd_chain in ("text", b"bytes", [leaf.der, "x"], [], [b""], None):
        assert decider.decide(policies._matcher, odd_chain, HOST, None, 443, False) is None
    assert decider.decide(policies._matcher, chain, HOST, None, 443, False) is not None


def test_only_built_in_methods_have_verdicts_reused(tmp_path: Path) -> None:
    config = revocation(tmp_path)

    class Custom:
        name = "ocsp"

        def check(self, cert: bytes, issuer: bytes, *, at: dt.datetime | None) -> MethodAnswer:
            return MethodAnswer("ocsp", "good", "custom", "")

    assert RevocationChecker(config, {"ocsp": Custom()}).change_counters() is None
    assert RevocationChecker(config, {"ocsp": Custom()}).crl_usage() is None


def test_reusable_until_is_the_earliest_end_of_the_good_answers() -> None:
    soon = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    later = soon + dt.timedelta(days=1)
    good = PathAnswer(
        "good",
        (
            MethodAnswer("ocsp", "unavailable", "", "down"),
            MethodAnswer("crl", "good", "u", "", valid_until=later),
            MethodAnswer("crl", "good", "v", "", valid_until=soon, depth=1),
        ),
    )
    assert good.reusable_until() == soon.timestamp()
    endless = PathAnswer("good", (MethodAnswer("crl", "good", "u", ""),))
    assert endless.reusable_until() is None
    assert PathAnswer("revoked", good.answers).reusable_until() is None
    assert PathAnswer("good", ()).reusable_until() is None
    assert good.answers[1].about("leaf", 0).valid_until == later


# --- the selection rule, in Rust and in Python ---------------------------------------------

FLAGS = st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans())


def policy_of(name: str, kind: str, flags: tuple[bool, ...], **extra: object) -> cp.Policy:
    chain, hostname, revocation_on, common_name, audit = flags
    return cp.Policy(
        name,
        kind,  # type: ignore[arg-type]
        check_chain=chain,
        check_hostname=hostname,
        check_revocation=revocation_on,
        allow_common_name=common_name,
        mode="audit" if audit else "enforce",
        **extra,  # type: ignore[arg-type]
    )


@given(FLAGS, FLAGS)
def test_rust_sets_the_peer_address_aside_exactly_when_policy_weaker_than_says(
    lab_flags: tuple[bool, ...], web_flags: tuple[bool, ...]
) -> None:
    lab = policy_of("Lab", "intranet", lab_flags, ip_ranges=("10.0.0.0/8",))
    web = policy_of("Web", "internet", web_flags)
    selection = cp.PolicySet([lab, web]).select_connection(HOST, "10.1.1.1", 443)
    if lab.weaker_than(web):
        assert (selection.policy, selection.ip_set_aside) == (web, "10.1.1.1")
        assert "set aside" in selection.reason
        assert "'Lab'" in selection.reason
    else:
        assert (selection.policy, selection.ip_set_aside) == (lab, None)
        assert selection.reason == "address 10.1.1.1 is in '10.0.0.0/8'"
