"""Property test: the compiled Rust matcher against a slow, obviously-correct Python reference
(loops over every policy with :mod:`ipaddress`), on random rule sets and connections."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

import certpolicy as cp
from certpolicy.policy import BUILTIN_INTERNET

KIND_RANK = {"override": 0, "instance": 1, "intranet": 2}
LABELS = ["a", "b", "c", "example"]
PORTS = [None, 443, 8443]
EXAMPLES = 1500


@dataclass(frozen=True)
class Conn:
    host: str
    ip: str | None
    port: int | None


def _network_contains(
    text: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> tuple[bool, int]:
    if "-" in text:
        first, last = (ipaddress.ip_address(part) for part in text.split("-"))
        inside = first.version == address.version and first <= address <= last
        return inside, int(last) - int(first)
    network = ipaddress.ip_network(text)
    inside = network.version == address.version and address in network
    return inside, network.num_addresses - 1


def reference(policies: list[cp.Policy], conn: Conn) -> cp.Policy:
    host = conn.host.lower().rstrip(".")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    address = ipaddress.ip_address(conn.ip) if conn.ip else literal
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    candidates = []
    for policy in policies:
        if not policy.active or policy.kind == "internet":
            continue
        base = (KIND_RANK[policy.kind],)
        tail = (policy.order, policy.name)
        for pattern in policy.hosts:
            name, _, port_text = pattern.partition(":")
            port = int(port_text) if port_text else None
            if port is not None and port != conn.port:
                continue
            port_rank = 0 if port is not None else 1
            if literal is not None:
                continue
            if name.startswith("*."):
                suffix = name[2:]
                if host.endswith("." + suffix):
                    candidates.append((*base, 1, -len(suffix), port_rank, *tail, policy))
            elif name == host:
                candidates.append((*base, 0, 0, port_rank, *tail, policy))
        if address is not None:
            for text in policy.ip_ranges:
                inside, span = _network_contains(text, address)
                if inside:
                    candidates.append((*base, 2, span, 1, *tail, policy))
    if candidates:
        return min(candidates, key=lambda c: c[:-1])[-1]  # type: ignore[no-any-return]
    internet = [p for p in policies if p.kind == "internet" and p.active]
    if internet:
        return min(internet, key=lambda p: (p.order, p.name))
    return BUILTIN_INTERNET


host_names = st.lists(st.sampled_from(LABELS), min_size=1, max_size=4).map(".".join)


@st.composite
def v4_ranges(draw: st.DrawFn) -> str:
    prefix = draw(st.integers(min_value=20, max_value=32))
    base = draw(st.integers(min_value=0, max_value=4095)) << 4
    network = ipaddress.ip_network((0x0A000000 + base, prefix), strict=False)
    form = draw(st.sampled_from(["cidr", "dash", "single"]))
    if form == "dash":
        first = draw(st.integers(min_value=0, max_value=0xFFFF))
        width = draw(st.integers(min_value=0, max_value=0x3FF))
        start = ipaddress.ip_address(0x0A000000 + first)
        return f"{start}-{start + width}"
    if form == "single":
        return str(network.network_address)
    return str(network)


@st.composite
def v6_ranges(draw: st.DrawFn) -> str:
    prefix = draw(st.integers(min_value=112, max_value=128))
    base = draw(st.integers(min_value=0, max_value=0xFFFF))
    return str(ipaddress.ip_network((0x20010DB8 << 96 | base, prefix), strict=False))


@st.composite
def policies(draw: st.DrawFn) -> list[cp.Policy]:
    count = draw(st.integers(min_value=0, max_value=12))
    out = []
    for index in range(count):
        kind = draw(st.sampled_from(["override", "instance", "intranet", "internet"]))
        hosts: list[str] = []
        ranges: list[str] = []
        if kind != "internet":
            for _ in range(draw(st.integers(min_value=0, max_value=3))):
                name = draw(host_names)
                if draw(st.booleans()):
                    name = "*." + name
                port = draw(st.sampled_from(PORTS))
                hosts.append(name if port is None else f"{name}:{port}")
            ranges = draw(st.lists(st.one_of(v4_ranges(), v6_ranges()), max_size=3))
        out.append(
            cp.Policy(
                f"p{index}",
                kind,  # type: ignore[arg-type]
                hosts=hosts,
                ip_ranges=ranges,
                active=draw(st.booleans()) or draw(st.booleans()),
                order=draw(st.integers(min_value=0, max_value=3)),
            )
        )
    return out


@st.composite
def connections(draw: st.DrawFn) -> Conn:
    ip = draw(
        st.one_of(
            st.none(),
            st.integers(min_value=0, max_value=0xFFFF).map(
                lambda n: str(ipaddress.ip_address(0x0A000000 + n))
            ),
            st.integers(min_value=0, max_value=0xFFFF).map(
                lambda n: str(ipaddress.ip_address(0x20010DB8 << 96 | n))
            ),
        )
    )
    host = draw(st.one_of(host_names, st.just(ip or "b.example")))
    return Conn(
        host, draw(st.one_of(st.none(), st.just(ip))) if ip else None, draw(st.sampled_from(PORTS))
    )


@settings(max_examples=EXAMPLES, deadline=None)
@given(rules=policies(), conns=st.lists(connections(), min_size=1, max_size=8))
def test_rust_matcher_agrees_with_reference(rules: list[cp.Policy], conns: list[Conn]) -> None:
    policy_set = cp.PolicySet(rules)
    for conn in conns:
        expected = reference(rules, conn)
        got = policy_set.select(conn.host, conn.ip, conn.port)
        assert got is expected, (conn, got.name, expected.name)
