"""``certpolicy check`` against real loopback servers: --resolve and --servername (the
address connected to, the name sent as SNI, checked and used to select the policy), exit
code 3 for endpoints that give no certificate to judge (a closed port, a handshake reset, a
timeout) and its precedence, the reason codes in the text output, and audit mode."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from certpolicy.cli import main
from test_tls_server import self_signed, tls_server

from loopback import tcp_server
from pki import Cert, Issuer, make_root

TIMEOUT = 60


@dataclass
class Site:
    root: Issuer
    intermediate: Issuer
    leaf: Cert  # valid for svc.example only
    config: Path


POLICIES = (
    '[trust]\ndefaults = false\nfiles = ["root.pem"]\n'
    '[[policy]]\nname = "Svc"\nkind = "override"\nhosts = ["svc.example"]\n'
    "check_revocation = false\n{mode}"
    '[[policy]]\nname = "Web"\nkind = "internet"\ncheck_revocation = false\n{mode}'
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    folder = tmp_path_factory.mktemp("check")
    root = make_root("check root")
    intermediate = root.issue_ca("check intermediate")
    leaf = intermediate.issue_leaf(["svc.example"])
    (folder / "root.pem").write_bytes(root.pem)
    config = folder / "certpolicy.toml"
    config.write_text(POLICIES.format(mode=""))
    return Site(root, intermediate, leaf, config)


@dataclass
class SniServer:
    port: int
    names: list[str | None]  # the SNI of each handshake (None: none sent)
    lock: threading.Lock

    def seen(self) -> list[str | None]:
        with self.lock:
            return list(self.names)


@contextmanager
def sni_server(
    chain: list[Cert], key: Cert, tmp_path: Path, host: str = "127.0.0.1"
) -> Iterator[SniServer]:
    """A TLS server on ``host`` that records the server name each client sent."""
    folder = tmp_path / f"sni-{id(chain)}"
    folder.mkdir(exist_ok=True)
    (folder / "chain.pem").write_bytes(b"".join(c.pem for c in chain))
    (folder / "key.pem").write_bytes(key.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "chain.pem", folder / "key.pem")
    names: list[str | None] = []
    lock = threading.Lock()

    def record(_conn: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        with lock:
            names.append(name)

    context.sni_callback = record  # type: ignore[assignment]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, 0), family=family)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield SniServer(listener.getsockname()[1], names, lock)
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()


def check(
    capsys: pytest.CaptureFixture[str], *args: str, as_json: bool = True
) -> tuple[int, dict[str, object] | str]:
    code = main(["check", *args, "--timeout", "10", *(["--json"] if as_json else [])])
    out = capsys.readouterr().out
    return code, json.loads(out) if as_json else out


def endpoint(data: dict[str, object] | str, index: int = 0) -> dict[str, object]:
    assert isinstance(data, dict)
    endpoints = data["endpoints"]
    assert isinstance(endpoints, list)
    entry = endpoints[index]
    assert isinstance(entry, dict)
    return entry


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- --resolve ---


def test_resolve_connects_to_the_address_and_checks_the_name(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sni_server([site.leaf, site.intermediate], site.leaf, tmp_path) as server:
        port = server.port
        code, data = check(
            capsys,
            f"https://svc.example:{port}/path",
            "--resolve",
            f"SVC.example:{port}:127.0.0.1",
            "--config",
            str(site.config),
        )
        assert server.seen() == ["svc.example"]  # SNI: the name, not the address
    assert code == 0, data
    entry = endpoint(data)
    assert entry["status"] == "accepted"
    assert entry["address"] == "127.0.0.1"
    assert entry["server_name"] == "svc.example"
    report = entry["report"]
    assert isinstance(report, dict)
    assert report["host"] == "svc.example"
    assert report["ip"] == "127.0.0.1"
    assert report["policy"] == "Svc"  # selected for the name, as everywhere
    assert report["checks"]["hostname"]["status"] == "passed"
    code, text = check(
        capsys,
        f"svc.example:{port}",
        "--resolve",
        f"svc.example:{port}:127.0.0.1",
        "--config",
        str(site.config),
        as_json=False,
    )
    # The server is gone: the address was used (nothing resolved svc.example), refused.
    assert code == 3
    assert isinstance(text, str)
    assert f"connected to 127.0.0.1:{port} as svc.example" in text
    assert "verdict:  UNREACHABLE (no certificate to judge)" in text


def test_resolve_to_an_ipv6_address(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            pass
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    with sni_server([site.leaf, site.intermediate], site.leaf, tmp_path, host="::1") as server:
        code, data = check(
            capsys,
            f"svc.example:{server.port}",
            "--resolve",
            f"svc.example:{server.port}:[::1]",
            "--config",
            str(site.config),
        )
        assert server.seen() == ["svc.example"]
    assert code == 0, data
    report = endpoint(data)["report"]
    assert isinstance(report, dict)
    assert report["ip"] == "::1"
    assert report["policy"] == "Svc"


def test_a_plain_ipv6_literal_target(capsys: pytest.CaptureFixture[str]) -> None:
    # "[::1]:PORT" is connected to as the address ::1 (a closed port: nothing to judge).
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6) as probe:
            port = probe.getsockname()[1]
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    code, data = check(capsys, f"[::1]:{port}")
    assert code == 3, data
    entry = endpoint(data)
    assert (entry["host"], entry["port"], entry["status"]) == ("::1", port, "unreachable")
    assert "connection refused" in str(entry["error"])


@pytest.mark.parametrize(
    ("resolve", "message"),
    [
        ("svc.example:443", "expected HOST:PORT:ADDR"),
        ("svc.example:https:127.0.0.1", "'https' is not a port"),
        ("svc.example:0:127.0.0.1", "0 is not a port"),
        ("svc.example:443:svc.internal", "'svc.internal' is not an IP address"),
        ("other.example:443:127.0.0.1", "--resolve for other.example:443 matches no target"),
        ("svc.example:444:127.0.0.1", "--resolve for svc.example:444 matches no target"),
    ],
)
def test_bad_resolve_entries_are_usage_errors(
    capsys: pytest.CaptureFixture[str], resolve: str, message: str
) -> None:
    code = main(["check", "svc.example:443", "--resolve", resolve, "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert message in json.loads(captured.out)["error"]


def test_two_addresses_for_one_target_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "check",
            "svc.example",
            "--resolve",
            "svc.example:443:127.0.0.1",
            "--resolve",
            "svc.example:443:127.0.0.2",
        ]
    )
    assert code == 2
    assert "two addresses for svc.example:443" in capsys.readouterr().err


# --- --servername ---


def test_servername_is_sent_checked_and_selects_the_policy(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sni_server([site.leaf, site.intermediate], site.leaf, tmp_path) as server:
        target = f"127.0.0.1:{server.port}"
        code, data = check(
            capsys, target, "--servername", "svc.example", "--config", str(site.config)
        )
        assert code == 0, data
        report = endpoint(data)["report"]
        assert isinstance(report, dict)
        assert (report["host"], report["policy"]) == ("svc.example", "Svc")
        # Without it the certificate is checked for the address it does not name.
        code, text = check(capsys, target, "--config", str(site.config), as_json=False)
        assert server.seen() == ["svc.example", None]  # no SNI for an IP literal
    assert code == 1
    assert isinstance(text, str)
    assert "policy     Web (internet)" in text
    hostname_line = next(line for line in text.splitlines() if line.startswith("hostname"))
    assert hostname_line.startswith("hostname   failed  ")
    assert hostname_line.endswith(" [hostname.mismatch]")


def test_servername_with_resolve(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sni_server([site.leaf, site.intermediate], site.leaf, tmp_path) as server:
        code, data = check(
            capsys,
            f"front.example:{server.port}",
            "--resolve",
            f"front.example:{server.port}:127.0.0.1",
            "--servername",
            "svc.example",
            "--config",
            str(site.config),
        )
        assert server.seen() == ["svc.example"]
    assert code == 0, data
    entry = endpoint(data)
    assert (entry["host"], entry["address"], entry["server_name"]) == (
        "front.example",
        "127.0.0.1",
        "svc.example",
    )


# --- unreachable: exit 3 ---


def test_a_closed_port_is_unreachable(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port()
    code, data = check(capsys, f"127.0.0.1:{port}", "--config", str(site.config))
    assert code == 3
    assert data["ok"] is False  # type: ignore[index]
    assert data["exit_code"] == 3  # type: ignore[index]
    entry = endpoint(data)
    assert entry["status"] == "unreachable"
    assert entry["error"] == f"127.0.0.1:{port}: connection refused"
    assert "report" not in entry


def _reset_after_hello(conn: socket.socket, stop: threading.Event) -> None:
    """Reads the ClientHello, then resets the connection (SO_LINGER 0)."""
    with conn:
        conn.settimeout(5)
        with contextlib.suppress(OSError):
            conn.recv(4096)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _close_after_hello(conn: socket.socket, stop: threading.Event) -> None:
    with conn:
        conn.settimeout(5)
        with contextlib.suppress(OSError):
            conn.recv(4096)


def _say_nothing(conn: socket.socket, stop: threading.Event) -> None:
    with conn:
        stop.wait(20)


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (_reset_after_hello, "TLS handshake"),
        (_close_after_hello, "TLS handshake"),
        (_say_nothing, "timed out after 1 s"),
    ],
)
def test_a_handshake_that_fails_is_unreachable(
    site: Site, capsys: pytest.CaptureFixture[str], handler: object, reason: str
) -> None:
    with tcp_server(handler) as port:  # type: ignore[arg-type]
        code = main(
            ["check", f"127.0.0.1:{port}", "--config", str(site.config), "--json", "--timeout", "1"]
        )
    data = json.loads(capsys.readouterr().out)
    assert code == 3, data
    entry = endpoint(data)
    assert entry["status"] == "unreachable"
    assert reason in str(entry["error"])


def test_a_rejection_outranks_an_unreachable_endpoint(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = self_signed(["svc.example"])
    closed = f"127.0.0.1:{closed_port()}"
    config = ("--config", str(site.config))
    with (
        sni_server([site.leaf, site.intermediate], site.leaf, tmp_path) as good,
        tls_server([stranger], stranger.key_pem, tmp_path) as bad,
    ):
        # svc.example through --resolve (only for the targets given: an unused --resolve is
        # a usage error).
        ports = {"good": good.port, "bad": bad.port}
        outcomes = {}
        for names in (["good"], ["good", "closed"], ["bad", "closed"], ["good", "bad"]):
            targets = [f"svc.example:{ports[n]}" if n in ports else closed for n in names]
            resolve = [f"svc.example:{ports[n]}:127.0.0.1" for n in names if n in ports]
            args = [*targets, *(arg for r in resolve for arg in ("--resolve", r))]
            code, data = check(capsys, *args, *config)
            assert isinstance(data, dict)
            assert data["exit_code"] == code
            statuses = [e["status"] for e in data["endpoints"]]  # type: ignore[attr-defined,index]
            outcomes["+".join(names)] = (code, statuses)
    assert outcomes == {
        "good": (0, ["accepted"]),
        "good+closed": (3, ["accepted", "unreachable"]),
        "bad+closed": (1, ["rejected", "unreachable"]),
        "good+bad": (1, ["accepted", "rejected"]),
    }


def test_codes_in_the_text_output(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = self_signed(["localhost"])
    with tls_server([stranger], stranger.key_pem, tmp_path) as server:
        code, text = check(
            capsys, server.url("localhost"), "--config", str(site.config), as_json=False
        )
    assert code == 1
    assert isinstance(text, str)
    chain_line = next(line for line in text.splitlines() if line.startswith("chain"))
    assert chain_line.startswith("chain      failed  ")
    assert chain_line.endswith(" [chain.untrusted]")
    # A check the policy does not enable says so in words; no code is added there.
    assert 'revocation skipped disabled by policy "Web"\n' in text
    assert text.rstrip().endswith("verdict:  REJECTED")


def test_audit_mode_reports_what_would_be_rejected(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "root.pem").write_bytes(site.root.pem)
    config = tmp_path / "certpolicy.toml"
    config.write_text(POLICIES.format(mode='mode = "audit"\n'))
    stranger = self_signed(["localhost"])
    with tls_server([stranger], stranger.key_pem, tmp_path) as server:
        code, data = check(capsys, server.url("localhost"), "--config", str(config))
        assert code == 1  # the checks failed: audit mode only lets the connection through
        report = endpoint(data)["report"]
        assert isinstance(report, dict)
        assert report["enforced"] is False
        assert report["checks"]["chain"]["code"] == "chain.untrusted"
        code, text = check(capsys, server.url("localhost"), "--config", str(config), as_json=False)
    assert code == 1
    assert isinstance(text, str)
    assert 'verdict:  WOULD BE REJECTED (audit mode: policy "Web" lets it through)' in text


def test_check_in_a_real_process_exits_3_for_a_closed_port(site: Site) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "certpolicy",
            "check",
            f"127.0.0.1:{closed_port()}",
            "--config",
            str(site.config),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "unreachable: 127.0.0.1:" in result.stdout


def test_a_name_idna_refuses_is_an_input_error(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_name = "a" * 70 + ".example"  # a DNS label is at most 63 octets
    with sni_server([site.leaf, site.intermediate], site.leaf, tmp_path) as server:
        good = f"127.0.0.1:{server.port}"
        for args in (
            [good, "--servername", bad_name],
            [good, f"{bad_name}:{server.port}", "--resolve", f"{bad_name}:{server.port}:127.0.0.1"],
        ):
            code = main(["check", *args, "--config", str(site.config), "--json"])
            error = json.loads(capsys.readouterr().out)
            assert code == 2
            assert f"{bad_name!r} is not a host name" in error["error"]
        assert server.seen() == []  # refused before anything was connected
