"""The certpolicy command line, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pki import Pki

CLI = [sys.executable, "-m", "certpolicy"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, check=False)


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


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run().returncode == 2
    assert run("verify", str(tmp_path / "missing.pem")).returncode == 2
    empty = tmp_path / "empty.pem"
    empty.write_text("nothing here")
    result = run("verify", str(empty))
    assert result.returncode == 2
    assert "no PEM CERTIFICATE" in result.stderr
