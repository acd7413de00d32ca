"""``certpolicy audit FILE``, run as a real subprocess against real TLS servers on loopback:
the endpoints file, verdicts and exit codes, the JSON report, proposed policies, bounded
concurrency, the progress bar (terminal only) and atomic output. The HTML page is tested in
a real browser in test_audit_html_browser.py, from the same lab."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from certpolicy.cli._audit import read_targets
from certpolicy.cli._common import UsageError
from test_cli import _run_on_a_terminal
from test_tls_server import expired_leaf, self_signed, tls_server

from pki import Cert, make_root

CLI = [sys.executable, "-m", "certpolicy"]
TIMEOUT = 60

# Names a certificate may carry: the reports must show them as text, never run them.
HOSTILE_CN = "</script><script>window.__pwned=1</script>"
HOSTILE_CN_2 = '<img src=x onerror="window.__pwned=2">'

LAB_TOML = """\
[trust]
defaults = false
files = ["root.pem"]

# Intranet servers are selected by address. Their checks are being rolled out: audit mode.
[[policy]]
name = "Intranet"
kind = "intranet"
ip_ranges = ["127.0.0.0/8"]
check_revocation = false
mode = "audit"

[[policy]]
name = "Web"
kind = "internet"
check_revocation = false
"""

# What the team would like to enforce next: the same intranet checks, enforced.
PROPOSED_TOML = """\
[[policy]]
name = "Intranet (enforced)"
kind = "intranet"
ip_ranges = ["127.0.0.0/8"]
check_revocation = false
mode = "enforce"

[[policy]]
name = "Web"
kind = "internet"
check_revocation = false
"""


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=cwd,
    )


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Lab:
    """Loopback servers, a certpolicy.toml trusting their root, and an endpoints file."""

    directory: Path
    config: Path
    endpoints: Path
    proposed: Path
    # endpoint ("host:port") -> (verdict, policy or None, failing codes)
    expected: dict[str, tuple[str, str | None, tuple[str, ...]]] = field(default_factory=dict)


@contextmanager
def audit_lab(directory: Path, *, hostile: bool = True) -> Iterator[Lab]:
    """Six endpoints: two accepted (one per policy), an expired and an untrusted web server
    rejected, an intranet server with the wrong name that the audit-mode intranet policy
    would reject, and a closed port. With ``hostile`` the untrusted and the wrong-name
    certificates have subjects made to break a report (else plain ones, for the docs)."""
    root = make_root("audit lab root")
    intermediate = root.issue_ca("audit lab intermediate")
    (directory / "root.pem").write_bytes(root.pem)
    config = directory / "certpolicy.toml"
    config.write_text(LAB_TOML)
    proposed = directory / "proposed.toml"
    proposed.write_text(PROPOSED_TOML)
    web = intermediate.issue_leaf(["localhost"])
    expired = expired_leaf(intermediate, ["localhost"])
    untrusted = self_signed(
        ["localhost"], common_name=HOSTILE_CN if hostile else "build.corp.example"
    )
    printer = intermediate.issue_leaf(["127.0.0.1"], common_name="printer.corp.example")
    wiki = intermediate.issue_leaf(
        ["wiki.corp.example"], common_name=HOSTILE_CN_2 if hostile else "wiki.corp.example"
    )
    servers: list[tuple[str, list[Cert], Cert, str, str | None, tuple[str, ...]]] = [
        ("localhost", [web, intermediate], web, "accepted", "Web", ()),
        ("localhost", [expired, intermediate], expired, "rejected", "Web", ("chain.expired",)),
        ("localhost", [untrusted], untrusted, "rejected", "Web", ("chain.untrusted",)),
        ("127.0.0.1", [printer, intermediate], printer, "accepted", "Intranet", ()),
        (
            "127.0.0.1",
            [wiki, intermediate],
            wiki,
            "would_reject",
            "Intranet",
            ("hostname.mismatch",),
        ),
    ]
    lab = Lab(directory, config, directory / "endpoints.txt", proposed)
    lines = ["# certpolicy audit lab: loopback servers", ""]
    with ExitStack() as stack:
        for index, (host, chain, leaf, verdict, policy, codes) in enumerate(servers):
            folder = directory / f"server-{index}"
            folder.mkdir()
            server = stack.enter_context(tls_server(chain, leaf.key_pem, folder))
            endpoint = f"{host}:{server.port}"
            lines.append(endpoint)
            lab.expected[endpoint] = (verdict, policy, codes)
        port = closed_port()
        lines += ["", "# decommissioned?", f"localhost:{port}   # the old build server"]
        lab.expected[f"localhost:{port}"] = ("unreachable", None, ())
        lab.endpoints.write_text("\n".join(lines) + "\n")
        yield lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with audit_lab(tmp_path) as running:
        yield running


def audit(lab: Lab, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Runs the audit of the lab with ``--json -``; returns the process and the JSON."""
    result = run("audit", str(lab.endpoints), "--config", str(lab.config), "--json", "-", *extra)
    return result, json.loads(result.stdout)


# --- the endpoints file ---


def write(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "endpoints.txt"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def test_file_comments_blank_lines_and_endpoint_forms(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\ufeff# inventory\r\n"
        "\n"
        "   \n"
        "api.example.com\r\n"
        "API.example.com:443   # the same endpoint: checked once\n"
        "https://portal.example.com:8443/login#top\n"
        "10.1.2.3:8443\n"
        "[2001:db8::1]:8443\n"
        "2001:db8::2\n"
        "  # indented comment\n"
        "münchen.example\n",
    )
    targets, duplicates = read_targets(path)
    assert [(t.line, t.endpoint) for t in targets] == [
        (4, "api.example.com:443"),
        (6, "portal.example.com:8443"),
        (7, "10.1.2.3:8443"),
        (8, "[2001:db8::1]:8443"),
        (9, "[2001:db8::2]:443"),
        (11, "münchen.example:443"),
    ]
    assert duplicates == 1


def test_bad_lines_are_a_usage_error_naming_each_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ok.example.com\n"
        "two words.example.com\n"
        "http://plain.example.com\n"
        "<script>alert(1)</script>\n"
        "host.example.com:0\n"
        "host.example.com:99999\n"
        "ok2.example.com\n"
        f"{'a' * 64}.example.com\n",
    )
    with pytest.raises(UsageError) as caught:
        read_targets(path)
    message = str(caught.value)
    assert message.startswith("6 bad line(s) in the endpoints file (nothing was checked)")
    for number in (2, 3, 4, 5, 6, 8):
        assert f"{path}:{number}: " in message
    assert f"{path}:1:" not in message
    assert f"{path}:7:" not in message


def test_many_bad_lines_are_cut_short(tmp_path: Path) -> None:
    path = write(tmp_path, "".join(f"bad host {i}\n" for i in range(30)))
    with pytest.raises(UsageError, match=r"30 bad line\(s\)") as caught:
        read_targets(path)
    assert str(caught.value).endswith("(and 10 more)")
    assert f"{path}:20:" in str(caught.value)
    assert f"{path}:21:" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("# only comments\n\n", "no endpoint"),
        (b"\xff\xfe bad", "not UTF-8"),
        ("host\x00name.example\n", "control character"),
    ],
)
def test_unusable_files(tmp_path: Path, content: str | bytes, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        read_targets(write(tmp_path, content))


def test_cli_bad_file_exits_2_and_connects_to_nothing(tmp_path: Path) -> None:
    hits: list[int] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    try:
        path = write(tmp_path, f"localhost:{port}\nnot a host\n")
        result = run("audit", path)
        try:
            listener.accept()
            hits.append(1)
        except TimeoutError:
            pass
    finally:
        listener.close()
    assert result.returncode == 2, result.stderr
    assert f"{path}:2: one endpoint a line" in result.stderr
    assert hits == []
    missing = run("audit", str(tmp_path / "nope.txt"))
    assert missing.returncode == 2
    assert "cannot read the endpoints file" in missing.stderr


@pytest.mark.parametrize(
    "option", [["--concurrency", "0"], ["--concurrency", "257"], ["--timeout", "nan"]]
)
def test_option_bounds_are_usage_errors(tmp_path: Path, option: list[str]) -> None:
    result = run("audit", write(tmp_path, "localhost:1\n"), *option)
    assert result.returncode == 2
    assert "audit: error: argument" in result.stderr


# --- verdicts, JSON, exit codes ---


def test_audit_collects_every_verdict_and_code(lab: Lab) -> None:
    result, data = audit(lab)
    assert result.returncode == 1, result.stderr  # endpoints fail checks
    assert set(data) == {"generated_at", "policies_source", "summary", "endpoints"}
    assert data["policies_source"] == f"config: {lab.config}"
    assert data["summary"] == {
        "endpoints": 6,
        "accepted": 2,
        "rejected": 2,
        "audit_findings": 1,
        "unreachable": 1,
        "duplicates_skipped": 0,
        "by_code": {"chain.expired": 1, "chain.untrusted": 1, "hostname.mismatch": 1},
        "by_policy": {
            "Intranet": {
                "kind": "intranet",
                "mode": "audit",
                "endpoints": 2,
                "accepted": 1,
                "rejected": 0,
                "would_reject": 1,
            },
            "Web": {
                "kind": "internet",
                "mode": "enforce",
                "endpoints": 3,
                "accepted": 1,
                "rejected": 2,
                "would_reject": 0,
            },
        },
    }
    # Entries in file order, each with its line, verdict, report (or error).
    assert [e["endpoint"] for e in data["endpoints"]] == list(lab.expected)
    assert [e["line"] for e in data["endpoints"]] == [3, 4, 5, 6, 7, 10]
    for entry in data["endpoints"]:
        assert set(entry) == {"endpoint", "line", "verdict", "report", "error"}
        verdict, policy, codes = lab.expected[entry["endpoint"]]
        assert entry["verdict"] == verdict, entry
        report = entry["report"]
        if verdict == "unreachable":
            assert report is None
            assert "connection refused" in entry["error"]
            continue
        assert entry["error"] is None
        assert report["policy"] == policy
        assert tuple(report["codes"]) == codes
        failed = tuple(c["code"] for c in report["checks"].values() if c["status"] == "failed")
        assert failed == codes
        # An audit-mode finding is collected like an enforced rejection, marked as such.
        assert report["enforced"] is (verdict != "would_reject")
        assert report["mode"] == ("audit" if policy == "Intranet" else "enforce")
        assert report["chain"][0]["subject"]  # the presented chain, summarised


def test_text_summary(lab: Lab) -> None:
    result = run("audit", str(lab.endpoints), "--config", str(lab.config))
    assert result.returncode == 1
    assert result.stderr == ""  # no progress bar into a pipe
    lines = result.stdout.splitlines()
    assert lines[0] == f"certpolicy audit: 6 endpoint(s), policies from config: {lab.config}"
    assert lines[1:6] == [
        "verdicts:",
        "  accepted      2",
        "  rejected      2",
        "  would reject  1  (audit-mode policies: let through)",
        "  unreachable   1",
    ]
    assert "failures by check code:" in lines
    assert "  chain.expired      1" in lines
    assert "  hostname.mismatch  1" in lines
    assert (
        "  Intranet (intranet, audit): 2 endpoint(s), 1 accepted, 0 rejected, 1 would reject"
        in lines
    )
    wiki = next(e for e, v in lab.expected.items() if v[0] == "would_reject")
    assert f'  {wiki}  WOULD REJECT (policy "Intranet"): hostname.mismatch' in lines
    unreachable = next(e for e, v in lab.expected.items() if v[0] == "unreachable")
    assert any(line.startswith(f"  {unreachable}  UNREACHABLE: ") for line in lines)


def test_exit_codes_accepted_and_unreachable(lab: Lab, tmp_path: Path) -> None:
    accepted = [e for e, v in lab.expected.items() if v[0] == "accepted"]
    unreachable = [e for e, v in lab.expected.items() if v[0] == "unreachable"]
    good = tmp_path / "good.txt"
    good.write_text("\n".join(accepted) + "\n")
    result = run("audit", str(good), "--config", str(lab.config))
    assert result.returncode == 0, result.stdout
    down = tmp_path / "down.txt"
    down.write_text("\n".join(accepted + unreachable) + "\n")
    result = run("audit", str(down), "--config", str(lab.config))
    assert result.returncode == 3, result.stdout
    assert "  unreachable   1" in result.stdout


def test_only_audit_findings_still_exit_1(lab: Lab, tmp_path: Path) -> None:
    # Finding what would break is the command's job, whatever the policy's mode.
    finding = [e for e, v in lab.expected.items() if v[0] == "would_reject"]
    path = tmp_path / "finding.txt"
    path.write_text(finding[0] + "\n")
    result = run("audit", str(path), "--config", str(lab.config), "--json", "-")
    assert result.returncode == 1
    assert json.loads(result.stdout)["summary"]["audit_findings"] == 1


def test_proposed_policies_replace_the_current_ones(lab: Lab) -> None:
    result, data = audit(lab, "--policies", str(lab.proposed))
    assert result.returncode == 1
    assert data["policies_source"] == f"proposed: {lab.proposed}"
    by_endpoint = {e["endpoint"]: e for e in data["endpoints"]}
    for endpoint, (verdict, policy, _codes) in lab.expected.items():
        entry = by_endpoint[endpoint]
        if policy == "Intranet":
            # The same servers, judged by the proposal: enforced, so rejected.
            assert entry["report"]["policy"] == "Intranet (enforced)"
            assert entry["verdict"] == ("accepted" if verdict == "accepted" else "rejected")
        else:
            assert entry["verdict"] == verdict
    assert data["summary"]["audit_findings"] == 0
    assert data["summary"]["rejected"] == 3
    # A bad proposal is a usage error before anything is contacted.
    bad = lab.directory / "bad.toml"
    bad.write_text('[[policy]]\nname = "X"\nkind = "internet"\nmode = "sometimes"\n')
    result = run("audit", str(lab.endpoints), "--config", str(lab.config), "--policies", str(bad))
    assert result.returncode == 2
    assert "mode" in result.stderr


def test_endpoints_from_standard_input(lab: Lab) -> None:
    result = subprocess.run(
        [*CLI, "audit", "-", "--config", str(lab.config), "--json", "-"],
        input=lab.endpoints.read_text(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert [e["endpoint"] for e in data["endpoints"]] == list(lab.expected)


def test_duplicates_checked_once(lab: Lab, tmp_path: Path) -> None:
    accepted = next(e for e, v in lab.expected.items() if v[0] == "accepted")
    path = tmp_path / "dup.txt"
    path.write_text(f"{accepted}\nhttps://{accepted}/status\n{accepted.upper()}\n")
    result = run("audit", str(path), "--config", str(lab.config), "--json", "-")
    data = json.loads(result.stdout)
    assert result.returncode == 0
    assert data["summary"]["endpoints"] == 1
    assert data["summary"]["duplicates_skipped"] == 2


# --- concurrency ---


@contextmanager
def counting_servers(
    count: int, together: int, cert: Cert, directory: Path
) -> Iterator[tuple[list[int], Any]]:
    """``count`` TLS servers sharing one gauge of connections in progress (from accept to
    the start of the server's handshake: a span inside the client's connect..close). Each
    connection waits (up to 10 s) until ``together`` are in progress or every server has
    had its client, then a moment more, so that a client running more than it may at once
    would be seen doing it."""
    chain_file, key_file = directory / "count-chain.pem", directory / "count-key.pem"
    chain_file.write_bytes(cert.pem)
    key_file.write_bytes(cert.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain_file, key_file)
    state = {"active": 0, "most": 0, "arrived": 0}
    changed = threading.Condition()
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]

    def serve(listener: socket.socket) -> None:
        listener.settimeout(30)
        try:
            raw, _ = listener.accept()
        except OSError:
            return
        with changed:
            state["active"] += 1
            state["arrived"] += 1
            state["most"] = max(state["most"], state["active"])
            changed.notify_all()
            changed.wait_for(lambda: state["active"] >= together or state["arrived"] == count, 10)
            changed.wait(0.2)  # room for a connection beyond the bound to show up
            # Ended before the handshake starts: until the server answers, its client is
            # blocked in the handshake, so this span lies inside the client's own (counted
            # after the handshake, a slow server thread would overlap the next client).
            state["active"] -= 1
            changed.notify_all()
        try:
            raw.settimeout(10)
            with context.wrap_socket(raw, server_side=True) as tls:
                tls.recv(1)
        except OSError:
            pass
        finally:
            raw.close()

    threads = [threading.Thread(target=serve, args=(lis,), daemon=True) for lis in listeners]
    for thread in threads:
        thread.start()
    try:
        yield [lis.getsockname()[1] for lis in listeners], state
    finally:
        for listener in listeners:
            listener.close()
        for thread in threads:
            thread.join(15)


@pytest.mark.parametrize("bound", [1, 2])
def test_concurrency_is_bounded(tmp_path: Path, bound: int) -> None:
    cert = self_signed(["localhost"])
    with counting_servers(6, bound, cert, tmp_path) as (ports, state):
        path = tmp_path / "many.txt"
        path.write_text("".join(f"localhost:{port}\n" for port in ports))
        result = run(
            "audit", str(path), "--concurrency", str(bound), "--timeout", "20", "--json", "-"
        )
    data = json.loads(result.stdout)
    assert data["summary"]["rejected"] == 6, data["summary"]  # untrusted, all checked
    assert result.returncode == 1
    assert state["arrived"] == 6
    assert state["most"] == bound  # never more at once, and that many did run together


# --- progress bar ---


def test_progress_bar_only_on_a_terminal(lab: Lab) -> None:
    args = ["audit", str(lab.endpoints), "--config", str(lab.config)]
    code, shown = _run_on_a_terminal(args)
    assert code == 1
    assert b"auditing [" in shown
    assert b"] 6/6" in shown
    piped = run(*args)
    assert piped.returncode == 1
    assert piped.stderr == ""
    assert "auditing" not in piped.stdout


# --- output files ---


def test_reports_written_atomically(lab: Lab) -> None:
    out = lab.directory / "out"
    out.mkdir()
    json_file, html_file = out / "audit.json", out / "audit.html"
    json_file.write_text("old")
    os.chmod(json_file, 0o640)
    old_inode = json_file.stat().st_ino
    result = run(
        "audit",
        str(lab.endpoints),
        "--config",
        str(lab.config),
        "--json",
        str(json_file),
        "--html",
        str(html_file),
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[-1] == f"wrote {json_file}, {html_file}"
    # Replaced by a rename (a new inode), not rewritten in place; the mode is kept.
    assert json_file.stat().st_ino != old_inode
    assert json_file.stat().st_mode & 0o777 == 0o640
    assert json.loads(json_file.read_text())["summary"]["endpoints"] == 6
    assert html_file.read_text().startswith("<!DOCTYPE html>")
    umask = os.umask(0o022)
    os.umask(umask)
    assert html_file.stat().st_mode & 0o777 == 0o666 & ~umask  # a new file: the usual mode
    assert sorted(p.name for p in out.iterdir()) == ["audit.html", "audit.json"]  # no temp


def test_unwritable_output_refused_before_the_audit(lab: Lab) -> None:
    nowhere = lab.directory / "missing" / "audit.html"
    result = run("audit", str(lab.endpoints), "--config", str(lab.config), "--html", str(nowhere))
    assert result.returncode == 2
    assert "--html" in result.stderr
    assert "no directory" in result.stderr
    # The endpoints file itself is never an output.
    result = run(
        "audit", str(lab.endpoints), "--config", str(lab.config), "--json", str(lab.endpoints)
    )
    assert result.returncode == 2
    assert lab.endpoints.read_text().startswith("# certpolicy audit lab")


# --- global options ---


def test_global_json_before_the_command_and_verbose_after(lab: Lab) -> None:
    result = run("--json", "audit", str(lab.endpoints), "--config", str(lab.config))
    assert result.returncode == 1
    assert json.loads(result.stdout)["summary"]["endpoints"] == 6
    # -v after the command: the engine's log lines on stderr (an audit finding among them).
    result = run("audit", str(lab.endpoints), "--config", str(lab.config), "-v")
    assert result.returncode == 1
    assert "would reject" in result.stderr
    assert result.stdout.startswith("certpolicy audit: 6 endpoint(s)")


def test_usage_errors_in_json_when_asked(tmp_path: Path) -> None:
    path = write(tmp_path, "bad line\n")
    result = run("audit", path, "--json", "-")
    assert result.returncode == 2
    error = json.loads(result.stdout)
    assert error["ok"] is False
    assert error["exit_code"] == 2
    assert f"{path}:1: one endpoint a line" in error["error"]
