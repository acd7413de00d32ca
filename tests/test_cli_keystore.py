"""``certpolicy trust import KEYSTORE``: the trusted entries of a Java keystore or PKCS#12
file go to the trust store file the config names, the password from --storepass,
--storepass-file or $CERTPOLICY_STOREPASS; wrong passwords and the like change nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, NoEncryption
from cryptography.hazmat.primitives.serialization.pkcs12 import (
    PKCS12Certificate,
    serialize_java_truststore,
    serialize_key_and_certificates,
)

import certpolicy as cp
from certpolicy.cli import main
from test_keystore import strip_mac

from pki import Pki, make_pki

PASSWORD = "changeit"
KEYTOOL = shutil.which("keytool")


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki(["localhost", "127.0.0.1"])


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "certpolicy.toml"
    path.write_text('[trust]\nsources = []\nstore = "trust.pem"\n')
    return path


@pytest.fixture
def truststore(pki: Pki, tmp_path: Path) -> Path:
    """A Java PKCS#12 trust store (encrypted certificates), as cryptography writes it."""
    path = tmp_path / "truststore.p12"
    certs = [
        PKCS12Certificate(pki.root.cert, b"root"),
        PKCS12Certificate(pki.intermediate.cert, b"intermediate"),
    ]
    path.write_bytes(serialize_java_truststore(certs, BestAvailableEncryption(PASSWORD.encode())))
    return path


def stored(config: Path) -> set[bytes]:
    return set(cp.Engine.from_config(config).trust.certificates())


def test_import_with_storepass(
    capsys: pytest.CaptureFixture[str], config: Path, truststore: Path, pki: Pki
) -> None:
    code, result = invoke(
        capsys, "trust", "import", str(truststore), "--storepass", PASSWORD, "--config", str(config)
    )
    assert code == 0, result
    assert len(result["added"]) == 2  # type: ignore[arg-type]
    keystore = result["keystore"]
    assert isinstance(keystore, dict)
    assert keystore["kind"] == "pkcs12"
    assert keystore["integrity_checked"] is True
    assert stored(config) == {pki.root.der, pki.intermediate.der}
    # Again: nothing new.
    code, result = invoke(
        capsys, "trust", "import", str(truststore), "--storepass", PASSWORD, "--config", str(config)
    )
    assert code == 0
    assert result["added"] == []
    assert len(result["already_present"]) == 2  # type: ignore[arg-type]


def test_password_from_a_file_and_from_the_environment(
    capsys: pytest.CaptureFixture[str],
    config: Path,
    truststore: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = tmp_path / "storepass"
    secret.write_text(PASSWORD + "\n")
    code, result = invoke(
        capsys,
        "trust",
        "import",
        str(truststore),
        "--storepass-file",
        str(secret),
        "--config",
        str(config),
    )
    assert code == 0, result
    assert len(result["added"]) == 2  # type: ignore[arg-type]
    (tmp_path / "trust.pem").unlink()
    monkeypatch.setenv("CERTPOLICY_STOREPASS", PASSWORD)
    code, result = invoke(capsys, "trust", "import", str(truststore), "--config", str(config))
    assert code == 0, result
    assert len(result["added"]) == 2  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("password", "needle"),
    [("wrong", "password is wrong"), (None, "password is needed")],
)
def test_wrong_or_missing_password_changes_nothing(
    capsys: pytest.CaptureFixture[str],
    config: Path,
    truststore: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    password: str | None,
    needle: str,
) -> None:
    monkeypatch.delenv("CERTPOLICY_STOREPASS", raising=False)
    extra = ["--storepass", password] if password is not None else []
    code, error = invoke(
        capsys, "trust", "import", str(truststore), *extra, "--config", str(config)
    )
    assert code == 2
    assert needle in str(error["error"])
    assert not (tmp_path / "trust.pem").exists()


def test_tampered_keystore_changes_nothing(
    capsys: pytest.CaptureFixture[str], config: Path, truststore: Path, tmp_path: Path
) -> None:
    data = bytearray(truststore.read_bytes())
    data[-40] ^= 0x01  # inside the MAC
    truststore.write_bytes(bytes(data))
    code, error = invoke(
        capsys, "trust", "import", str(truststore), "--storepass", PASSWORD, "--config", str(config)
    )
    assert code == 2
    assert "altered" in str(error["error"])
    assert not (tmp_path / "trust.pem").exists()


def test_identity_imports_nothing_and_says_why(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path, pki: Pki
) -> None:
    # A key, its certificate and its CA: an identity, nothing marked trusted. The CA is the
    # key's chain, not an anchor: nothing is written, and the error counts what was skipped.
    identity = tmp_path / "identity.p12"
    identity.write_bytes(
        serialize_key_and_certificates(
            b"me",
            pki.leaf.key,
            pki.leaf.cert,
            [pki.root.cert],
            BestAvailableEncryption(PASSWORD.encode()),
        )
    )
    code, error = invoke(
        capsys, "trust", "import", str(identity), "--storepass", PASSWORD, "--config", str(config)
    )
    assert code == 2, error
    message = str(error["error"])
    assert "has no trusted certificate entry; 3 entries skipped:" in message
    assert "1: certificate not marked trusted in a file with a private key" in message
    assert "1: private key" in message
    assert not (tmp_path / "trust.pem").exists()


def test_mac_stripped_keystore_with_storepass_changes_nothing(
    capsys: pytest.CaptureFixture[str],
    config: Path,
    tmp_path: Path,
    pki: Pki,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CERTPOLICY_STOREPASS", raising=False)
    certs = [PKCS12Certificate(pki.root.cert, b"root")]
    stripped = tmp_path / "stripped.p12"
    stripped.write_bytes(strip_mac(serialize_java_truststore(certs, NoEncryption())))
    for password in (PASSWORD, "wrong"):
        code, error = invoke(
            capsys,
            "trust",
            "import",
            str(stripped),
            "--storepass",
            password,
            "--config",
            str(config),
        )
        assert code == 2, error
        assert "the file has no MAC" in str(error["error"])
        assert not (tmp_path / "trust.pem").exists()
    # Without a password: imported unauthenticated, and the text output says so.
    assert main(["trust", "import", str(stripped), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "warning: integrity not checked (no password given)" in out
    assert stored(config) == {pki.root.der}


@pytest.mark.parametrize(
    "args",
    [
        ["trust", "list", "--storepass", "hunter2"],
        ["trust", "list", "--storepass=hunter2"],
        ["trust", "list", "--stor", "hunter2"],
        ["trust", "--storepass", "hunter2", "import", "x.p12"],  # quoted as an invalid command
        ["trust", "import", "--sto=hunter2", "x.p12"],  # ambiguous abbreviation
    ],
)
def test_usage_errors_mask_the_storepass(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code = main(["--json", *args])
    captured = capsys.readouterr()
    assert code == 2
    assert "hunter2" not in captured.out
    assert "hunter2" not in captured.err
    error = json.loads(captured.out)["error"]
    assert "***" in error
    assert "***" in captured.err


def test_storepass_with_a_pem_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path, pki: Pki
) -> None:
    pem = tmp_path / "root.pem"
    pem.write_bytes(pki.root.pem)
    code, error = invoke(
        capsys, "trust", "import", str(pem), "--storepass", PASSWORD, "--config", str(config)
    )
    assert code == 2
    assert "not a keystore" in str(error["error"])
    # Without it the PEM file imports as before.
    code, _ = invoke(capsys, "trust", "import", str(pem), "--config", str(config))
    assert code == 0
    assert stored(config) == {pki.root.der}


def test_storepass_and_storepass_file_exclude_each_other(
    capsys: pytest.CaptureFixture[str], config: Path, truststore: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "storepass"
    secret.write_text(PASSWORD)
    code, error = invoke(
        capsys,
        "trust",
        "import",
        str(truststore),
        "--storepass",
        PASSWORD,
        "--storepass-file",
        str(secret),
        "--config",
        str(config),
    )
    assert code == 2
    assert "not allowed with" in str(error["error"])


def test_keytool_jks_without_password_warns_in_the_text_output(
    capsys: pytest.CaptureFixture[str],
    config: Path,
    tmp_path: Path,
    pki: Pki,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if KEYTOOL is None:
        if os.environ.get("CI") == "true":
            pytest.fail("keytool is missing under CI: install default-jre-headless")
        pytest.skip("keytool (a Java runtime) is not installed; CI installs default-jre-headless")
    monkeypatch.delenv("CERTPOLICY_STOREPASS", raising=False)
    (tmp_path / "root.pem").write_bytes(pki.root.pem)
    store = tmp_path / "agent.jks"
    command = [KEYTOOL, "-importcert", "-storetype", "JKS", "-keystore", str(store)]
    command += ["-alias", "root", "-file", str(tmp_path / "root.pem")]
    subprocess.run(
        [*command, "-storepass", PASSWORD, "-noprompt"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert main(["trust", "import", str(store), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"keystore {store} (jks)" in out
    assert "warning: integrity not checked" in out
    assert stored(config) == {pki.root.der}
