"""The agent's lifecycle as the model agent behaves: first start (bootstrap) -> sync -> restart
-> instance down, against a real HTTPS instance table API and real TLS servers on 127.0.0.1,
with a config.xml laid out like a real agent's."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

import certpolicy as cp
from test_cli import run, run_json
from test_tls_server import self_signed, tls_server

from pki import Pki, make_pki
from servers import Request, Response, Server, serve

TABLE = "/api/now/table/mid_cert_check_policy?sysparm_query=active=true"


def row(name: str, kind: str, **fields: str) -> dict[str, str]:
    """A table row as the API sends it: every value a string."""
    return {"name": name, "type": kind, "active": "true", "order": "100", **fields}


OVERRIDE = row(
    "Appliance",
    "Overridden",  # the label administrators see in the form
    hosts="appliance.corp.example",
    check_cert_chain="false",
    check_cert_hostname="false",
    check_cert_revocation="false",
    order="10",
)
# The instance row of a cloud instance: it names the cloud domains only.
INSTANCE = row(
    "ServiceNow",
    "ServiceNow endpoint",
    hosts="*.service-now.com,*.servicenow.com",
    check_cert_chain="true",
    check_cert_hostname="true",
    check_cert_revocation="false",
)
INTRANET = row(
    "Lab network",
    "Intranet Endpoint",
    ip_ranges="10.20.0.0/16",
    check_cert_chain="true",
    check_cert_hostname="false",
    check_cert_revocation="false",
)
INTERNET = row("Web", "internet", check_cert_revocation="false")


@dataclass
class Instance:
    """A loopback instance whose table the test can change."""

    server: Server
    rows: list[dict[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://localhost:{self.server.port}"


@contextmanager
def running_instance(pki: Pki, tmp_path: Path, rows: list[dict[str, str]]) -> Iterator[Instance]:
    state = Instance.__new__(Instance)
    state.rows = list(rows)

    def handle(request: Request) -> Response:
        if request.path != TABLE:
            return Response(404)
        return Response(200, json.dumps({"result": state.rows}).encode())

    with serve(handle, tls=(pki.leaf, [pki.intermediate]), tmp_path=tmp_path) as server:
        state.server = server
        yield state


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki(["localhost", "127.0.0.1"])


def agent_config(
    folder: Path, url: str, *, use_instance: bool, extra: str = "", root_pem: bytes = b""
) -> Path:
    """A config.xml laid out like a real agent's, with the instance's own host as its
    target endpoint (a self-hosted instance); the instance's root beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.xml"
    config.write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<parameters>
    <!-- MID Server configuration -->
    <parameter name="url" value="{url}"/>
    <parameter name="mid.instance.username" value="mid"/>
    <parameter name="mid.instance.password" value="secret"/>
    <parameter name="name" value="mid-lab-01"/>
    <parameter name="mid.ssl.bootstrap.default.target_endpoint" value="localhost"/>
    <parameter name="mid.ssl.bootstrap.default.check_cert_chain" value="true"/>
    <parameter name="mid.ssl.bootstrap.default.check_cert_hostname" value="true"/>
    <parameter name="mid.ssl.bootstrap.default.check_cert_revocation" value="false"/>
    <parameter name="mid.ssl.use.instance.security.policy" value="{str(use_instance).lower()}"/>
{extra}</parameters>
"""
    )
    if root_pem:
        (folder / "certpolicy-trust.pem").write_bytes(root_pem)
    return config


# --- sync semantics ---


def test_self_hosted_instance_keeps_its_instance_policy(pki: Pki, tmp_path: Path) -> None:
    """The table's instance row names only the cloud domains; the instance policy in force
    still covers the config's url host and target endpoint, so the next sync works too."""
    with running_instance(pki, tmp_path, [OVERRIDE, INSTANCE, INTRANET, INTERNET]) as instance:
        config = agent_config(
            tmp_path / "agent", instance.url, use_instance=True, root_pem=pki.root.pem
        )
        with cp.Engine.from_config(config) as engine:
            first = engine.sync_policies(timeout=5)
            assert first.ok, first.reason
            policy = engine.policies.select("localhost")
            assert (policy.name, policy.kind) == ("ServiceNow", "instance")
            assert "localhost" in policy.hosts
            assert "*.servicenow.com" in policy.hosts
            second = engine.sync_policies(timeout=5)
            assert second.ok, second.reason
        assert len(instance.server.requests) == 2
    # The instance row's checks went into the bootstrap parameters (the flag is on).
    written = cp.AgentConfig.read(config)
    assert (written.check_chain, written.check_hostname, written.check_revocation) == (
        True,
        True,
        False,
    )
    assert "<!-- MID Server configuration -->" in config.read_text()


def test_administrator_type_names(pki: Pki, tmp_path: Path) -> None:
    with running_instance(pki, tmp_path, [OVERRIDE, INSTANCE, INTRANET]) as instance:
        config = agent_config(
            tmp_path / "agent", instance.url, use_instance=True, root_pem=pki.root.pem
        )
        with cp.Engine.from_config(config) as engine:
            result = engine.sync_policies(timeout=5)
    assert result.ok, result.reason
    kinds = {p.name: p.kind for p in result.policies}
    assert kinds["Appliance"] == "override"
    assert kinds["ServiceNow"] == "instance"
    assert kinds["Lab network"] == "intranet"


def test_an_unknown_type_fails_the_sync_naming_the_row(pki: Pki, tmp_path: Path) -> None:
    bad = row("Partner", "Extranet", hosts="partner.example")
    with running_instance(pki, tmp_path, [OVERRIDE, INSTANCE, bad]) as instance:
        config = agent_config(
            tmp_path / "agent", instance.url, use_instance=True, root_pem=pki.root.pem
        )
        with cp.Engine.from_config(config) as engine:
            before = engine.policies
            result = engine.sync_policies(timeout=5)
            assert engine.policies is before
    assert not result.ok
    assert len(result.rejected) == 1
    assert "row 2 ('Partner'): type 'Extranet' is not a policy type" in result.rejected[0]


def test_the_sync_connection_is_not_weakened_by_the_peer_address(tmp_path: Path) -> None:
    """An override with every check off for the instance's address (127.0.0.1) must not
    make the sync connection unchecked: whoever answers for the instance's name (DNS) must
    not pick its checks. The impostor's root is not trusted, so it gets no request."""
    impostor = make_pki(["localhost", "127.0.0.1"])
    loopback_off = cp.Policy(
        "Loopback",
        "override",
        ip_ranges=["127.0.0.0/8"],
        check_chain=False,
        check_hostname=False,
        check_revocation=False,
    )
    with running_instance(impostor, tmp_path, [INSTANCE]) as fake:
        config = agent_config(tmp_path / "agent", fake.url, use_instance=False)
        with cp.Engine.from_config(config) as engine:
            engine._replace_policies(cp.PolicySet([*engine.policies, loopback_off]))
            assert engine.policies.select("localhost", "127.0.0.1").name == "Loopback"
            result = engine.sync_policies(timeout=5)
        assert fake.server.requests == []
    assert not result.ok
    assert "not trusted" in result.reason


def test_table_intranet_and_internet_rows_replace_the_defaults(pki: Pki, tmp_path: Path) -> None:
    with running_instance(pki, tmp_path, [INTRANET, INTERNET]) as instance:
        config = agent_config(
            tmp_path / "agent", instance.url, use_instance=False, root_pem=pki.root.pem
        )
        with cp.Engine.from_config(config) as engine:
            assert engine.sync_policies(timeout=5).ok
            names = [p.name for p in engine.policies]
            origins = engine.policy_origins
    assert "Intranet" not in names
    assert "Internet" not in names
    assert cp.PolicySet([]).select("10.20.1.1").name.startswith("Internet")  # control
    assert origins["Lab network"].startswith("instance table (synced ")
    assert origins["Instance"] == "config.xml bootstrap parameters"


# --- saved policies: restart, instance down, corrupt file, dry run ---


def test_restart_with_the_instance_down_keeps_the_synced_policies(pki: Pki, tmp_path: Path) -> None:
    """After a good sync the override for a self-signed appliance survives a restart of the
    agent (and the CLI) while the instance is unreachable."""
    appliance = self_signed(["appliance.corp.example"])
    with running_instance(pki, tmp_path, [OVERRIDE, INSTANCE]) as instance:
        config = agent_config(
            tmp_path / "agent", instance.url, use_instance=False, root_pem=pki.root.pem
        )
        code, synced = run_json("sync", "--config", str(config))
        assert code == 0, synced
    saved = tmp_path / "agent" / "certpolicy-policies.json"
    assert synced["saved_to"] == str(saved)
    document = json.loads(saved.read_text())
    assert document["source"] == instance.url
    assert [p["name"] for p in document["policies"]] == ["Appliance", "ServiceNow"]
    # Restart: the instance is gone; the saved policies are in force.
    with cp.Engine.from_config(config) as engine:
        assert engine.policies.select("appliance.corp.example").name == "Appliance"
        assert engine.saved_policies_problem is None
        failed = engine.sync_policies(timeout=2)
        assert not failed.ok
        assert engine.policies.select("appliance.corp.example").name == "Appliance"
    code, listing = run_json("policy", "list", "--config", str(config))
    origins = {p["name"]: p["origin"] for p in listing["policies"]}  # type: ignore[attr-defined]
    assert origins["Appliance"].startswith("instance table (synced ")
    assert origins["Instance"] == "config.xml bootstrap parameters"
    # The CLI starts from the saved policies too: the appliance's self-signed certificate
    # passes under the synced override (chain check off).
    chain_file = tmp_path / "appliance.pem"
    chain_file.write_bytes(appliance.pem)
    result = run(
        "verify", str(chain_file), "--host", "appliance.corp.example", "--config", str(config)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Appliance (override" in result.stdout


def test_a_corrupt_saved_file_is_reported_and_ignored(
    pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = agent_config(
        tmp_path / "agent", "https://localhost:1", use_instance=False, root_pem=pki.root.pem
    )
    (tmp_path / "agent" / "certpolicy-policies.json").write_text('{"format": 1, "polic')
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        engine = cp.Engine.from_config(config)
    assert engine.saved_policies_problem is not None
    assert "not JSON" in engine.saved_policies_problem
    assert any("saved policies ignored" in r.getMessage() for r in caplog.records)
    assert [p.name for p in engine.policies] == ["Instance", "Intranet", "Internet"]
    listing = run("policy", "list", "--config", str(config))
    assert listing.returncode == 0
    assert "saved policies ignored" in listing.stdout


def test_saved_policies_of_another_instance_or_that_clash_are_ignored(
    pki: Pki, tmp_path: Path
) -> None:
    with running_instance(
        pki, tmp_path, [OVERRIDE, row("Instance", "override", hosts="x.example")]
    ) as instance:
        config = agent_config(
            tmp_path / "agent", instance.url, use_instance=False, root_pem=pki.root.pem
        )
        with cp.Engine.from_config(config) as engine:
            assert engine.sync_policies(timeout=5).ok is False  # "Instance" clashes
        agent_config(tmp_path / "agent", instance.url, use_instance=False, root_pem=pki.root.pem)
    saved = tmp_path / "agent" / "certpolicy-policies.json"
    document = {
        "format": 1,
        "synced_at": "2026-12-01T00:00:00+00:00",
        "source": instance.url,
        "rejected": [],
        "policies": [cp.Policy("Instance", "override", hosts=["x.example"]).to_dict()],
    }
    saved.write_text(json.dumps(document))
    clash = cp.Engine.from_config(config)
    assert clash.saved_policies_problem is not None
    assert "no longer fit config.xml" in clash.saved_policies_problem
    assert [p.name for p in clash.policies] == ["Instance", "Intranet", "Internet"]
    document["source"] = "https://old-instance.example"
    document["policies"] = [cp.Policy("Appliance", "override", hosts=["a.example"]).to_dict()]
    saved.write_text(json.dumps(document))
    moved = cp.Engine.from_config(config)
    assert moved.saved_policies_problem is not None
    assert "saved from https://old-instance.example" in moved.saved_policies_problem
    assert "Appliance" not in [p.name for p in moved.policies]


def test_toml_policies_survive_a_sync(pki: Pki, tmp_path: Path) -> None:
    with running_instance(pki, tmp_path, [OVERRIDE, INSTANCE]) as instance:
        agent_config(tmp_path, instance.url, use_instance=False, root_pem=pki.root.pem)
        toml = tmp_path / "certpolicy.toml"
        toml.write_text(
            'config_xml = "config.xml"\n'
            '[trust]\ndefaults = false\nfiles = ["certpolicy-trust.pem"]\n'
            '[[policy]]\nname = "Printers"\nkind = "override"\nhosts = ["*.printers.example"]\n'
        )
        with cp.Engine.from_config(toml) as engine:
            assert engine.sync_policies(timeout=5).ok
            names = [p.name for p in engine.policies]
    assert "Printers" in names
    assert "Appliance" in names


def test_dry_run_changes_nothing(pki: Pki, tmp_path: Path) -> None:
    with running_instance(pki, tmp_path, [OVERRIDE, INSTANCE]) as instance:
        config = agent_config(
            tmp_path / "agent", instance.url, use_instance=True, root_pem=pki.root.pem
        )
        before = config.read_bytes()
        code, data = run_json("sync", "--dry-run", "--config", str(config))
    assert code == 0, data
    assert data["dry_run"] is True
    assert "+ Appliance" in data["changes"]  # type: ignore[operator]
    assert "- Instance" in data["changes"]  # type: ignore[operator]
    assert data["saved_to"] is None
    assert config.read_bytes() == before
    assert not (tmp_path / "agent" / "certpolicy-policies.json").exists()


def test_periodic_sync_follows_the_table_until_closed(pki: Pki, tmp_path: Path) -> None:
    with running_instance(pki, tmp_path, [INSTANCE]) as instance:
        config = agent_config(
            tmp_path / "agent", instance.url, use_instance=False, root_pem=pki.root.pem
        )
        engine = cp.Engine.from_config(config, sync_interval=0.2)
        try:
            instance.rows = [OVERRIDE, INSTANCE]
            changed = threading.Event()
            for _ in range(100):  # at most 10 s
                if engine.policies.select("appliance.corp.example").name == "Appliance":
                    changed.set()
                    break
                threading.Event().wait(0.1)
            assert changed.is_set(), "the periodic sync never installed the new table"
        finally:
            engine.close()
        served = len(instance.server.requests)
        threading.Event().wait(0.6)
        assert len(instance.server.requests) == served  # stopped by close()
    assert not [t for t in threading.enumerate() if t.name == "certpolicy-policy-sync"]


# --- upgrade defaults, certpolicy.toml ---


def test_upgrade_defaults_from_config_xml_toml_and_cli(tmp_path: Path) -> None:
    upgrade = '    <parameter name="certpolicy.defaults" value="upgrade"/>\n'
    config = agent_config(tmp_path / "a", "https://localhost:1", use_instance=False, extra=upgrade)
    intranet = cp.Engine.from_config(config).policies.select("printer", "10.1.2.3")
    assert intranet.kind == "intranet"
    assert not intranet.check_chain
    fresh = agent_config(tmp_path / "b", "https://localhost:1", use_instance=False)
    assert cp.Engine.from_config(fresh).policies["Intranet"].check_chain
    assert not cp.Engine.from_config(fresh, defaults="upgrade").policies["Intranet"].check_chain
    toml = tmp_path / "certpolicy.toml"
    toml.write_text('defaults = "upgrade"\n')
    assert not cp.Engine.from_config(toml).policies["Intranet"].check_chain
    _code, data = run_json("policy", "list", "--defaults", "upgrade")
    intranet_row = next(p for p in data["policies"] if p["name"] == "Intranet")  # type: ignore[attr-defined]
    assert intranet_row["check_chain"] is False
    assert intranet_row["origin"] == "shipped defaults (upgrade)"
    bad = agent_config(
        tmp_path / "c",
        "https://localhost:1",
        use_instance=False,
        extra='    <parameter name="certpolicy.defaults" value="sometimes"/>\n',
    )
    with pytest.raises(cp.ConfigError, match=r"certpolicy\.defaults"):
        cp.Engine.from_config(bad)


def test_toml_policies_extend_the_config_xml_ones(tmp_path: Path) -> None:
    agent_config(tmp_path, "https://localhost:1", use_instance=False)
    toml = tmp_path / "certpolicy.toml"
    toml.write_text(
        'config_xml = "config.xml"\n'
        "[[policy]]\n"
        'name = "Printers"\nkind = "override"\nhosts = ["*.printers.example"]\n'
        "check_revocation = false\n"
    )
    engine = cp.Engine.from_config(toml)
    assert [p.name for p in engine.policies] == ["Instance", "Intranet", "Internet", "Printers"]
    assert engine.policy_origins["Printers"] == "certpolicy.toml [[policy]]"
    assert engine.policies.select("localhost").kind == "instance"
    toml.write_text(
        'config_xml = "config.xml"\n[[policy]]\nname = "Intranet"\nkind = "intranet"\n'
        'ip_ranges = ["10.0.0.0/8"]\n'
    )
    with pytest.raises(cp.ConfigError, match=r"'Intranet' from certpolicy\.toml .* clashes"):
        cp.Engine.from_config(toml)


# --- one policy answer per connection ---


def test_one_answer_for_one_connection(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An upgrade install (intranet checks off) and a self-signed server on localhost: the
    integrations, `certpolicy check` and `certpolicy policy select` give the same answer,
    and say that the peer address was set aside; told the connection is direct, all three
    agree on the intranet policy instead."""
    box = self_signed(["localhost"])
    toml = tmp_path / "certpolicy.toml"
    toml.write_text('defaults = "upgrade"\n[trust]\ndefaults = false\n')
    engine = cp.Engine.from_config(toml)
    with tls_server([box], box.key_pem, tmp_path) as server:
        url = server.url("localhost")
        with (
            caplog.at_level(logging.INFO, logger="certpolicy"),
            cp.requests_session(engine) as session,
            pytest.raises(requests.exceptions.SSLError) as caught,
        ):
            session.get(url, timeout=10)
        error = cp.certificate_check_error(caught.value)
        assert error is not None
        assert error.report is not None
        assert error.report.policy.name == "Internet"
        assert "peer address 127.0.0.1 was set aside" in error.report.reason
        assert any("set aside" in r.getMessage() for r in caplog.records)
        code, checked = run_json("check", url, "--config", str(toml))
        report = checked["endpoints"][0]["report"]  # type: ignore[index]
        assert code == 1
        assert report["policy"] == "Internet"
        assert "set aside" in report["reason"]
        code, selected = run_json(
            "policy", "select", "localhost", "--resolve", "--config", str(toml)
        )
        assert selected["policy"]["name"] == "Internet"  # type: ignore[index]
        assert selected["ip_set_aside"] is not None
        # Direct connections: the address counts, everywhere alike.
        direct = engine.check_endpoint(url, trust_peer_ip=True)
        assert direct.policy.name == "Intranet"
        assert direct.ok
        code, checked = run_json("check", url, "--config", str(toml), "--trust-peer-ip")
        assert code == 0, checked
        code, selected = run_json(
            "policy",
            "select",
            "localhost",
            "--ip",
            "127.0.0.1",
            "--trust-peer-ip",
            "--config",
            str(toml),
        )
        assert selected["policy"]["name"] == "Intranet"  # type: ignore[index]
