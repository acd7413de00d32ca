"""Prometheus exposition of an engine's counters (``Engine.stats()``), through
``prometheus_client`` (an optional extra: ``pip install certpolicy[prometheus]``).

:class:`EngineCollector` is a custom collector: at every scrape it calls the ``stats``
callable it was given (``engine.stats``) and turns the mapping into metric families, so the
numbers are always the engine's own and nothing is counted twice. ``Engine.register_metrics``
registers one; :func:`register` does the same for any callable returning that mapping.

The metrics (all labels are listed; counters end in ``_total`` as exposed):

========================================================  ==========  ==========================
``certpolicy_checks_total{policy}``                       counter     certificate checks
``certpolicy_passed_total{policy}``                       counter     checks nothing failed in
``certpolicy_rejected_total{policy}``                     counter     checks that rejected
``certpolicy_audited_total{policy}``                      counter     audit-mode "would reject"
``certpolicy_check_failures_total{code}``                 counter     findings by reason code
``certpolicy_revocation_fetches_total{method}``           counter     HTTP attempts (crl, ocsp)
``certpolicy_revocation_fetch_failures_total{method}``    counter     attempts without a body
``certpolicy_revocation_fetch_bytes_total{method}``       counter     body bytes received
``certpolicy_revocation_fetch_seconds{method}``           histogram   time per attempt
``certpolicy_revocation_cache_hits_total{method}``        counter     answers from a cache
``certpolicy_revocation_cache_misses_total{method}``      counter     lookups that had to fetch
``certpolicy_revocation_verdicts_reused_total``           counter     path verdicts reused
``certpolicy_chain_cache_hits_total``                     counter     verified-chain cache hits
``certpolicy_chain_cache_misses_total``                   counter     and misses (process-wide)
``certpolicy_chain_cache_entries``                        gauge       chains held (process-wide)
``certpolicy_intermediate_fetches_total``                 counter     caIssuers fetches (AIA)
``certpolicy_intermediate_fetch_failures_total``          counter     ... that gave nothing usable
``certpolicy_intermediate_cache_hits_total``              counter     ... answered from a cache
========================================================  ==========  ==========================

docs/monitoring.md describes what each one counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from certpolicy.errors import ConfigError

if TYPE_CHECKING:
    from prometheus_client.metrics_core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        Metric,
    )
    from prometheus_client.registry import CollectorRegistry

__all__ = ["LATENCY_BOUNDS", "METHODS", "METRICS", "EngineCollector", "register"]

Stats = Callable[[], Mapping[str, Any]]

# The revocation methods always exposed (zero until used), so that rates and alerts have a
# series from the start.
METHODS: Final[tuple[str, ...]] = ("crl", "ocsp")

# Every family: (name as given to prometheus_client, type, labels, help). Counter names are
# given without "_total", which prometheus_client appends.
METRICS: Final[tuple[tuple[str, str, tuple[str, ...], str], ...]] = (
    ("certpolicy_checks", "counter", ("policy",), "Certificate checks, by policy."),
    ("certpolicy_passed", "counter", ("policy",), "Checks in which nothing failed, by policy."),
    (
        "certpolicy_rejected",
        "counter",
        ("policy",),
        "Checks that rejected the connection, by policy.",
    ),
    (
        "certpolicy_audited",
        "counter",
        ("policy",),
        "Checks that failed under an audit-mode policy and let the connection through, by policy.",
    ),
    (
        "certpolicy_check_failures",
        "counter",
        ("code",),
        "Findings by reason code: failed checks, and revocation unavailable but allowed.",
    ),
    (
        "certpolicy_revocation_fetches",
        "counter",
        ("method",),
        "HTTP request attempts to CRL URLs and OCSP responders (retries count one each).",
    ),
    (
        "certpolicy_revocation_fetch_failures",
        "counter",
        ("method",),
        "Revocation fetch attempts that gave no usable body.",
    ),
    (
        "certpolicy_revocation_fetch_bytes",
        "counter",
        ("method",),
        "Response body bytes received by revocation fetches.",
    ),
    (
        "certpolicy_revocation_fetch_seconds",
        "histogram",
        ("method",),
        "Time of each revocation fetch attempt, in seconds.",
    ),
    (
        "certpolicy_revocation_cache_hits",
        "counter",
        ("method",),
        "Revocation answers served from memory or the disk cache without a fetch.",
    ),
    (
        "certpolicy_revocation_cache_misses",
        "counter",
        ("method",),
        "Revocation lookups that found nothing usable cached.",
    ),
    (
        "certpolicy_revocation_verdicts_reused",
        "counter",
        (),
        "Checks whose path's remembered revocation verdict was reused (no method was asked).",
    ),
    (
        "certpolicy_chain_cache_hits",
        "counter",
        (),
        "Verified-chain cache hits (process-wide, shared by every engine).",
    ),
    (
        "certpolicy_chain_cache_misses",
        "counter",
        (),
        "Verified-chain cache misses (process-wide, shared by every engine).",
    ),
    (
        "certpolicy_chain_cache_entries",
        "gauge",
        (),
        "Verified chains held in the cache (process-wide, shared by every engine).",
    ),
    (
        "certpolicy_intermediate_fetches",
        "counter",
        (),
        "Fetches of missing intermediates from caIssuers URLs (AIA chasing).",
    ),
    (
        "certpolicy_intermediate_fetch_failures",
        "counter",
        (),
        "Fetches of missing intermediates that gave no usable certificate.",
    ),
    (
        "certpolicy_intermediate_cache_hits",
        "counter",
        (),
        "Missing intermediates answered from the memory or disk cache without a fetch.",
    ),
)

# The latency buckets' upper bounds (seconds), as the revocation counters keep them
# (certpolicy.revocation._stats.LATENCY_BUCKETS): a method not counted yet shows them at 0.
LATENCY_BOUNDS: Final[tuple[float, ...]] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_VERDICTS: Final[tuple[str, ...]] = ("checks", "passed", "rejected", "audited")


class _Client(NamedTuple):
    """What is used of prometheus_client."""

    counter: type[CounterMetricFamily]
    gauge: type[GaugeMetricFamily]
    histogram: type[HistogramMetricFamily]
    registry: CollectorRegistry
    go_float: Callable[[float], str]


def _prometheus_client() -> _Client:
    """prometheus_client, imported when first needed (it is an optional extra)."""
    try:
        import prometheus_client
        from prometheus_client.metrics_core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )
        from prometheus_client.utils import floatToGoString
    except ImportError as exc:
        raise ConfigError(
            "Prometheus metrics need the prometheus_client package: "
            "pip install certpolicy[prometheus]"
        ) from exc
    return _Client(
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        prometheus_client.REGISTRY,
        floatToGoString,
    )


def _number(value: object) -> float:
    """A counter value from the stats: a non-negative number, anything else counts 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if value > 0 else 0.0


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class EngineCollector:
    """A ``prometheus_client`` collector of the mapping ``stats()`` returns (the shape of
    ``Engine.stats()``; unknown keys are ignored, missing ones count nothing). ``stats`` is
    called once per scrape, from the scraping thread. Raises :class:`ConfigError` when
    prometheus_client is not installed."""

    def __init__(self, stats: Stats) -> None:
        if not callable(stats):
            raise ConfigError("EngineCollector needs a callable returning the stats mapping")
        self._client = _prometheus_client()
        self._stats = stats

    def describe(self) -> Iterator[Metric]:
        """The families without samples: the registry checks names with these, without
        calling ``stats``."""
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        """The families with the current values."""
        stats = _mapping(self._stats())
        families = {family.name: family for family in self._families()}

        def family(name: str) -> Any:
            # The registered name: prometheus_client drops a counter's "_total".
            return families[name]

        totals_by_policy = _mapping(stats.get("policies"))
        for policy, counts in totals_by_policy.items():
            counted = _mapping(counts)
            for verdict in _VERDICTS:
                name = "certpolicy_checks" if verdict == "checks" else f"certpolicy_{verdict}"
                family(name).add_metric([str(policy)], _number(counted.get(verdict)))
        for code, count in _mapping(stats.get("codes")).items():
            family("certpolicy_check_failures").add_metric([str(code)], _number(count))

        revocation = _mapping(stats.get("revocation"))
        fetches, cache = _mapping(revocation.get("fetches")), _mapping(revocation.get("cache"))
        for method in (*METHODS, *(m for m in fetches if m not in METHODS)):
            counted = _mapping(fetches.get(method))
            labels = [str(method)]
            family("certpolicy_revocation_fetches").add_metric(
                labels, _number(counted.get("count"))
            )
            family("certpolicy_revocation_fetch_failures").add_metric(
                labels, _number(counted.get("failures"))
            )
            family("certpolicy_revocation_fetch_bytes").add_metric(
                labels, _number(counted.get("bytes"))
            )
            family("certpolicy_revocation_fetch_seconds").add_metric(
                labels,
                buckets=self._buckets(counted),
                sum_value=_number(counted.get("seconds")),
            )
        for method in (*METHODS, *(m for m in cache if m not in METHODS)):
            counted = _mapping(cache.get(method))
            family("certpolicy_revocation_cache_hits").add_metric(
                [str(method)], _number(counted.get("hits"))
            )
            family("certpolicy_revocation_cache_misses").add_metric(
                [str(method)], _number(counted.get("misses"))
            )
        family("certpolicy_revocation_verdicts_reused").add_metric(
            [], _number(revocation.get("reused_verdicts"))
        )
        chain_cache = _mapping(stats.get("chain_cache"))
        for key in ("hits", "misses", "entries"):
            if key in chain_cache:
                family(f"certpolicy_chain_cache_{key}").add_metric([], _number(chain_cache[key]))
        intermediates = _mapping(stats.get("intermediates"))
        for key, name in (
            ("fetches", "certpolicy_intermediate_fetches"),
            ("failures", "certpolicy_intermediate_fetch_failures"),
            ("cache_hits", "certpolicy_intermediate_cache_hits"),
        ):
            family(name).add_metric([], _number(intermediates.get(key)))
        yield from families.values()

    def _families(self) -> Iterator[Metric]:
        client = self._client
        for name, kind, labels, text in METRICS:
            if kind == "histogram":
                yield client.histogram(name, text, labels=list(labels))
            elif kind == "gauge":
                yield client.gauge(name, text, labels=list(labels))
            else:
                yield client.counter(name, text, labels=list(labels))

    def _buckets(self, counted: Mapping[str, Any]) -> list[tuple[str, float]]:
        """The cumulative buckets, sorted by bound, "+Inf" last (the attempt count when the
        stats have no "+Inf")."""
        go = self._client.go_float
        bounds: list[tuple[float, float]] = []
        infinite = _number(counted.get("count"))
        given = _mapping(counted.get("latency_buckets"))
        if not given:
            given = dict.fromkeys(map(str, LATENCY_BOUNDS), 0)
        for key, value in given.items():
            try:
                bound = float(key)
            except (TypeError, ValueError):
                continue
            if bound == float("inf"):
                infinite = _number(value)
            elif bound == bound:  # not NaN
                bounds.append((bound, _number(value)))
        bounds.sort()
        return [(go(bound), value) for bound, value in bounds] + [("+Inf", infinite)]


def register(stats: Stats, registry: CollectorRegistry | None = None) -> EngineCollector:
    """Registers an :class:`EngineCollector` of ``stats`` in ``registry`` (default:
    ``prometheus_client.REGISTRY``, which ``start_http_server`` and the other exporters serve)
    and returns it (``registry.unregister(collector)`` takes it out). Raises
    :class:`ConfigError` when prometheus_client is missing, or when the registry has these
    metrics already (another engine's: give each engine a registry of its own)."""
    collector = EngineCollector(stats)
    target = registry if registry is not None else collector._client.registry
    try:
        target.register(collector)
    except ValueError as exc:
        raise ConfigError(
            "cannot register the certpolicy metrics: the registry has them already (one "
            "engine per registry; pass registry=prometheus_client.CollectorRegistry() for "
            "another)"
        ) from exc
    return collector
