"""Instance sync against a real HTTPS server on 127.0.0.1 implementing the table API."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest

import certpolicy as cp

from pki import Pki, make_pki, make_root
from servers import Request, Response, serve

USER, PASSWORD = "mid_user", "pa:ss&word"
TABLE = "/api/now/table/mid_cert_check_policy?sysparm_query=active=true"

ROWS = [
    {
        "name": "Instance",
        "type": "instance",
        "active": "true",
        "check_cert_chain": "true",
        "check_cert_hostname": "false",
        "check_cert_revocation": "false",
        "hosts": "127.0.0.1,*.service-now.com",
        "order": "100",
    },
    {
        "name": "Lab",
        "type": "override",
        "active": "true",
        "check_cert_chain": "false",
        "check_cert_hostname": "false",
        "check_cert_revocation": "false",
        "hosts": "*.lab.example",
        "ip_ranges": "10.99.0.0/16",
        "order": "10",
    },
    {"name": "Internet", "type": "internet", "active": "true", "order": "100"},
]


def table_api(mode: str) -> object:
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def handle(request: Request) -> Response:
        if request.path != TABLE:
            return Response(404, b'{"error": "not found"}')
        if request.headers.get("Authorization") != expected or mode == "401":
            return Response(401, b'{"error": "User Not Authenticated"}')
        if mode == "500":
            return Response(500, b"oops")
        if mode == "timeout":
            return Response(200, b"{}", delay=3.0)
        if mode == "malformed":
            return Response(200, b'{"result": [')
        if mode == "not-a-list":
            return Response(200, b'{"result": {"name": "x"}}')
        if mode == "bad-rows":
            rows = [*ROWS, {"name": "Broken", "type": "override", "ip_ranges": "10.0.0.1/8"}]
            return Response(200, json.dumps({"result": rows}).encode())
        if mode == "all-bad":
            rows = [{"name": "Broken", "type": "override", "ip_ranges": "10.0.0.1/8"}]
            return Response(200, json.dumps({"result": rows}).encode())
        if mode == "no-instance":
            return Response(200, json.dumps({"result": ROWS[1:]}).encode())
        return Response(
            200, json.dumps({"result": ROWS}).encode(), {"Content-Type": "application/json"}
        )

    return handle


@pytest.fixture(scope="module")
def server_pki() -> Pki:
    return make_pki(["localhost", "127.0.0.1"])


def write_config(
    path: Path, url: str, *, use_instance: bool = True, revocation: bool = False
) -> Path:
    use, revoke = str(use_instance).lower(), str(revocation).lower()
    path.write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<parameters>
    <!-- test agent -->
    <parameter name="url" value="{url}"/>
    <parameter name="mid.instance.username" value="{USER}"/>
    <parameter name="mid.instance.password" value="pa:ss&amp;word"/>
    <parameter name="mid.ssl.use.instance.security.policy" value="{use}"/>
    <parameter name="mid.ssl.bootstrap.default.check_cert_revocation" value="{revoke}"/>
    <parameter name="mid.ssl.bootstrap.default.check_cert_hostname" value="true"/>
    <parameter name="mid.ssl.bootstrap.default.check_cert_chain" value="true"/>
</parameters>
"""
    )
    return path


def engine_for(config: Path, root_pem: bytes) -> cp.Engine:
    base = cp.Engine.from_config(config)
    trust = cp.TrustStore()
    trust.add_pem(root_pem)
    return cp.Engine(base.policies, trust, config=base.config)


def test_successful_sync_replaces_policies_and_writes_back(tmp_path: Path, server_pki: Pki) -> None:
    tls = (server_pki.leaf, [server_pki.intermediate])
    with serve(table_api("ok"), tls=tls, tmp_path=tmp_path) as server:
        config = write_config(tmp_path / "config.xml", server.url + "/")
        engine = engine_for(config, server_pki.root.pem)
        assert engine.policies.select("x.lab.example").kind == "internet"
        result = engine.sync_policies(timeout=5)
        assert result.ok, result.reason
        assert len(server.requests) == 1
    assert engine.policies is result.policies
    assert engine.policies.select("x.lab.example").name == "Lab"
    assert engine.policies.select("h.example", "10.99.1.1").name == "Lab"
    written = cp.AgentConfig.read(config)
    assert (written.check_chain, written.check_hostname, written.check_revocation) == (
        True,
        False,
        False,
    )
    assert "<!-- test agent -->" in config.read_text()


@pytest.mark.parametrize(
    ("mode", "needle"),
    [
        ("401", "HTTP 401"),
        ("500", "HTTP 500"),
        ("timeout", "cannot reach the instance"),
        ("malformed", "malformed policy table response"),
        ("not-a-list", "malformed policy table response"),
        ("all-bad", "1 row(s) of the table rejected"),
        ("bad-rows", "row 3 ('Broken')"),
    ],
)
def test_failed_sync_keeps_the_last_good_policies(
    tmp_path: Path, server_pki: Pki, mode: str, needle: str, caplog: pytest.LogCaptureFixture
) -> None:
    tls = (server_pki.leaf, [server_pki.intermediate])
    with serve(table_api(mode), tls=tls, tmp_path=tmp_path) as server:
        config = write_config(tmp_path / "config.xml", server.url)
        engine = engine_for(config, server_pki.root.pem)
        before, config_before = engine.policies, config.read_bytes()
        with caplog.at_level(logging.WARNING, logger="certpolicy"):
            result = engine.sync_policies(timeout=1.0)
    assert not result.ok
    assert needle in result.reason
    assert engine.policies is before
    assert result.policies is before
    assert config.read_bytes() == config_before
    assert any("policy sync failed" in r.getMessage() for r in caplog.records)


def test_table_without_instance_policy_keeps_the_bootstrap_one(
    tmp_path: Path, server_pki: Pki
) -> None:
    tls = (server_pki.leaf, [server_pki.intermediate])
    with serve(table_api("no-instance"), tls=tls, tmp_path=tmp_path) as server:
        config = write_config(tmp_path / "config.xml", server.url)
        engine = engine_for(config, server_pki.root.pem)
        result = engine.sync_policies(timeout=5)
    assert result.ok
    assert engine.policies.select("127.0.0.1").kind == "instance"
    assert engine.policies.select("x.lab.example").name == "Lab"


def test_untrusted_instance_gets_no_request(tmp_path: Path, server_pki: Pki) -> None:
    impostor = make_root("impostor root").issue_leaf(["localhost", "127.0.0.1"])
    with serve(table_api("ok"), tls=(impostor, []), tmp_path=tmp_path) as server:
        config = write_config(tmp_path / "config.xml", server.url)
        engine = engine_for(config, server_pki.root.pem)
        result = engine.sync_policies(timeout=5)
        assert server.connections, "the client never connected"
        assert server.requests == []
    assert not result.ok
    assert "rejected" in result.reason
    assert "not trusted" in result.reason


def test_wrong_host_instance_gets_no_request(tmp_path: Path) -> None:
    other = make_pki(["elsewhere.example"])
    with serve(
        table_api("ok"), tls=(other.leaf, [other.intermediate]), tmp_path=tmp_path
    ) as server:
        config = write_config(tmp_path / "config.xml", server.url)
        engine = engine_for(config, other.root.pem)
        result = engine.sync_policies(timeout=5)
        assert server.requests == []
    assert not result.ok
    assert "hostname" in result.reason


def test_bootstrap_revocation_fails_closed(tmp_path: Path, server_pki: Pki) -> None:
    tls = (server_pki.leaf, [server_pki.intermediate])
    with serve(table_api("ok"), tls=tls, tmp_path=tmp_path) as server:
        config = write_config(tmp_path / "config.xml", server.url, revocation=True)
        engine = engine_for(config, server_pki.root.pem)
        result = engine.sync_policies(timeout=5)
        assert server.requests == []
    assert not result.ok
    assert "revocation" in result.reason


def test_instance_flag_off_takes_the_table_but_not_its_instance_row(
    tmp_path: Path, server_pki: Pki
) -> None:
    """mid.ssl.use.instance.security.policy=false: the override/intranet/internet rows are
    taken (administrators edit them in the table); the bootstrap policy stays the instance
    policy, and config.xml is never written."""
    tls = (server_pki.leaf, [server_pki.intermediate])
    with serve(table_api("ok"), tls=tls, tmp_path=tmp_path) as server:
        config = write_config(tmp_path / "config.xml", server.url, use_instance=False)
        before = config.read_bytes()
        engine = engine_for(config, server_pki.root.pem)
        result = engine.sync_policies(timeout=5)
        assert len(server.requests) == 1
    assert result.ok, result.reason
    assert "1 instance row(s) not used" in result.reason
    assert config.read_bytes() == before
    assert engine.policies.select("x.lab.example").name == "Lab"
    instance = engine.policies.select("127.0.0.1")
    assert instance.kind == "instance"
    assert instance.check_hostname  # the bootstrap value, not the table's "false"
    assert engine.policy_origins["Instance"] == "config.xml bootstrap parameters"


def test_one_bad_row_keeps_the_last_good_policies_and_names_it(
    tmp_path: Path, server_pki: Pki
) -> None:
    """A dropped row could be a stricter override, or an intranet row whose absence brings
    back a weaker default: nothing of such a table is applied, and every bad row is named."""
    tls = (server_pki.leaf, [server_pki.intermediate])
    with serve(table_api("bad-rows"), tls=tls, tmp_path=tmp_path) as server:
        config = write_config(tmp_path / "config.xml", server.url)
        engine = engine_for(config, server_pki.root.pem)
        before = engine.policies
        result = engine.sync_policies(timeout=5)
    assert not result.ok
    assert len(result.rejected) == 1
    assert "'Broken'" in result.rejected[0]
    assert "10.0.0.1/8" in result.rejected[0]
    assert engine.policies is before
    assert not (tmp_path / "certpolicy-policies.json").exists()


def test_unreachable_instance(tmp_path: Path, server_pki: Pki) -> None:
    with serve(table_api("ok")) as server:
        port = server.port
    config = write_config(tmp_path / "config.xml", f"https://127.0.0.1:{port}")
    engine = engine_for(config, server_pki.root.pem)
    result = engine.sync_policies(timeout=2)
    assert not result.ok
    assert "cannot reach" in result.reason


def test_engine_without_config_cannot_sync() -> None:
    result = cp.Engine(cp.PolicySet.defaults(), cp.TrustStore()).sync_policies()
    assert not result.ok
    assert "config.xml" in result.reason


def test_hostile_responses_never_escape_as_other_errors(tmp_path: Path, server_pki: Pki) -> None:
    deep = b'{"result": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    huge_order = json.dumps(
        {"result": [{"name": "X", "type": "override", "order": "99999999999999999999"}]}
    ).encode()
    tls = (server_pki.leaf, [server_pki.intermediate])
    for body in (deep, huge_order):
        with serve(lambda _req, b=body: Response(200, b), tls=tls, tmp_path=tmp_path) as server:
            config = write_config(tmp_path / "config.xml", server.url)
            engine = engine_for(config, server_pki.root.pem)
            result = engine.sync_policies(timeout=5)
        assert not result.ok
