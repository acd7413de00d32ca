"""The certpolicy command line, run as a real subprocess against real local servers."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import select
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

import certpolicy as cp
from test_tls_server import self_signed, tls_server

from crl_pki import Entry, large_crl, make_crl
from ocsp_responder import running_responder
from pki import Cert, Issuer, Pki, make_root
from servers import Request, Response, serve

CLI = [sys.executable, "-m", "certpolicy"]
TIMEOUT = 60


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, **(env or {})},
    )


def run_json(*args: str) -> tuple[int, dict[str, object]]:
    result = run(*args, "--json")
    return result.returncode, json.loads(result.stdout)


# --- example / verify (offline) ---


def test_example_verifies_the_bundled_chain() -> None:
    result = run("example")
    assert result.returncode == 0, result.stderr
    assert "verdict:  OK" in result.stdout
    assert "CN=leaf.example.com" in result.stdout


def test_example_json() -> None:
    result = run("example", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["checks"]["chain"]["status"] == "passed"
    assert report["checks"]["hostname"]["status"] == "passed"
    assert len(report["path"]) == 3


@pytest.fixture
def files(pki: Pki, tmp_path: Path) -> tuple[Path, Path]:
    chain, root = tmp_path / "chain.pem", tmp_path / "root.pem"
    chain.write_bytes(pki.leaf.pem + pki.intermediate.pem)
    root.write_bytes(pki.root.pem)
    return chain, root


def test_verify_ok(files: tuple[Path, Path]) -> None:
    chain, root = files
    result = run("verify", str(chain), "--ca", str(root), "--host", "leaf.example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "revocation skipped not checked: offline" in result.stdout


def test_verify_wrong_host_exits_1(files: tuple[Path, Path]) -> None:
    chain, root = files
    result = run("verify", str(chain), "--ca", str(root), "--host", "evil.example", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["checks"]["chain"]["status"] == "passed"
    assert report["checks"]["hostname"]["status"] == "failed"
    assert "leaf.example.com" in report["checks"]["hostname"]["detail"]


def test_verify_untrusted_exits_1(files: tuple[Path, Path]) -> None:
    chain, _ = files
    result = run("verify", str(chain), "--host", "leaf.example.com")
    assert result.returncode == 1
    assert "REJECTED" in result.stdout


def test_verify_ip_selects_the_policy(files: tuple[Path, Path], tmp_path: Path) -> None:
    chain, _root = files  # the config names root.pem beside it
    config = tmp_path / "certpolicy.toml"
    config.write_text(
        '[trust]\ndefaults = false\nfiles = ["root.pem"]\n'
        '[[policy]]\nname = "Lab"\nkind = "override"\nip_ranges = ["10.20.0.0/16"]\n'
        "check_chain = false\ncheck_hostname = false\ncheck_revocation = false\n"
        '[[policy]]\nname = "Internet"\nkind = "internet"\n'
    )
    args = ("verify", str(chain), "--host", "evil.example", "--ip", "10.20.1.2")
    code, report = run_json(*args, "--trust-peer-ip", "--config", str(config))
    assert code == 0
    assert report["policy"] == "Lab"
    assert report["reason"] == "address 10.20.1.2 is in '10.20.0.0/16'"
    # Without --trust-peer-ip the address may be a proxy's: it cannot weaken the checks, as
    # with ssl_context(), and the report says it was set aside.
    code, report = run_json(*args, "--config", str(config))
    assert code == 1
    assert report["policy"] == "Internet"
    assert "peer address 10.20.1.2 was set aside" in report["reason"]  # type: ignore[operator]
    code, report = run_json("verify", str(chain), "--host", "evil.example", "--config", str(config))
    assert code == 1
    assert report["policy"] == "Internet"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run().returncode == 2
    assert run("verify", str(tmp_path / "missing.pem"), "--host", "x").returncode == 2
    assert run("verify", str(tmp_path / "missing.pem")).returncode == 2  # --host is required
    empty = tmp_path / "empty.pem"
    empty.write_text("nothing here")
    result = run("verify", str(empty), "--host", "x")
    assert result.returncode == 2
    assert "no PEM CERTIFICATE" in result.stderr
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[[policy]]\nname = 'x'\nkind = 'galaxy'\n")
    result = run("policy", "list", "--config", str(bad_config), "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["ok"] is False
    assert "galaxy" in result.stderr


# --- policy ---


def test_policy_list_and_select_defaults() -> None:
    code, listing = run_json("policy", "list")
    assert code == 0
    assert [p["name"] for p in listing["policies"]] == ["Instance", "Intranet", "Internet"]  # type: ignore[index]
    code, chosen = run_json("policy", "select", "api.example.org", "--ip", "192.168.1.5")
    assert code == 0
    assert chosen["policy"]["name"] == "Intranet"  # type: ignore[index]
    assert chosen["reason"] == "address 192.168.1.5 is in '192.168.0.0/16'"
    result = run("policy", "select", "acme.service-now.com")
    assert result.returncode == 0
    assert result.stdout.startswith("Instance (instance")
    assert "is below '*.service-now.com'" in result.stdout


def test_policy_from_config_xml_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "config.xml"
    config.write_text(
        '<parameters><parameter name="url" value="https://acme.example.net"/>'
        '<parameter name="mid.ssl.bootstrap.default.check_cert_chain" value="false"/>'
        "</parameters>"
    )
    result = run(
        "policy", "select", "acme.example.net", "--json", env={"CERTPOLICY_CONFIG": str(config)}
    )
    chosen = json.loads(result.stdout)
    assert chosen["policy"]["kind"] == "instance"
    assert chosen["policy"]["check_chain"] is False


# --- check (real TLS servers) ---


@dataclass
class Web:
    root: Issuer
    intermediate: Issuer
    good: Cert
    root_file: Path


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Web:
    root = make_root("cli root")
    intermediate = root.issue_ca("cli intermediate")
    root_file = tmp_path_factory.mktemp("cli") / "root.pem"
    root_file.write_bytes(root.pem)
    return Web(root, intermediate, intermediate.issue_leaf(["localhost", "127.0.0.1"]), root_file)


CHECKS_ONLY_TOML = (
    '[trust]\ndefaults = false\nfiles = ["root.pem"]\nstore = "trust.pem"\n'
    '[[policy]]\nname = "Web"\nkind = "internet"\ncheck_revocation = false\n'
)


def test_check_reports_policy_checks_and_chain(web: Web, tmp_path: Path) -> None:
    chain = [web.good, web.intermediate]
    (tmp_path / "root.pem").write_bytes(web.root.pem)
    config = tmp_path / "certpolicy.toml"
    config.write_text(CHECKS_ONLY_TOML)
    with tls_server(chain, web.good.key_pem, tmp_path) as server:
        result = run("check", server.url("localhost"), "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"== {server.url('localhost')}"
    assert lines[1] == "policy     Web (internet): no other policy matches"
    assert lines[2].startswith("chain      passed  verified to trust anchor CN=cli root")
    assert lines[3] == "hostname   passed  valid for localhost"
    assert lines[4] == 'revocation skipped disabled by policy "Web"'
    assert lines[5] == "verified path:"
    assert lines[7].startswith("  [1] CN=cli intermediate,O=certpolicy tests (valid 20")
    assert lines[-1] == "verdict:  OK"


def test_check_with_only_ca_uses_the_default_policies(web: Web, tmp_path: Path) -> None:
    # 127.0.0.1 is intranet; a fresh install checks revocation there, and this leaf names
    # no CRL or OCSP URL: the check fails closed and says why.
    chain = [web.good, web.intermediate]
    with tls_server(chain, web.good.key_pem, tmp_path) as server:
        code, data = run_json("check", server.url("localhost"), "--ca", str(web.root_file))
    assert code == 1
    report = data["endpoints"][0]["report"]  # type: ignore[index]
    assert report["policy"] == "Intranet"
    assert report["checks"]["chain"]["status"] == "passed"
    assert report["checks"]["revocation"]["status"] == "failed"
    assert "no definitive revocation status" in report["checks"]["revocation"]["detail"]


def test_check_several_endpoints_json(web: Web, tmp_path: Path) -> None:
    appliance = self_signed(["localhost"])
    config = tmp_path / "certpolicy.toml"
    (tmp_path / "root.pem").write_bytes(web.root.pem)
    config.write_text(CHECKS_ONLY_TOML)
    good_chain = [web.good, web.intermediate]
    with (
        tls_server(good_chain, web.good.key_pem, tmp_path) as good,
        tls_server([appliance], appliance.key_pem, tmp_path) as bad,
    ):
        code, data = run_json("check", good.url(), f"localhost:{bad.port}", "--config", str(config))
        good.settle()
        bad.settle()
        assert good.app_bytes == 0
        assert bad.app_bytes == 0  # check sends nothing
    assert code == 1
    assert data["ok"] is False
    first, second = data["endpoints"]  # type: ignore[misc]
    assert first["ok"] is True
    assert first["report"]["policy"] == "Web"
    assert first["report"]["chain"][1]["subject"] == "CN=cli intermediate,O=certpolicy tests"
    assert second["ok"] is False
    assert second["report"]["checks"]["chain"]["status"] == "failed"
    assert second["target"] == f"localhost:{bad.port}"


def test_check_unreachable_and_bad_url(web: Web) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, data = run_json("check", f"https://127.0.0.1:{port}/", "--ca", str(web.root_file))
    assert code == 3  # unreachable: no certificate to judge (not a rejection)
    assert data["endpoints"][0]["status"] == "unreachable"  # type: ignore[index]
    assert "connection refused" in data["endpoints"][0]["error"]  # type: ignore[index]
    assert run("check", "http://example.com").returncode == 2


@contextmanager
def barrier_servers(cert: Cert, chain: list[Cert], tmp_path: Path) -> Iterator[list[int]]:
    """Two TLS servers that complete a handshake only once BOTH have a client: a client that
    checks endpoints one after the other never gets past the first."""
    barrier = threading.Barrier(2, timeout=20)
    chain_file, key_file = tmp_path / "barrier-chain.pem", tmp_path / "barrier-key.pem"
    chain_file.write_bytes(b"".join(c.pem for c in chain))
    key_file.write_bytes(cert.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain_file, key_file)
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]

    def serve_one(listener: socket.socket) -> None:
        listener.settimeout(20)
        try:
            raw, _ = listener.accept()
            barrier.wait()
            with context.wrap_socket(raw, server_side=True) as tls:
                tls.recv(1)
        except (OSError, threading.BrokenBarrierError):
            return

    threads = [threading.Thread(target=serve_one, args=(lis,), daemon=True) for lis in listeners]
    for thread in threads:
        thread.start()
    try:
        yield [lis.getsockname()[1] for lis in listeners]
    finally:
        barrier.abort()
        for listener in listeners:
            listener.close()
        for thread in threads:
            thread.join(25)


def test_check_runs_endpoints_concurrently(web: Web, tmp_path: Path) -> None:
    (tmp_path / "root.pem").write_bytes(web.root.pem)
    config = tmp_path / "certpolicy.toml"
    config.write_text(CHECKS_ONLY_TOML)
    with barrier_servers(web.good, [web.good, web.intermediate], tmp_path) as ports:
        targets = [f"localhost:{port}" for port in ports]
        code, data = run_json("check", *targets, "--config", str(config), "--timeout", "15")
    assert [e["ok"] for e in data["endpoints"]] == [True, True], data  # type: ignore[attr-defined]
    assert code == 0


# --- trust import ---


def test_trust_import_lets_a_self_signed_server_through(web: Web, tmp_path: Path) -> None:
    appliance = self_signed(["localhost"])
    (tmp_path / "root.pem").write_bytes(web.root.pem)
    config = tmp_path / "certpolicy.toml"
    config.write_text(CHECKS_ONLY_TOML)
    cert_file = tmp_path / "appliance.pem"
    cert_file.write_bytes(appliance.pem)
    with tls_server([appliance], appliance.key_pem, tmp_path) as server:
        assert run("check", server.url(), "--config", str(config)).returncode == 1
        code, imported = run_json("trust", "import", str(cert_file), "--config", str(config))
        assert code == 0
        assert imported["added"][0]["subject"] == "CN=localhost,O=certpolicy intranet"  # type: ignore[index]
        assert imported["store"] == str(tmp_path / "trust.pem")
        result = run("check", server.url(), "--config", str(config))
        assert result.returncode == 0, result.stdout
    again = run("trust", "import", str(cert_file), "--config", str(config))
    assert again.returncode == 0
    assert "already trusted" in again.stdout
    assert cp.TrustStore().add_pem((tmp_path / "trust.pem").read_bytes()) == 1


def test_trust_import_beside_config_xml(tmp_path: Path) -> None:
    appliance = self_signed(["nas.corp.example"])
    config = tmp_path / "config.xml"
    config.write_text('<parameters><parameter name="url" value="https://a.example"/></parameters>')
    der = tmp_path / "nas.der"
    der.write_bytes(appliance.der)
    chain = tmp_path / "nas.pem"
    chain.write_bytes(appliance.pem)
    args = ("--host", "nas.corp.example", "--config", str(config))
    assert run("verify", str(chain), *args).returncode == 1
    assert run("trust", "import", str(der), "--config", str(config)).returncode == 0
    assert (tmp_path / "certpolicy-trust.pem").read_bytes() == appliance.pem
    result = run("verify", str(chain), *args)
    assert result.returncode == 0, result.stdout


def test_trust_import_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
    config = tmp_path / "c.toml"
    config.write_text('[trust]\nstore = "trust.pem"\n')
    assert run("trust", "import", str(junk), "--config", str(config)).returncode == 2
    assert not (tmp_path / "trust.pem").exists()
    no_store = tmp_path / "n.toml"
    no_store.write_text("[trust]\n")
    result = run("trust", "import", str(junk), "--config", str(no_store))
    assert result.returncode == 2
    assert "no trust store file" in result.stderr
    result = run("trust", "import", str(junk))
    assert result.returncode == 2
    assert "needs --config" in result.stderr


# --- CRL ---


@dataclass
class Crls:
    issuer: Issuer
    issuer_file: Path
    revoked: Cert
    revoked_file: Path
    der: bytes


@pytest.fixture(scope="module")
def crls(web: Web, tmp_path_factory: pytest.TempPathFactory) -> Crls:
    folder = tmp_path_factory.mktemp("crls")
    revoked = web.intermediate.issue_leaf(["revoked.example"])
    when = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    der = make_crl(
        web.intermediate, [Entry(revoked.cert.serial_number, when, "keyCompromise")], number=7
    )
    issuer_file, revoked_file = folder / "intermediate.pem", folder / "revoked.pem"
    issuer_file.write_bytes(web.intermediate.pem)
    revoked_file.write_bytes(revoked.pem)
    return Crls(web.intermediate, issuer_file, revoked, revoked_file, der)


@contextmanager
def crl_server(bodies: dict[str, bytes]) -> Iterator[str]:
    def handler(request: Request) -> Response:
        body = bodies.get(request.path)
        return Response(404) if body is None else Response(200, body)

    with serve(handler) as server:
        yield f"http://127.0.0.1:{server.port}"


def test_crl_fetch_verifies_and_saves(crls: Crls, tmp_path: Path) -> None:
    out = tmp_path / "saved.crl"
    with crl_server({"/ca.crl": crls.der}) as base:
        code, data = run_json(
            "crl", "fetch", f"{base}/ca.crl", "-o", str(out), "--issuer", str(crls.issuer_file)
        )
        assert code == 0
        assert data["entries"] == 1
        assert data["number"] == 7
        assert data["signature_verified"]
        assert out.read_bytes() == crls.der
        # Nothing to judge (an HTTP error, a download over its cap): 3; a CRL that fails its
        # signature check is judged and refused: 1.
        missing = run("crl", "fetch", f"{base}/nothing.crl")
        assert missing.returncode == 3
        assert "HTTP 404" in missing.stderr
        capped = run("crl", "fetch", f"{base}/ca.crl", "--max-bytes", "100")
        assert capped.returncode == 3
        assert "limit" in capped.stderr
        wrong = run("crl", "fetch", f"{base}/ca.crl", "--issuer", str(crls.revoked_file))
        assert wrong.returncode == 1
        assert "unusable CRL" in wrong.stderr


def test_crl_show_and_lookup(crls: Crls, tmp_path: Path) -> None:
    crl_file = tmp_path / "ca.crl"
    crl_file.write_bytes(crls.der)
    code, shown = run_json("crl", "show", str(crl_file), "--issuer", str(crls.issuer_file))
    assert code == 0
    assert shown["issuer"] == "CN=cli intermediate,O=certpolicy tests"
    assert shown["entries"] == 1
    code, found = run_json("crl", "lookup", str(crl_file), str(crls.revoked_file))
    assert code == 1
    assert found["revoked"] is True
    assert found["reason"] == "keyCompromise"
    assert found["revoked_at"] == "2026-01-02T00:00:00+00:00"
    serial = crls.revoked.cert.serial_number
    assert run("crl", "lookup", str(crl_file), str(serial)).returncode == 1
    assert run("crl", "lookup", str(crl_file), hex(serial)).returncode == 1
    result = run("crl", "lookup", str(crl_file), "12345")
    assert result.returncode == 0
    assert "not revoked" in result.stdout
    assert run("crl", "lookup", str(crl_file), "not-a-serial").returncode == 2
    garbage = tmp_path / "garbage.crl"
    garbage.write_bytes(b"\x30\x03\x02\x01\x01")
    assert run("crl", "show", str(garbage)).returncode == 2


def _run_on_a_terminal(args: list[str]) -> tuple[int, bytes]:
    """Runs the CLI with stderr on a pseudo-terminal; returns (exit code, what it showed)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*CLI, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave
    )
    os.close(slave)
    shown = b""
    while True:
        ready, _, _ = select.select([master], [], [], TIMEOUT)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return process.wait(TIMEOUT), shown


def test_crl_fetch_progress_bar_only_on_a_terminal(crls: Crls, tmp_path: Path) -> None:
    big, _ = large_crl(crls.issuer, 12_000)  # ~430 KB: above the progress threshold
    with crl_server({"/big.crl": big}) as base:
        url = f"{base}/big.crl"
        code, shown = _run_on_a_terminal(["crl", "fetch", url, "--issuer", str(crls.issuer_file)])
        assert code == 0
        assert b"downloading CRL [" in shown
        assert b"100%" in shown
        piped = run("crl", "fetch", url, "--issuer", str(crls.issuer_file))
        assert piped.returncode == 0
        assert piped.stderr == ""
        assert "entries      12000" in piped.stdout
        # A small download stays quiet even on a terminal.
    with crl_server({"/small.crl": crls.der}) as base:
        code, shown = _run_on_a_terminal(["crl", "fetch", f"{base}/small.crl"])
        assert code == 0
        assert b"downloading" not in shown


# --- OCSP (a real responder: openssl ocsp) ---


def test_ocsp_good_revoked_unknown(web: Web, tmp_path: Path) -> None:
    good = web.intermediate.issue_leaf(["ocsp-good.example"])
    revoked = web.intermediate.issue_leaf(["ocsp-revoked.example"])
    stranger = web.intermediate.issue_leaf(["ocsp-unknown.example"])
    files = {}
    for label, cert in (("good", good), ("revoked", revoked), ("unknown", stranger)):
        files[label] = tmp_path / f"{label}.pem"
        files[label].write_bytes(cert.pem)
    issuer = tmp_path / "issuer.der"
    issuer.write_bytes(web.intermediate.der)
    when = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    with running_responder(tmp_path / "responder", web.intermediate) as responder:
        responder.add_good(good)
        responder.revoke(revoked, when, "keyCompromise")
        url = responder.url
        code, data = run_json("ocsp", str(files["good"]), str(issuer), "--url", url)
        assert code == 0
        assert data["status"] == "good"
        code, data = run_json("ocsp", str(files["revoked"]), str(issuer), "--url", url)
        assert code == 1
        assert data["status"] == "revoked"
        assert data["revoked_at"] == when.isoformat()
        assert data["reason"] == "keyCompromise"
        code, data = run_json("ocsp", str(files["unknown"]), str(issuer), "--url", url)
        assert code == 1
        assert data["status"] == "unknown"
        nonce = run("ocsp", str(files["good"]), str(issuer), "--url", url, "--nonce")
        assert nonce.returncode == 0, nonce.stderr  # openssl ocsp echoes nonces
        responder.mode = "garbage"
        broken = run("ocsp", str(files["good"]), str(issuer), "--url", url)
        assert broken.returncode == 1
        assert "unusable OCSP response" in broken.stderr
    no_url = run("ocsp", str(files["good"]), str(issuer))
    assert no_url.returncode == 2
    assert "pass --url" in no_url.stderr


# --- sync ---


def test_sync_needs_a_config_and_reports_why() -> None:
    assert run("sync").returncode == 2


def test_sync_reports_an_unreachable_instance(tmp_path: Path) -> None:
    with serve(lambda _request: Response(200)) as server:
        port = server.port  # closed once the block ends: nothing listens there any more
    config = tmp_path / "config.xml"
    config.write_text(
        f'<parameters><parameter name="url" value="https://127.0.0.1:{port}"/></parameters>'
    )
    code, data = run_json("sync", "--config", str(config), "--timeout", "2")
    assert code == 1
    assert data["ok"] is False
    assert "cannot reach the instance" in data["reason"]  # type: ignore[operator]
    assert not (tmp_path / "certpolicy-policies.json").exists()


def test_sync_against_a_local_instance(web: Web, tmp_path: Path) -> None:
    rows = [
        {
            "name": "Lab",
            "type": "override",
            "active": "true",
            "check_cert_chain": "false",
            "check_cert_hostname": "false",
            "check_cert_revocation": "false",
            "hosts": "lab.corp.example",
            "ip_ranges": "",
            "order": "10",
        },
        {
            "name": "Instance",
            "type": "instance",
            "active": "true",
            "check_cert_chain": "true",
            "check_cert_hostname": "true",
            "check_cert_revocation": "false",
            "hosts": "localhost",
            "ip_ranges": "",
            "order": "100",
        },
    ]
    chain = [web.good, web.intermediate]

    def instance(request: Request) -> Response:
        return Response(200, json.dumps({"result": rows}).encode())

    with serve(instance, tls=(web.good, [web.intermediate]), tmp_path=tmp_path) as server:
        config = tmp_path / "config.xml"
        config.write_text(
            "<parameters>"
            f'<parameter name="url" value="https://localhost:{server.port}"/>'
            '<parameter name="mid.ssl.use.instance.security.policy" value="true"/>'
            '<parameter name="mid.ssl.bootstrap.default.check_cert_revocation" value="false"/>'
            "</parameters>"
        )
        (tmp_path / "certpolicy-trust.pem").write_bytes(web.root.pem)
        code, data = run_json("sync", "--config", str(config))
        assert len(server.requests) == 1
    del chain
    assert code == 0, data
    policies = data["policies"]
    assert [p["name"] for p in policies] == ["Lab", "Instance", "Intranet", "Internet"]  # type: ignore[attr-defined]
    origins = {p["name"]: p["origin"] for p in policies}  # type: ignore[attr-defined]
    assert origins["Lab"].startswith("instance table (synced ")
    assert origins["Intranet"] == "shipped defaults (fresh install)"
    assert data["saved_to"] == str(tmp_path / "certpolicy-policies.json")


# --- demo ---


def test_demo_help_lists_every_command() -> None:
    result = run("--help")
    for command in ("check", "verify", "policy", "trust", "crl", "ocsp", "sync", "demo"):
        assert command in result.stdout
