"""Policy and PolicySet: validation, selection semantics, defaults, records, logging."""

from __future__ import annotations

import ipaddress
import logging

import pytest

import certpolicy as cp
from certpolicy.policy import BUILTIN_INTERNET, INTRANET_RANGES


def test_policy_fields_and_defaults() -> None:
    p = cp.Policy("Lab", "override", hosts=["lab.example"], ip_ranges=["10.0.0.0/8"])
    assert (p.name, p.kind, p.check_chain, p.check_hostname, p.check_revocation) == (
        "Lab",
        "override",
        True,
        True,
        True,
    )
    assert p.hosts == ("lab.example",)
    assert p.ip_ranges == ("10.0.0.0/8",)
    assert (p.active, p.order, p.allow_common_name) == (True, 100, False)
    assert p.checks == {"chain": True, "hostname": True, "revocation": True}
    with pytest.raises(TypeError):
        cp.Policy("x", "override", True)  # type: ignore[misc]  # flags are keyword-only


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"kind": "extranet"}, "unknown kind 'extranet'"),
        ({"hosts": ["a*.example.com"]}, "a*.example.com"),
        ({"hosts": ["exa mple.com"]}, "exa mple.com"),
        ({"hosts": ["host:70000"]}, "70000"),
        ({"ip_ranges": ["10.0.0.1/8"]}, "10.0.0.1/8"),
        ({"ip_ranges": ["10.0.0.9-10.0.0.1"]}, "10.0.0.9-10.0.0.1"),
        ({"ip_ranges": ["10.0.0.0/255.0.255.0"]}, "not contiguous"),
        ({"ip_ranges": ["banana"]}, "banana"),
        ({"order": "1"}, "order must be an integer"),
        ({"check_chain": "yes"}, "check_chain"),
        ({"hosts": [1]}, "not a string"),
    ],
)
def test_policy_validation_names_the_value(kwargs: dict[str, object], needle: str) -> None:
    args = {"name": "P", "kind": "override", **kwargs}
    with pytest.raises(cp.PolicyError, match=None) as info:
        cp.Policy(**args)  # type: ignore[arg-type]
    assert needle in str(info.value)


def test_internet_policy_takes_no_patterns() -> None:
    with pytest.raises(cp.PolicyError, match="matches every host"):
        cp.Policy("Web", "internet", hosts=["a.example"])


def test_empty_name() -> None:
    with pytest.raises(cp.PolicyError):
        cp.Policy(" ", "override")


def test_duplicate_names_in_a_set() -> None:
    with pytest.raises(cp.PolicyError, match='duplicate policy name "A"'):
        cp.PolicySet([cp.Policy("A", "override"), cp.Policy("A", "intranet")])


def test_defaults_fresh_install_and_upgrade() -> None:
    fresh = cp.PolicySet.defaults()
    assert [p.kind for p in fresh] == ["instance", "intranet", "internet"]
    assert fresh["Instance"].hosts == ("*.service-now.com", "*.servicenow.com")
    assert fresh["Intranet"].ip_ranges == INTRANET_RANGES
    assert all(all(p.checks.values()) for p in fresh)
    upgrade = cp.PolicySet.defaults(fresh_install=False, instance_hosts=["*.corp.example"])
    assert upgrade["Intranet"].checks == {"chain": False, "hostname": False, "revocation": False}
    assert upgrade["Instance"].hosts == ("*.corp.example",)
    assert all(upgrade["Internet"].checks.values())


@pytest.mark.parametrize(
    ("host", "ip", "expected"),
    [
        ("acme.service-now.com", None, "Instance"),
        ("ACME.Service-Now.COM.", None, "Instance"),
        ("service-now.com", None, "Internet"),
        ("deep.a.servicenow.com", "8.8.8.8", "Instance"),
        ("example.org", None, "Internet"),
        ("example.org", "10.20.30.40", "Intranet"),
        ("example.org", "172.31.255.255", "Intranet"),
        ("example.org", "172.32.0.0", "Internet"),
        ("example.org", "100.64.0.1", "Intranet"),
        ("10.1.2.3", None, "Intranet"),
        ("127.0.0.1", None, "Intranet"),
        ("::1", None, "Intranet"),
        ("[::1]", None, "Intranet"),
        ("0:0:0:0:0:0:0:1", None, "Intranet"),
        ("FE80::1", None, "Intranet"),
        ("fe80::1%eth0", None, "Intranet"),
        ("::ffff:192.168.1.1", None, "Intranet"),
        ("8.8.8.8", None, "Internet"),
        ("2001:db8::1", None, "Internet"),
        ("a.service-now.com", "10.0.0.1", "Instance"),
    ],
)
def test_default_selection(host: str, ip: str | None, expected: str) -> None:
    assert cp.PolicySet.defaults().select(host, ip).name == expected


def test_ip_objects_are_accepted() -> None:
    ps = cp.PolicySet.defaults()
    assert ps.select("h.example", ipaddress.ip_address("10.0.0.1")).name == "Intranet"
    assert ps.select("h.example", ipaddress.ip_address("fc00::5")).name == "Intranet"
    with pytest.raises(cp.PolicyError, match="not an IP address"):
        ps.select("h.example", "10.0.0.999")


def test_invalid_host_is_a_policy_error() -> None:
    with pytest.raises(cp.PolicyError, match="not a valid hostname"):
        cp.PolicySet.defaults().select("a..b")


def _set() -> cp.PolicySet:
    return cp.PolicySet(
        [
            cp.Policy(
                "Wide", "override", hosts=["*.corp.example"], ip_ranges=["10.0.0.0/8"], order=1
            ),
            cp.Policy(
                "Narrow",
                "override",
                hosts=["*.lab.corp.example"],
                ip_ranges=["10.1.0.0/16"],
                order=50,
            ),
            cp.Policy("Exact", "override", hosts=["db.lab.corp.example"], order=99),
            cp.Policy("Port", "override", hosts=["db.lab.corp.example:5443"], order=99),
            cp.Policy("Off", "override", hosts=["off.corp.example"], active=False),
            *cp.PolicySet.defaults().policies,
        ]
    )


@pytest.mark.parametrize(
    ("host", "ip", "port", "expected"),
    [
        ("db.lab.corp.example", None, 443, "Exact"),
        ("db.lab.corp.example", None, 5443, "Port"),
        ("web.lab.corp.example", None, None, "Narrow"),
        ("web.eng.corp.example", None, None, "Wide"),
        ("x.y.z.corp.example", None, None, "Wide"),
        ("corp.example", None, None, "Internet"),
        ("other.example", "10.1.9.9", None, "Narrow"),
        ("other.example", "10.2.9.9", None, "Wide"),
        ("other.example", "192.168.0.1", None, "Intranet"),
        ("web.eng.corp.example", "10.1.9.9", None, "Wide"),
        ("off.corp.example", None, None, "Wide"),
    ],
)
def test_specificity_precedence_and_ports(
    host: str, ip: str | None, port: int | None, expected: str
) -> None:
    assert _set().select(host, ip, port).name == expected


def test_order_then_name_break_ties() -> None:
    ps = cp.PolicySet(
        [
            cp.Policy("b", "override", hosts=["h.example"], order=5),
            cp.Policy("a", "override", hosts=["h.example"], order=5),
            cp.Policy("c", "override", hosts=["h.example"], order=9),
        ]
    )
    assert ps.select("h.example").name == "a"
    ps = cp.PolicySet(
        [
            cp.Policy("b", "override", hosts=["h.example"], order=5),
            cp.Policy("z", "override", hosts=["h.example"], order=1),
        ]
    )
    assert ps.select("h.example").name == "z"


def test_no_active_internet_policy_falls_back_to_all_checks_on() -> None:
    ps = cp.PolicySet([cp.Policy("Web", "internet", check_chain=False, active=False)])
    chosen = ps.select("example.org")
    assert chosen is BUILTIN_INTERNET
    assert all(chosen.checks.values())


def test_idna_host_patterns() -> None:
    ps = cp.PolicySet([cp.Policy("DE", "override", hosts=["*.bücher.example"])])
    assert ps.select("shop.xn--bcher-kva.example").name == "DE"
    assert ps.select("shop.BÜCHER.example").name == "DE"


def test_url_patterns() -> None:
    ps = cp.PolicySet([cp.Policy("U", "override", hosts=["https://svc.example:8443/api"])])
    assert ps.select("svc.example", port=8443).name == "U"
    assert ps.select("svc.example", port=443).kind == "internet"


def test_ip_literal_in_hosts_matches_as_address() -> None:
    ps = cp.PolicySet([cp.Policy("One", "override", hosts=["192.0.2.10"])])
    assert ps.select("192.0.2.10").name == "One"
    assert ps.select("h.example", "192.0.2.10").name == "One"
    assert ps.select("h.example").kind == "internet"


def test_explain_gives_reasons() -> None:
    ps = _set()
    assert "matches 'db.lab.corp.example'" in ps.explain("db.lab.corp.example").reason
    assert "below '*.lab.corp.example'" in ps.explain("w.lab.corp.example").reason
    assert "10.1.2.3 is in '10.1.0.0/16'" in ps.explain("h.example", "10.1.2.3").reason
    assert ps.explain("h.example").reason == "no other policy matches"


def test_selection_logs_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="certpolicy"):
        cp.PolicySet.defaults().select("acme.service-now.com", "10.0.0.1", 443)
    record = caplog.records[-1]
    assert record.levelno == logging.DEBUG
    assert "calculating security policy" in record.getMessage()
    assert record.policy == "Instance"  # type: ignore[attr-defined]
    assert record.host == "acme.service-now.com"  # type: ignore[attr-defined]
    assert record.ip == "10.0.0.1"  # type: ignore[attr-defined]


def test_from_records_parses_strings() -> None:
    rows = [
        {
            "name": "Corp",
            "type": "override",
            "active": "true",
            "check_cert_chain": "false",
            "check_cert_hostname": "true",
            "check_cert_revocation": "false",
            "hosts": "a.example.com, *.corp.example",
            "ip_ranges": "10.0.0.0/8,192.168.1.0/24",
            "order": "50",
        },
        {"name": "Web", "type": "internet", "active": "true", "order": "100"},
    ]
    ps = cp.PolicySet.from_records(rows)
    corp = ps["Corp"]
    assert corp.checks == {"chain": False, "hostname": True, "revocation": False}
    assert corp.hosts == ("a.example.com", "*.corp.example")
    assert corp.ip_ranges == ("10.0.0.0/8", "192.168.1.0/24")
    assert corp.order == 50
    assert ps.select("x.corp.example").name == "Corp"


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ({"name": "X", "type": "override", "active": "maybe"}, "active is 'maybe'"),
        ({"name": "X", "type": "override", "order": "first"}, "order is 'first'"),
        ({"name": "X", "type": "bogus"}, "type 'bogus' is not a policy type"),
        ({"type": "override"}, "missing name"),
        ({"name": "X", "type": "override", "ip_ranges": "300.0.0.0/8"}, "300.0.0.0/8"),
    ],
)
def test_bad_records(row: dict[str, str], needle: str) -> None:
    with pytest.raises(cp.PolicyError) as info:
        cp.PolicySet.from_records([row])
    assert needle in str(info.value)
    assert "row 0" in str(info.value)


def test_dict_round_trip() -> None:
    for policy in _set():
        assert cp.Policy.from_dict(policy.to_dict()) == policy
    with pytest.raises(cp.PolicyError, match="unknown field"):
        cp.Policy.from_dict({"name": "x", "kind": "override", "colour": "red"})


def test_set_is_a_container() -> None:
    ps = _set()
    assert len(ps) == 8
    assert ps["Exact"].name == "Exact"
    with pytest.raises(KeyError):
        ps["nope"]
    assert ps == _set()
    assert hash(ps) == hash(_set())


def test_blank_or_null_flags_keep_the_checks_on() -> None:
    row = {"name": "X", "type": "override", "check_cert_chain": "", "check_cert_hostname": None}
    policy = cp.PolicySet.from_records([row])["X"]
    assert policy.check_chain is True
    assert policy.check_hostname is True


def test_order_out_of_range_is_a_policy_error() -> None:
    with pytest.raises(cp.PolicyError, match="out of range"):
        cp.Policy("X", "override", order=2**63)
    with pytest.raises(cp.PolicyError, match="out of range"):
        cp.PolicySet.from_records([{"name": "X", "type": "override", "order": "9" * 20}])


def test_a_proxy_address_cannot_weaken_an_ip_literal_host() -> None:
    """http.client, urllib3 and httpx pass an IP-literal URL host as the server name; the
    peer (perhaps a proxy in an intranet range) must not lower its checks either."""
    ps = cp.PolicySet.defaults(fresh_install=False)  # upgrade: intranet checks off
    for host in ("93.184.216.34", "2001:db8::1"):
        chosen = ps.select_connection(host, "10.0.0.5", 443)
        assert chosen.policy.name == "Internet"
        assert chosen.ip_set_aside == "10.0.0.5"
        assert ps.select_connection(host, "10.0.0.5", 443, trust_peer_ip=True).policy.name == (
            "Intranet"
        )
    # An IP-literal host in an intranet range is selected by its own address.
    assert ps.select_connection("10.1.2.3", "10.1.2.3").policy.name == "Intranet"
