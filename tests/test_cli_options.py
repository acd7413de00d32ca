"""The command line's global behaviour: --version, the global options before or after the
command, --json for every error (argparse's usage errors included), and exit code 2."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import certpolicy as cp
from certpolicy.cli import main

from pki import Pki

CLI = [sys.executable, "-m", "certpolicy"]
TIMEOUT = 60


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "CERTPOLICY_CONFIG"},
    )


@pytest.fixture(autouse=True)
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CERTPOLICY_CONFIG", raising=False)
    yield
    # main() leaves its -v handler on the "certpolicy" logger until the next run: take it
    # off, so no later test logs into this test's captured stderr.
    logger = logging.getLogger("certpolicy")
    for handler in [h for h in logger.handlers if h.get_name() == "certpolicy-cli"]:
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- --version ---


def test_version_in_a_real_process() -> None:
    result = run("--version")
    assert result.returncode == 0, result.stderr
    version = importlib.metadata.version("certpolicy")
    assert result.stdout == f"certpolicy {version} (Rust core {cp.__version__})\n"


def test_version_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(capsys, "--version", "--json")
    assert code == 0
    assert json.loads(out) == {
        "name": "certpolicy",
        "version": importlib.metadata.version("certpolicy"),
        "core_version": cp.__version__,
    }


# --- usage errors ---


def test_a_json_usage_error_in_a_real_process() -> None:
    result = run("check", "--json")  # no target: argparse's error
    assert result.returncode == 2
    error = json.loads(result.stdout)
    assert error["ok"] is False
    assert error["exit_code"] == 2
    assert "the following arguments are required: URL" in error["error"]
    assert error["usage"].startswith("usage: certpolicy check")
    assert "certpolicy check: error: the following arguments are required" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--json", "nosuchcommand"],
        ["nosuchcommand", "--json"],
        ["--json"],  # no command at all
        ["policy", "--json"],  # no subcommand
        ["policy", "select", "--json", "--port", "99999", "a.example"],
        ["--json", "verify", "chain.pem"],  # --host is required
        ["check", "a.example", "--js", "--nosuchoption"],  # an abbreviation counts
        ["crl", "lookup", "--json", "--defaults", "sideways", "f", "1"],
    ],
)
def test_usage_errors_answer_in_json_when_json_is_anywhere(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = invoke(capsys, *args)
    assert code == 2
    error = json.loads(out)
    assert error["ok"] is False
    assert error["exit_code"] == 2
    assert error["error"].startswith("usage error: ")
    assert "error:" in err


def test_usage_errors_without_json_print_no_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = invoke(capsys, "check")
    assert code == 2
    assert out == ""
    assert "the following arguments are required: URL" in err
    # After "--" nothing is an option: "--json" there is a target, not a request for JSON.
    code, out, _ = invoke(capsys, "check", "--nosuchoption", "--", "--json")
    assert code == 2
    assert out == ""


def test_input_errors_answer_in_json_before_or_after_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = str(tmp_path / "missing.pem")
    for args in (
        ["--json", "verify", missing, "--host", "a.example"],
        ["verify", missing, "--host", "a.example", "--json"],
    ):
        code, out, err = invoke(capsys, *args)
        assert code == 2
        error = json.loads(out)
        assert error == {"ok": False, "error": error["error"], "exit_code": 2}
        assert "missing.pem" in error["error"]
        assert "missing.pem" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[[policy]]\nname = 'x'\nkind = 'galaxy'\n")
    code, out, _ = invoke(capsys, "--json", "policy", "list", "--config", str(bad))
    assert code == 2
    assert "unknown kind 'galaxy'" in json.loads(out)["error"]


# --- the global options anywhere ---


CONFIG = (
    '[[policy]]\nname = "Lab"\nkind = "override"\nhosts = ["lab.example"]\n'
    '[[policy]]\nname = "Internet"\nkind = "internet"\n'
)


@pytest.mark.parametrize(
    "args",
    [
        ["--config", "{config}", "--json", "policy", "select", "lab.example"],
        ["policy", "select", "lab.example", "--config", "{config}", "--json"],
        ["--json", "policy", "--config", "{config}", "select", "lab.example"],
        [
            "--config",
            "{other}",
            "policy",
            "select",
            "lab.example",
            "--config",
            "{config}",
            "--json",
        ],
    ],
)
def test_global_options_before_or_after_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str]
) -> None:
    config = tmp_path / "certpolicy.toml"
    config.write_text(CONFIG)
    other = tmp_path / "other.toml"
    other.write_text('[[policy]]\nname = "Other"\nkind = "internet"\n')
    filled = [a.format(config=config, other=other) for a in args]
    code, out, _ = invoke(capsys, *filled)
    assert code == 0
    chosen = json.loads(out)
    assert chosen["policy"]["name"] == "Lab"  # the config given last counts


@pytest.mark.parametrize(
    ("args", "upgrade"),
    [
        (["--defaults", "upgrade", "policy", "select", "x.example", "--ip", "10.1.2.3"], True),
        (["policy", "select", "x.example", "--ip", "10.1.2.3", "--defaults", "upgrade"], True),
        (["policy", "select", "x.example", "--ip", "10.1.2.3"], False),
    ],
)
def test_defaults_before_or_after_the_command(
    capsys: pytest.CaptureFixture[str], args: list[str], upgrade: bool
) -> None:
    code, out, _ = invoke(capsys, *args, "--json", "--trust-peer-ip")
    assert code == 0
    chosen = json.loads(out)
    assert chosen["policy"]["name"] == "Intranet"
    assert chosen["policy"]["check_chain"] is (not upgrade)


@pytest.fixture
def chain_file(pki: Pki, tmp_path: Path) -> Path:
    chain = tmp_path / "chain.pem"
    chain.write_bytes(pki.leaf.pem + pki.intermediate.pem)
    return chain


@pytest.mark.parametrize(
    ("args", "level"),
    [
        (["-v", "verify", "{chain}"], logging.INFO),
        (["verify", "{chain}", "-v"], logging.INFO),
        (["verify", "{chain}", "-vv"], logging.DEBUG),
        (["-v", "verify", "{chain}", "--verbose"], logging.DEBUG),  # counted over both
        (["verify", "{chain}"], logging.NOTSET),
    ],
)
def test_verbose_before_or_after_the_command(
    capsys: pytest.CaptureFixture[str], chain_file: Path, args: list[str], level: int
) -> None:
    filled = [a.format(chain=chain_file) for a in args]
    code, _, err = invoke(capsys, *filled, "--host", "evil.example")
    assert code == 1  # untrusted with the default roots, and the wrong name
    assert logging.getLogger("certpolicy").level == level
    if level == logging.DEBUG:
        assert "DEBUG certpolicy" in err  # the policy selection is logged
        assert "calculating security policy for evil.example" in err
    if level == logging.NOTSET:
        assert err == ""


def test_verbose_in_a_real_process(chain_file: Path) -> None:
    result = run("verify", str(chain_file), "--host", "evil.example", "-vv")
    assert result.returncode == 1
    assert "DEBUG certpolicy" in result.stderr
    assert "WARNING certpolicy" in result.stderr  # the rejection, logged


def test_commands_without_a_config_refuse_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "certpolicy.toml"
    config.write_text(CONFIG)
    for args in (["--config", str(config), "example"], ["example", "--defaults", "upgrade"]):
        code, out, err = invoke(capsys, *args, "--json")
        assert code == 2
        assert "--config and --defaults do not apply" in json.loads(out)["error"]
        assert "do not apply" in err
    code, out, _ = invoke(capsys, "example", "--json")
    assert code == 0
    assert json.loads(out)["ok"] is True


def test_help_lists_the_new_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for text in ("--version", "cache", "trust", "3 unreachable"):
        assert text in result.stdout
    trust = run("trust", "--help")
    assert "list" in trust.stdout
    assert "remove" in trust.stdout
