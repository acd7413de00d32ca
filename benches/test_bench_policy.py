"""Policy selection with 10,000 rules (hosts, wildcard suffixes, IPv4 and IPv6 ranges):
certpolicy's compiled Rust matcher vs a careful pure-Python baseline (dict lookups over name
suffixes + ``ipaddress`` + ``bisect`` over pre-flattened disjoint intervals). The baseline is
checked to give the same answers before it is timed."""

from __future__ import annotations

import bisect
import heapq
import ipaddress
import random
from typing import Any

import pytest

import certpolicy as cp

RULES = 10_000
KIND_RANK = {"override": 0, "instance": 1, "intranet": 2}


def _rules() -> list[cp.Policy]:
    rng = random.Random(2026)
    policies = []
    for i in range(RULES):
        kind = rng.choice(["override", "instance", "intranet"])
        draw = rng.random()
        hosts: list[str] = []
        ranges: list[str] = []
        if draw < 0.4:
            wildcard = "*." if rng.random() < 0.5 else ""
            hosts = [f"{wildcard}svc{i}.zone{rng.randrange(400)}.example"]
        elif draw < 0.7:
            net = ipaddress.IPv4Network((rng.getrandbits(32), rng.randrange(8, 33)), strict=False)
            ranges = [str(net)]
        else:
            net = ipaddress.IPv6Network(
                (rng.getrandbits(128), rng.randrange(16, 129)), strict=False
            )
            ranges = [str(net)]
        policies.append(
            cp.Policy(f"p{i}", kind, hosts=hosts, ip_ranges=ranges, order=rng.randrange(100))  # type: ignore[arg-type]
        )
    policies.append(cp.Policy("Internet", "internet"))
    return policies


class PythonBaseline:
    """What a careful pure-Python matcher looks like."""

    def __init__(self, policies: list[cp.Policy]) -> None:
        self.internet = next(p for p in policies if p.kind == "internet")
        self.exact: dict[str, list[tuple[Any, ...]]] = {}
        self.suffix: dict[str, list[tuple[Any, ...]]] = {}
        spans: dict[int, list[tuple[int, int, tuple[Any, ...]]]] = {4: [], 6: []}
        for p in policies:
            if p.kind == "internet":
                continue
            for host in p.hosts:
                if host.startswith("*."):
                    key = (KIND_RANK[p.kind], 1, -len(host), p.order, p.name, p)
                    self.suffix.setdefault(host[2:], []).append(key)
                else:
                    key = (KIND_RANK[p.kind], 0, 0, p.order, p.name, p)
                    self.exact.setdefault(host, []).append(key)
            for text in p.ip_ranges:
                net = ipaddress.ip_network(text)
                first, last = int(net.network_address), int(net.broadcast_address)
                key = (KIND_RANK[p.kind], 2, last - first, p.order, p.name, p)
                spans[net.version].append((first, last, key))
        self.tables = {v: self._flatten(s) for v, s in spans.items()}

    @staticmethod
    def _flatten(spans: list[tuple[int, int, tuple[Any, ...]]]) -> tuple[list[int], list[Any]]:
        points = sorted({s[0] for s in spans} | {s[1] + 1 for s in spans})
        by_start = sorted(spans, key=lambda s: s[0])
        starts, winners, heap, i = [], [], [], 0  # type: ignore[var-annotated]
        for point in points:
            while i < len(by_start) and by_start[i][0] == point:
                heapq.heappush(heap, (by_start[i][2][:5], by_start[i][1], by_start[i][2]))
                i += 1
            while heap and heap[0][1] < point:
                heapq.heappop(heap)
            starts.append(point)
            winners.append(heap[0][2] if heap else None)
        return starts, winners

    def select(self, host: str, ip: str | None) -> cp.Policy:
        name = host.lower().rstrip(".")
        best = min(self.exact.get(name, ()), default=None)
        labels = name.split(".")
        for i in range(1, len(labels)):
            found = min(self.suffix.get(".".join(labels[i:]), ()), default=None)
            if found is not None and (best is None or found[:5] < best[:5]):
                best = found
        if ip is not None:
            address = ipaddress.ip_address(ip)
            starts, winners = self.tables[address.version]
            index = bisect.bisect_right(starts, int(address)) - 1
            found = winners[index] if index >= 0 else None
            if found is not None and (best is None or found[:5] < best[:5]):
                best = found
        return best[-1] if best is not None else self.internet  # type: ignore[no-any-return]


QUERIES = [
    ("svc17.zone3.example", "10.1.2.3"),
    ("a.svc23.zone9.example", "2001:db8::1"),
    ("www.example.org", "93.184.216.34"),
    ("deep.a.b.c.example.net", None),
]


@pytest.fixture(scope="module")
def matchers() -> tuple[cp.PolicySet, PythonBaseline]:
    policies = _rules()
    ours, baseline = cp.PolicySet(policies), PythonBaseline(policies)
    rng = random.Random(7)
    probes = list(QUERIES)
    for p in rng.sample(policies, 500):
        for text in p.ip_ranges:
            net = ipaddress.ip_network(text)
            probes.append(("h.example", str(net.network_address + net.num_addresses // 2)))
        for host in p.hosts:
            probes.append((host.replace("*", "x"), None))
    for host, ip in probes:
        assert ours.select(host, ip) is baseline.select(host, ip), (host, ip)
    return ours, baseline


LABELS = dict(zip(QUERIES, ["exact+v4", "wildcard+v6", "v4-only", "no-ip"], strict=True))


@pytest.mark.parametrize("query", QUERIES, ids=list(LABELS.values()))
def test_select_certpolicy(benchmark: Any, matchers: Any, query: tuple[str, str | None]) -> None:
    benchmark.group = f"policy-select-10k-rules[{LABELS[query]}]"
    benchmark.extra_info.update(impl="certpolicy", rules=RULES)
    ours, _ = matchers
    benchmark(ours.select, *query)


@pytest.mark.parametrize("query", QUERIES, ids=["exact+v4", "wildcard+v6", "v4-only", "no-ip"])
def test_select_python_baseline(
    benchmark: Any, matchers: Any, query: tuple[str, str | None]
) -> None:
    benchmark.group = f"policy-select-10k-rules[{LABELS[query]}]"
    benchmark.extra_info.update(impl="python-bisect", peer=True, rules=RULES)
    _, baseline = matchers
    benchmark(baseline.select, *query)
