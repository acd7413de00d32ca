"""certpolicy.metrics: the Prometheus exposition of engine.stats(), scraped from a real
prometheus_client registry (generate_latest, and over HTTP from start_http_server on
127.0.0.1) and parsed with prometheus_client's own parser; fed by a fake stats callable and by
a real Engine checking real chains against a real CRL server."""

from __future__ import annotations

import datetime as dt
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

import certpolicy as cp  # noqa: E402
from certpolicy.errors import ConfigError  # noqa: E402
from certpolicy.metrics import LATENCY_BOUNDS, METRICS, EngineCollector, register  # noqa: E402
from certpolicy.revocation._stats import LATENCY_BUCKETS  # noqa: E402

import crl_pki as c  # noqa: E402
from crl_server import CrlSite, crl_site  # noqa: E402
from pki import make_root  # noqa: E402

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

FAKE: dict[str, Any] = {
    "checks": 7,
    "passed": 3,
    "rejected": 2,
    "audited": 2,
    "policies": {
        "Internet": {"checks": 5, "passed": 3, "rejected": 2, "audited": 0},
        'Intra "net"': {"checks": 2, "passed": 0, "rejected": 0, "audited": 2},
    },
    "codes": {"chain.expired": 3, "revocation.unavailable": 1},
    "chain_cache": {"hits": 11, "misses": 4, "entries": 4, "capacity": 4096, "new_key": 1},
    "intermediates": {"fetches": 3, "failures": 1, "cache_hits": 8},
    "revocation": {
        "fetches": {
            "crl": {
                "count": 4,
                "failures": 1,
                "bytes": 2048,
                "seconds": 1.75,
                "latency_buckets": {
                    "0.05": 1,
                    "0.1": 1,
                    "0.25": 2,
                    "0.5": 2,
                    "1": 3,
                    "2.5": 4,
                    "5": 4,
                    "10": 4,
                    "+Inf": 4,
                },
            },
        },
        "cache": {"crl": {"hits": 9, "misses": 4}, "ocsp": {"hits": 1, "misses": 2}},
    },
    "something_new": {"ignored": True},
}


def samples(text: str) -> Samples:
    """Every sample of an exposition, by (name, labels)."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in found, f"duplicate sample {key}"
            found[key] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


def scrape(registry: Any) -> Samples:
    return samples(prometheus_client.generate_latest(registry).decode())


@pytest.fixture
def registry() -> Any:
    return prometheus_client.CollectorRegistry()


# --- a fake stats callable ----------------------------------------------------------------


def test_every_counter_from_a_fake_stats_callable(registry: Any) -> None:
    calls: list[int] = []

    def stats() -> Mapping[str, Any]:
        calls.append(1)
        return FAKE

    collector = register(stats, registry)
    assert isinstance(collector, EngineCollector)
    assert calls == []  # registering describes the metrics without asking for stats
    found = scrape(registry)
    assert len(calls) == 1
    for policy, counts in FAKE["policies"].items():
        for verdict, count in counts.items():
            assert value(found, f"certpolicy_{verdict}_total", policy=policy) == count
    assert value(found, "certpolicy_check_failures_total", code="chain.expired") == 3
    assert value(found, "certpolicy_check_failures_total", code="revocation.unavailable") == 1
    assert value(found, "certpolicy_revocation_fetches_total", method="crl") == 4
    assert value(found, "certpolicy_revocation_fetch_failures_total", method="crl") == 1
    assert value(found, "certpolicy_revocation_fetch_bytes_total", method="crl") == 2048
    assert value(found, "certpolicy_revocation_fetch_seconds_sum", method="crl") == 1.75
    assert value(found, "certpolicy_revocation_fetch_seconds_count", method="crl") == 4
    buckets = {
        labels: v
        for (name, labels), v in found.items()
        if name == "certpolicy_revocation_fetch_seconds_bucket" and ("method", "crl") in labels
    }
    assert {dict(labels)["le"]: v for labels, v in buckets.items()} == {
        "0.05": 1,
        "0.1": 1,
        "0.25": 2,
        "0.5": 2,
        "1.0": 3,
        "2.5": 4,
        "5.0": 4,
        "10.0": 4,
        "+Inf": 4,
    }
    assert value(found, "certpolicy_revocation_cache_hits_total", method="crl") == 9
    assert value(found, "certpolicy_revocation_cache_misses_total", method="ocsp") == 2
    assert value(found, "certpolicy_chain_cache_hits_total") == 11
    assert value(found, "certpolicy_chain_cache_misses_total") == 4
    assert value(found, "certpolicy_chain_cache_entries") == 4
    assert value(found, "certpolicy_intermediate_fetches_total") == 3
    assert value(found, "certpolicy_intermediate_fetch_failures_total") == 1
    assert value(found, "certpolicy_intermediate_cache_hits_total") == 8
    # A method the stats do not mention yet is there, at zero, with every bucket.
    assert value(found, "certpolicy_revocation_fetches_total", method="ocsp") == 0
    assert value(found, "certpolicy_revocation_fetch_seconds_bucket", method="ocsp", le="2.5") == 0
    assert value(found, "certpolicy_revocation_fetch_seconds_count", method="ocsp") == 0


def test_every_scrape_reads_the_stats_again(registry: Any) -> None:
    checks = {"n": 1}
    register(lambda: {"policies": {"Internet": {"checks": checks["n"]}}}, registry)
    assert value(scrape(registry), "certpolicy_checks_total", policy="Internet") == 1
    checks["n"] = 5
    assert value(scrape(registry), "certpolicy_checks_total", policy="Internet") == 5


def test_odd_stats_expose_what_makes_sense(registry: Any) -> None:
    odd = {
        "policies": {"A": {"checks": "3", "rejected": -2, "audited": True, "passed": 1.5}},
        "codes": ["not", "a", "mapping"],
        "revocation": {"fetches": {"crl": {"latency_buckets": {"x": 1, "nan": 2, "0.5": 1}}}},
        "chain_cache": None,
    }
    register(lambda: odd, registry)
    found = scrape(registry)
    assert value(found, "certpolicy_checks_total", policy="A") == 0
    assert value(found, "certpolicy_rejected_total", policy="A") == 0
    assert value(found, "certpolicy_audited_total", policy="A") == 0
    assert value(found, "certpolicy_passed_total", policy="A") == 1.5
    assert value(found, "certpolicy_revocation_fetch_seconds_bucket", method="crl", le="0.5") == 1
    assert ("certpolicy_chain_cache_hits_total", frozenset()) not in found
    assert not [k for k in found if k[0] == "certpolicy_check_failures_total"]


def test_every_documented_metric_is_exposed(registry: Any) -> None:
    register(lambda: FAKE, registry)
    text = prometheus_client.generate_latest(registry).decode()
    exposed = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert exposed == {name: kind for name, kind, _, _ in METRICS}
    docs = Path(__file__).resolve().parent.parent / "docs" / "monitoring.md"
    if docs.is_file():
        page = docs.read_text(encoding="utf-8")
        for name, kind, _, _ in METRICS:
            shown = f"{name}_total" if kind == "counter" else name
            assert f"| `{shown}` |" in page, f"{shown} is not in docs/monitoring.md"


def test_the_bounds_are_the_revocation_counters_bounds() -> None:
    assert LATENCY_BOUNDS == LATENCY_BUCKETS


def test_one_engine_per_registry(registry: Any) -> None:
    register(lambda: FAKE, registry)
    with pytest.raises(ConfigError, match="registry has them already"):
        register(lambda: FAKE, registry)


def test_the_default_registry() -> None:
    collector = register(lambda: FAKE)
    try:
        found = samples(prometheus_client.generate_latest().decode())
        assert value(found, "certpolicy_checks_total", policy="Internet") == 5
    finally:
        prometheus_client.REGISTRY.unregister(collector)


def test_not_a_callable() -> None:
    with pytest.raises(ConfigError):
        EngineCollector(FAKE)  # type: ignore[arg-type]


def test_without_prometheus_client_a_config_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for module in (
        "prometheus_client",
        "prometheus_client.metrics_core",
        "prometheus_client.utils",
    ):
        monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    with pytest.raises(ConfigError, match=r"pip install certpolicy\[prometheus\]"):
        register(lambda: FAKE)


# --- over HTTP ----------------------------------------------------------------------------


@pytest.fixture
def http_exporter(registry: Any) -> Iterator[tuple[Any, str]]:
    """prometheus_client's own HTTP server for ``registry``, on 127.0.0.1, a free port."""
    server, thread = prometheus_client.start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield registry, f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def scrape_http(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return samples(response.read().decode())


def test_scraped_over_http(http_exporter: tuple[Any, str]) -> None:
    registry, url = http_exporter
    register(lambda: FAKE, registry)
    found = scrape_http(url)
    assert value(found, "certpolicy_rejected_total", policy="Internet") == 2
    assert value(found, "certpolicy_audited_total", policy='Intra "net"') == 2
    assert value(found, "certpolicy_revocation_fetch_seconds_bucket", method="crl", le="1.0") == 3


# --- a real engine ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site() -> Iterator[CrlSite]:
    with crl_site() as running:
        yield running


def test_a_real_engine_checking_real_chains(
    site: CrlSite, tmp_path: Path, http_exporter: tuple[Any, str]
) -> None:
    root = make_root("metrics root")
    intermediate = c.issue_ca_with_crl(root, "metrics intermediate", [site.url("/root.crl")])
    site.crls["/root.crl"] = root_crl = c.make_crl(root, [])
    site.crls["/int.crl"] = int_crl = c.make_crl(intermediate, [])
    good = intermediate.issue_leaf(["good.example"], crl_urls=[site.url("/int.crl")])
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    expired = intermediate.issue_leaf(
        ["10.1.2.3"], not_before=past - dt.timedelta(days=30), not_after=past
    )
    trust = cp.TrustStore()
    trust.add_der(root.der)
    policies = cp.PolicySet(
        [
            cp.Policy("Internet", "internet"),
            cp.Policy(
                "Intranet",
                "intranet",
                ip_ranges=("10.0.0.0/8",),
                check_revocation=False,
                mode="audit",
            ),
        ]
    )
    config = cp.RevocationConfig(
        method="crl", cache_dir=tmp_path / "cache", timeout=5.0, retry=cp.Retry(attempts=1)
    )
    registry, url = http_exporter
    with cp.Engine(policies, trust, config) as engine:
        engine.register_metrics(registry)
        good_chain = [good.der, intermediate.der]
        assert engine.check(good_chain, "good.example").ok
        assert engine.check(good_chain, "good.example").ok  # revocation from memory
        mismatch = engine.check(good_chain, "other.example")
        assert (mismatch.ok, mismatch.enforced) == (False, True)
        audited = engine.check([expired.der, intermediate.der], "10.1.2.3")
        assert (audited.ok, audited.enforced) == (False, False)
        found = scrape_http(url)
        stats = engine.stats()

    assert value(found, "certpolicy_checks_total", policy="Internet") == 3
    assert value(found, "certpolicy_passed_total", policy="Internet") == 2
    assert value(found, "certpolicy_rejected_total", policy="Internet") == 1
    assert value(found, "certpolicy_audited_total", policy="Internet") == 0
    assert value(found, "certpolicy_checks_total", policy="Intranet") == 1
    assert value(found, "certpolicy_audited_total", policy="Intranet") == 1
    assert value(found, "certpolicy_rejected_total", policy="Intranet") == 0
    assert value(found, "certpolicy_check_failures_total", code="hostname.mismatch") == 1
    assert value(found, "certpolicy_check_failures_total", code="chain.expired") == 1
    # Two CRLs downloaded once each (the leaf's and the intermediate's); after that, memory.
    assert (site.count("/int.crl"), site.count("/root.crl")) == (1, 1)
    assert value(found, "certpolicy_revocation_fetches_total", method="crl") == 2
    assert value(found, "certpolicy_revocation_fetch_failures_total", method="crl") == 0
    assert value(found, "certpolicy_revocation_fetch_bytes_total", method="crl") == len(
        root_crl
    ) + len(int_crl)
    assert value(found, "certpolicy_revocation_fetch_seconds_count", method="crl") == 2
    assert value(found, "certpolicy_revocation_fetch_seconds_bucket", method="crl", le="+Inf") == 2
    assert value(found, "certpolicy_revocation_cache_misses_total", method="crl") == 2
    hits = value(found, "certpolicy_revocation_cache_hits_total", method="crl")
    assert hits >= 2  # the second good check at least; the mismatch's too if it ran
    assert hits == stats["revocation"]["cache"]["crl"]["hits"]
    assert value(found, "certpolicy_revocation_fetches_total", method="ocsp") == 0
    assert (stats["passed"], stats["rejected"], stats["audited"]) == (2, 1, 1)
