"""Audit mode (``Policy(mode="audit")``): the checks run, failures are logged at WARNING as
"would reject" and counted, and the connection goes through; ``report.enforced`` says which
happened. Real TLS servers and real HTTP clients on loopback."""

from __future__ import annotations

import json
import logging
import socket
import urllib.request
from pathlib import Path

import pytest

import certpolicy as cp
from certpolicy.policy import policy_from_record
from test_tls_server import expired_leaf, tls_server

from pki import Pki, make_pki

HOST = "127.0.0.1"


def audit_intranet(**checks: bool) -> cp.PolicySet:
    """The rollout the docs describe: intranet checks switched on in audit mode, internet
    enforced."""
    return cp.PolicySet(
        [
            cp.Policy(
                "Intranet",
                "intranet",
                ip_ranges=("127.0.0.0/8", "::1"),
                check_revocation=False,
                mode="audit",
                **checks,
            ),
            cp.Policy("Internet", "internet", check_revocation=False),
        ]
    )


def engine_for(pki: Pki, policies: cp.PolicySet) -> cp.Engine:
    trust = cp.TrustStore()
    trust.add_der(pki.root.der)
    return cp.Engine(policies, trust)


@pytest.fixture(scope="module")
def web() -> Pki:
    return make_pki([HOST, "localhost"])


# --- the policy field ---------------------------------------------------------------------


def test_mode_defaults_to_enforce_and_is_validated() -> None:
    assert cp.Policy("a", "internet").mode == "enforce"
    assert cp.Policy("a", "internet", mode="audit").mode == "audit"
    for bad in ("Audit", "off", "", None, True):
        with pytest.raises(cp.PolicyError, match="mode"):
            cp.Policy("a", "internet", mode=bad)  # type: ignore[arg-type]


def test_mode_round_trips_through_policy_files(tmp_path: Path) -> None:
    policies = audit_intranet()
    for name in ("p.toml", "p.json"):
        policies.to_file(tmp_path / name)
        again = cp.PolicySet.from_file(tmp_path / name)
        assert {p.name: p.mode for p in again} == {"Intranet": "audit", "Internet": "enforce"}
    (tmp_path / "typo.toml").write_text(
        '[[policy]]\nname = "x"\nkind = "internet"\nmode = "audti"\n', "utf-8"
    )
    with pytest.raises(cp.PolicyError, match="mode"):
        cp.PolicySet.from_file(tmp_path / "typo.toml")


@pytest.mark.parametrize(
    ("value", "mode"),
    [("audit", "audit"), (" Audit ", "audit"), ("", "enforce"), (None, "enforce")],
)
def test_table_rows_carry_a_mode(value: str | None, mode: str) -> None:
    row = {"name": "Intranet", "type": "intranet", "ip_ranges": "10.0.0.0/8", "mode": value}
    assert policy_from_record(row).mode == mode


def test_a_table_row_with_an_unknown_mode_is_refused() -> None:
    row = {"name": "Intranet", "type": "intranet", "mode": "watch"}
    with pytest.raises(cp.PolicyError, match=r"row 0 \('Intranet'\): mode is 'watch'"):
        policy_from_record(row)


def test_audit_is_weaker_than_enforce_for_peer_address_selection(web: Pki) -> None:
    # A DNS name selects Internet (enforced); a peer address in the intranet range must not
    # switch it to an audit-mode policy unless the connection is known to be direct.
    engine = engine_for(web, audit_intranet())
    proxied = engine.check(web.chain, "localhost", ip=HOST)
    assert proxied.policy.name == "Internet"
    assert "set aside" in proxied.reason
    direct = engine.check(web.chain, "localhost", ip=HOST, trust_peer_ip=True)
    assert direct.policy.name == "Intranet"


# --- the engine ---------------------------------------------------------------------------


def test_an_audit_failure_goes_through_logged_and_counted(
    web: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    engine = engine_for(web, audit_intranet())
    bad = [expired_leaf(web.intermediate, [HOST]).der, web.intermediate.der]
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        report = engine.enforce(bad, HOST)  # does not raise
    assert not report.ok
    assert report.enforced is False
    assert report.result("chain").code == "chain.expired"
    assert report.to_dict()["enforced"] is False
    assert report.to_dict()["mode"] == "audit"
    assert "would fail" in report.message()
    assert "audit mode" in report.message()
    (record,) = [r for r in caplog.records if getattr(r, "check", None) == "chain"]
    assert record.levelno == logging.WARNING
    assert "would reject" in record.getMessage()
    assert (record.mode, record.enforced, record.code) == ("audit", False, "chain.expired")  # type: ignore[attr-defined]
    # raise_for_status still reports the failed status, for callers who ask for it.
    with pytest.raises(cp.ChainError):
        report.raise_for_status()
    stats = engine.stats()
    assert (stats["checks"], stats["rejected"], stats["audited"], stats["passed"]) == (1, 0, 1, 0)
    assert stats["policies"]["Intranet"]["audited"] == 1
    assert stats["codes"] == {"chain.expired": 1}


def test_enforce_mode_still_rejects_and_counts(web: Pki) -> None:
    engine = engine_for(web, audit_intranet())
    bad = [expired_leaf(web.intermediate, ["localhost"]).der, web.intermediate.der]
    with pytest.raises(cp.ChainError) as raised:
        engine.enforce(bad, "localhost")  # a DNS name, no address: Internet, enforced
    assert raised.value.report.enforced is True
    engine.check(web.chain, "localhost")
    stats = engine.stats()
    assert (stats["checks"], stats["rejected"], stats["audited"], stats["passed"]) == (2, 1, 0, 1)
    assert stats["policies"] == {
        "Internet": {"checks": 2, "passed": 1, "rejected": 1, "audited": 0}
    }


def test_a_passing_audit_check_is_enforced(web: Pki) -> None:
    report = engine_for(web, audit_intranet()).check(web.chain, HOST)
    assert report.ok
    assert report.enforced


# --- real handshakes and a real HTTP client -----------------------------------------------


def _get(engine: cp.Engine, port: int) -> bytes:
    context = engine.ssl_context()
    with urllib.request.urlopen(f"https://{HOST}:{port}/", context=context, timeout=5) as reply:
        return bytes(reply.read())


def test_audit_mode_lets_a_bad_server_through_a_real_client(
    web: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    expired = expired_leaf(web.intermediate, [HOST])
    with tls_server([expired, web.intermediate], expired.key_pem, tmp_path) as server:
        audit = engine_for(web, audit_intranet())
        with caplog.at_level(logging.WARNING, logger="certpolicy"):
            body = _get(audit, server.port)
        assert body  # the request went through
        assert any("would reject" in r.getMessage() for r in caplog.records)
        assert audit.stats()["audited"] == 1
        # The same server under the same policy in enforce mode is refused before any byte.
        enforced = engine_for(
            web,
            cp.PolicySet([p.replace(mode="enforce") for p in audit_intranet()]),
        )
        with pytest.raises(urllib.error.URLError) as refused:
            _get(enforced, server.port)
        assert isinstance(refused.value.reason, cp.ChainError)
        assert enforced.stats()["rejected"] == 1


def test_check_endpoint_reports_an_audit_finding(web: Pki, tmp_path: Path) -> None:
    wrong = web.intermediate.issue_leaf(["elsewhere.example"])
    with tls_server([wrong, web.intermediate], wrong.key_pem, tmp_path) as server:
        report = engine_for(web, audit_intranet()).check_endpoint(HOST, server.port, timeout=5)
    assert not report.ok
    assert not report.enforced
    assert report.codes == ("hostname.mismatch",)
    assert json.loads(json.dumps(report.to_dict()))["checks"]["hostname"]["code"] == (
        "hostname.mismatch"
    )


def test_audit_mode_never_sends_a_client_certificate_to_an_unverified_server(
    web: Pki, tmp_path: Path
) -> None:
    # Audit mode relaxes the verdict, not the client-certificate guard: credentials go only
    # to a server OpenSSL verified against the engine's anchors.
    client = web.intermediate.issue_leaf(["client"])
    impostor = make_pki([HOST])
    with tls_server(
        [impostor.leaf, impostor.intermediate],
        impostor.leaf.key_pem,
        tmp_path,
        client_ca=web.root.pem,
    ) as server:
        context = engine_for(web, audit_intranet()).ssl_context()
        cert_file, key_file = tmp_path / "client.pem", tmp_path / "client.key"
        cert_file.write_bytes(client.pem + web.intermediate.pem)
        key_file.write_bytes(client.key_pem)
        context.load_cert_chain(cert_file, key_file)
        with (
            pytest.raises(cp.CertificateCheckError, match="it was not sent"),
            socket.create_connection((HOST, server.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=HOST),
        ):
            pass
        assert not any(c.client_cert for c in server.connections)


def test_the_instance_sync_enforces_an_audit_mode_instance_policy(tmp_path: Path) -> None:
    # The sync request carries the instance credentials: audit mode must not send them to
    # a server that fails its checks.
    from test_sync import engine_for as sync_engine_for
    from test_sync import write_config

    from servers import Request, Response, serve

    impostor = make_pki(["localhost", "127.0.0.1"])
    genuine = make_pki(["localhost", "127.0.0.1"])

    def handle(request: Request) -> Response:
        return Response(200, b'{"result": []}')

    with serve(handle, tls=(impostor.leaf, [impostor.intermediate]), tmp_path=tmp_path) as server:
        config = write_config(tmp_path / "config.xml", server.url)
        base = sync_engine_for(config, genuine.root.pem)
        audited = cp.Engine(
            cp.PolicySet([p.replace(mode="audit") for p in base.policies]),
            base.trust,
            config=base.config,
        )
        assert audited.policies.select("127.0.0.1").mode == "audit"
        result = audited.sync_policies(timeout=5)
        assert server.connections, "the client never connected"
        assert server.requests == []  # no request byte, so no credentials
    assert not result.ok
    assert "not trusted" in result.reason
    assert audited.stats()["rejected"] == 1
