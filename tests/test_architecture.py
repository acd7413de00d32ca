"""The import-linter contracts of pyproject.toml hold for the package, and they can fail:
an upward import added to a copy of the package (also one inside a function) breaks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "python" / "certpolicy"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="import-linter is not installed (pip install '.[test]')"
)


def lint(source_root: Path) -> subprocess.CompletedProcess[str]:
    """Runs lint-imports with the project's contracts over the package under source_root."""
    return subprocess.run(
        [str(LINT_IMPORTS), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=source_root,
        env={"PYTHONPATH": str(source_root), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def copy_package(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "certpolicy", ignore=shutil.ignore_patterns("*.so"))
    return tmp_path


def test_the_package_keeps_its_contracts(tmp_path: Path) -> None:
    result = lint(copy_package(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # A lazy import inside a function counts: checks may not reach up to the engine.
        (
            "checks/_trust.py",
            "\n\ndef _upward() -> object:\n    from certpolicy.engine import Engine\n\n"
            "    return Engine\n",
            "One-way layers",
        ),
        # policy and revocation are independent siblings.
        ("policy/_records.py", "\nimport certpolicy.revocation  # noqa\n", "One-way layers"),
        # Another package's private module.
        (
            "tls/_peer.py",
            "\nimport certpolicy.revocation.crl._fetch  # noqa\n",
            "Private modules stay inside",
        ),
    ],
)
def test_a_bad_import_breaks_a_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    root = copy_package(tmp_path)
    target = root / "certpolicy" / module
    target.write_text(target.read_text() + line)
    result = lint(root)
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]
    assert any(contract in row for row in broken), result.stdout
