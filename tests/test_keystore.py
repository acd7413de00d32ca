"""TrustStore.add_keystore: Java keystores (JKS, JCEKS) and PKCS#12 files written by the real
tools (keytool, openssl pkcs12, cryptography), integrity checks with the password, typed
errors that add nothing, and a real TLS server verified with the imported anchors."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, NoEncryption
from cryptography.hazmat.primitives.serialization.pkcs12 import (
    PKCS12Certificate,
    serialize_java_truststore,
    serialize_key_and_certificates,
)

import certpolicy as cp
from certpolicy.checks import read_keystore
from test_tls_server import tls_server

from pki import Cert, Pki, make_pki, make_root

PASSWORD = "changeit"
KEYTOOL = shutil.which("keytool")
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")


@dataclass
class Stores:
    """Keystores written by keytool in one folder (one JVM start per command is slow)."""

    folder: Path
    pki: Pki
    identity: Cert  # the key entry's certificate: never an anchor


def strip_mac(pfx: bytes) -> bytes:
    """A PKCS#12 file without its MAC: PFX ::= SEQUENCE { version, authSafe, macData }
    re-encoded without macData, as anyone who can write the file can do."""

    def element(at: int) -> tuple[int, int]:  # (content start, end) of the TLV at ``at``
        length, start = pfx[at + 1], at + 2
        if length & 0x80:
            count = length & 0x7F
            length, start = int.from_bytes(pfx[start : start + count], "big"), start + count
        return start, start + length

    start, end = element(0)
    _, version_end = element(start)
    _, auth_safe_end = element(version_end)
    assert auth_safe_end < end, "no MAC to strip"
    body = pfx[start:auth_safe_end]
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    length = bytes([len(body)]) if len(body) < 0x80 else bytes([0x80 | len(size)]) + size
    return b"\x30" + length + body


def keytool(*args: str) -> None:
    assert KEYTOOL is not None
    subprocess.run(
        [KEYTOOL, *args, "-storepass", PASSWORD, "-noprompt"],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Stores:
    if KEYTOOL is None:
        if os.environ.get("CI") == "true":
            pytest.fail("keytool is missing under CI: install default-jre-headless")
        pytest.skip("keytool (a Java runtime) is not installed; CI installs default-jre-headless")
    folder = tmp_path_factory.mktemp("keystores")
    pki = make_pki(["localhost", "127.0.0.1"])
    (folder / "root.pem").write_bytes(pki.root.pem)
    (folder / "intermediate.pem").write_bytes(pki.intermediate.pem)
    identity = make_root("keystore identity")
    key_store = folder / "identity-src.p12"
    key_store.write_bytes(
        serialize_key_and_certificates(
            b"identity", identity.key, identity.cert, None, BestAvailableEncryption(b"changeit")
        )
    )
    for kind in ("JKS", "PKCS12", "JCEKS"):
        store = str(folder / f"trust.{kind.lower()}")
        for alias in ("root", "intermediate"):
            keytool(
                "-importcert",
                "-storetype",
                kind,
                "-keystore",
                store,
                "-alias",
                alias,
                "-file",
                str(folder / f"{alias}.pem"),
            )
    # Key entries alone, their chain CA-issued (the test leaf, intermediate and root): no
    # trusted-certificate entry at all.
    chain_source = folder / "chain-src.p12"
    chain_source.write_bytes(
        serialize_key_and_certificates(
            b"agent",
            pki.leaf.key,
            pki.leaf.cert,
            [pki.intermediate.cert, pki.root.cert],
            BestAvailableEncryption(b"changeit"),
        )
    )
    for kind in ("JKS", "PKCS12"):
        keytool(
            "-importkeystore",
            "-srckeystore",
            str(chain_source),
            "-srcstoretype",
            "PKCS12",
            "-srcstorepass",
            PASSWORD,
            "-destkeystore",
            str(folder / f"keyonly.{kind.lower()}"),
            "-deststoretype",
            kind,
            "-deststorepass",
            PASSWORD,
        )
    # A password-less PKCS#12 trust store (no MAC, nothing encrypted), as Java 18+ ships its
    # cacerts.
    keytool(
        "-J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE",
        "-J-Dkeystore.pkcs12.macAlgorithm=NONE",
        "-importcert",
        "-storetype",
        "PKCS12",
        "-keystore",
        str(folder / "trust-nomac.pkcs12"),
        "-alias",
        "root",
        "-file",
        str(folder / "root.pem"),
    )
    for kind in ("JKS", "PKCS12"):
        store = str(folder / f"identity.{kind.lower()}")
        keytool(
            "-importkeystore",
            "-srckeystore",
            str(key_store),
            "-srcstoretype",
            "PKCS12",
            "-srcstorepass",
            PASSWORD,
            "-destkeystore",
            store,
            "-deststoretype",
            kind,
            "-deststorepass",
            PASSWORD,
        )
        keytool(
            "-importcert",
            "-storetype",
            kind,
            "-keystore",
            store,
            "-alias",
            "root",
            "-file",
            str(folder / "root.pem"),
        )
    keytool(
        "-genseckey",
        "-storetype",
        "JCEKS",
        "-keystore",
        str(folder / "secret.jceks"),
        "-alias",
        "aes",
        "-keyalg",
        "AES",
        "-keysize",
        "128",
    )
    return Stores(folder, pki, identity)


def reason_of(info: pytest.ExceptionInfo[cp.MalformedInputError]) -> str:
    # Every keystore failure is a KeystoreError (a MalformedInputError) with its reason.
    assert isinstance(info.value, cp.KeystoreError), repr(info.value)
    return info.value.keystore_error


def expect_error(path: Path, password: str | bytes | None, reason: str | tuple[str, ...]) -> None:
    """The import fails with a typed error of that reason and adds nothing."""
    store = cp.TrustStore()
    store.add_der(make_root("already there").der)
    before = store.certificates()
    with pytest.raises(cp.MalformedInputError) as info:
        store.add_keystore(path, password)
    reasons = (reason,) if isinstance(reason, str) else reason
    assert reason_of(info) in reasons, str(info.value)
    assert str(path) in str(info.value)
    assert store.certificates() == before


# --- keytool --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["jks", "pkcs12", "jceks"])
def test_keytool_trust_store(stores: Stores, kind: str) -> None:
    store = cp.TrustStore()
    assert store.add_keystore(stores.folder / f"trust.{kind}", PASSWORD) == 2
    assert set(store.certificates()) == {stores.pki.root.der, stores.pki.intermediate.der}
    assert store.add_keystore(stores.folder / f"trust.{kind}", PASSWORD) == 0  # duplicates


@pytest.mark.parametrize("kind", ["jks", "jceks"])
def test_java_keystore_without_password_is_read_unauthenticated(
    stores: Stores, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = cp.TrustStore()
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        assert store.add_keystore(stores.folder / f"trust.{kind}") == 2
    assert "integrity not checked (no password given)" in caplog.text


def test_keytool_pkcs12_needs_its_password(stores: Stores) -> None:
    # keytool encrypts the certificates of a PKCS#12 store (PBES2, AES-256).
    expect_error(stores.folder / "trust.pkcs12", None, "password_required")


@pytest.mark.parametrize("kind", ["jks", "pkcs12", "jceks"])
def test_wrong_password_adds_nothing(stores: Stores, kind: str) -> None:
    expect_error(stores.folder / f"trust.{kind}", "wrong", "integrity")


@pytest.mark.parametrize("kind", ["jks", "pkcs12"])
def test_tampered_byte_fails_the_integrity_check(stores: Stores, kind: str, tmp_path: Path) -> None:
    data = bytearray((stores.folder / f"trust.{kind}").read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp_path / f"tampered.{kind}"
    tampered.write_bytes(bytes(data))
    # A flipped bit may also break the structure (PKCS#12 is DER): malformed then.
    expect_error(tampered, PASSWORD, ("integrity", "malformed"))


@pytest.mark.parametrize("kind", ["jks", "pkcs12"])
def test_truncated_file(stores: Stores, kind: str, tmp_path: Path) -> None:
    data = (stores.folder / f"trust.{kind}").read_bytes()
    truncated = tmp_path / f"truncated.{kind}"
    truncated.write_bytes(data[: len(data) - 30])
    # Without the password nothing checks a digest: the structure is short.
    expect_error(truncated, None, "malformed")
    expect_error(truncated, PASSWORD, ("integrity", "malformed"))


@pytest.mark.parametrize("kind", ["jks", "pkcs12"])
def test_private_key_entry_is_no_anchor(
    stores: Stores, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = cp.TrustStore()
    with caplog.at_level(logging.INFO, logger="certpolicy"):
        assert store.add_keystore(stores.folder / f"identity.{kind}", PASSWORD) == 1
    assert store.certificates() == [stores.pki.root.der]
    assert stores.identity.der not in store.certificates()
    assert "skipped" in caplog.text


@pytest.mark.parametrize("kind", ["jks", "pkcs12"])
def test_key_entry_alone_gives_no_anchor(
    stores: Stores, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A keystore holding only a private-key entry (leaf, intermediate, root): Java trusts no
    # entry of it. The PKCS#12 one used to make the key's CA chain anchors.
    store = cp.TrustStore()
    with caplog.at_level(logging.INFO, logger="certpolicy"):
        assert store.add_keystore(stores.folder / f"keyonly.{kind}", PASSWORD) == 0
    assert len(store) == 0
    assert "no trusted certificate entry; nothing added" in caplog.text
    contents = read_keystore(stores.folder / f"keyonly.{kind}", PASSWORD)
    assert contents.integrity_checked
    assert contents.anchors == ()
    if kind == "pkcs12":
        reasons = [reason for _, reason in contents.skipped]
        assert reasons.count("private key") == 1
        assert sum("certificate of a private key" in r for r in reasons) == 1
        assert sum("not marked trusted in a file with a private key" in r for r in reasons) == 2
        assert contents.skipped_summary().startswith("2: certificate not marked trusted")


def test_keytool_passwordless_pkcs12(stores: Stores, caplog: pytest.LogCaptureFixture) -> None:
    # No MAC: with a password (any) it cannot be checked, so it is refused; without one it
    # is read unauthenticated, with a WARNING.
    path = stores.folder / "trust-nomac.pkcs12"
    for password in (PASSWORD, "wrong", ""):
        expect_error(path, password, "integrity")
    store = cp.TrustStore()
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        assert store.add_keystore(path) == 1
    assert store.certificates() == [stores.pki.root.der]
    assert "integrity not checked (no password given)" in caplog.text


def test_jceks_secret_key_is_refused_clearly(stores: Stores) -> None:
    store = cp.TrustStore()
    with pytest.raises(cp.MalformedInputError, match="secret-key entry") as info:
        store.add_keystore(stores.folder / "secret.jceks", PASSWORD)
    assert reason_of(info) == "unsupported"
    assert len(store) == 0


def test_engine_with_keytool_anchors_verifies_a_real_server(stores: Stores, tmp_path: Path) -> None:
    trust = cp.TrustStore()
    trust.add_keystore(stores.folder / "trust.pkcs12", PASSWORD)
    policies = cp.PolicySet([cp.Policy("Internet", "internet", check_revocation=False)])
    pki = stores.pki
    with tls_server([pki.leaf, pki.intermediate], pki.leaf.key_pem, tmp_path) as server:
        report = cp.Engine(policies, trust).check_endpoint(server.url("127.0.0.1"))
        assert report.ok, report.message()
        refused = cp.Engine(policies, cp.TrustStore()).check_endpoint(server.url("127.0.0.1"))
        assert refused.result("chain").status == "failed"


# --- cryptography ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki(["localhost", "127.0.0.1"])


def java_truststore(pki: Pki, encryption: BestAvailableEncryption | NoEncryption) -> bytes:
    certs = [
        PKCS12Certificate(pki.root.cert, b"root"),
        PKCS12Certificate(pki.intermediate.cert, b"intermediate"),
    ]
    return serialize_java_truststore(certs, encryption)


def test_cryptography_java_truststore_encrypted(pki: Pki, tmp_path: Path) -> None:
    path = tmp_path / "truststore.p12"
    path.write_bytes(java_truststore(pki, BestAvailableEncryption(PASSWORD.encode())))
    store = cp.TrustStore()
    assert store.add_keystore(path, PASSWORD) == 2
    assert set(store.certificates()) == {pki.root.der, pki.intermediate.der}
    expect_error(path, "wrong", "integrity")
    expect_error(path, None, "password_required")


def test_cryptography_java_truststore_unencrypted(
    pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "truststore.p12"
    path.write_bytes(java_truststore(pki, NoEncryption()))
    store = cp.TrustStore()
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        assert store.add_keystore(path) == 2
    assert "integrity not checked" in caplog.text
    # Its MAC is keyed with the empty password: that one verifies, another does not.
    assert cp.TrustStore().add_keystore(path, "") == 2
    expect_error(path, PASSWORD, "integrity")


def test_mac_stripped_pkcs12_with_a_password_adds_nothing(
    pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The review's reproduction: the genuine store has a MAC; an attacker who can write the
    # file replaces it with an unprotected one holding another root, its MAC removed. Any
    # password, right or wrong, used to import it (with a WARNING).
    evil = make_root("Evil Root")
    genuine = tmp_path / "good.p12"
    genuine.write_bytes(java_truststore(pki, BestAvailableEncryption(PASSWORD.encode())))
    tampered = tmp_path / "tampered.p12"
    certs = [PKCS12Certificate(pki.root.cert, b"corp"), PKCS12Certificate(evil.cert, b"evil")]
    tampered.write_bytes(strip_mac(serialize_java_truststore(certs, NoEncryption())))
    assert cp.TrustStore().add_keystore(genuine, PASSWORD) == 2
    for password in (PASSWORD, "WRONG-password", "", PASSWORD.encode()):
        expect_error(tampered, password, "integrity")
        with pytest.raises(cp.KeystoreError, match="the file has no MAC"):
            read_keystore(tampered, password)
    # Without a password it is read as before: unauthenticated, and said so.
    store = cp.TrustStore()
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        assert store.add_keystore(tampered) == 2
    assert evil.der in store.certificates()
    assert "integrity not checked (no password given)" in caplog.text
    # The genuine store with its MAC removed: its certificates are encrypted, so without the
    # password there is nothing to read, and with it there is nothing to check.
    stripped = tmp_path / "stripped.p12"
    stripped.write_bytes(strip_mac(genuine.read_bytes()))
    expect_error(stripped, PASSWORD, "integrity")
    expect_error(stripped, None, "password_required")


def test_cryptography_identity_gives_no_anchor(
    pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A key, its certificate and the CA certificates beside it, none marked trusted: an
    # identity. Its CA certificates are the key's chain, not anchors.
    path = tmp_path / "identity.p12"
    path.write_bytes(
        serialize_key_and_certificates(
            b"me",
            pki.leaf.key,
            pki.leaf.cert,
            [pki.intermediate.cert, pki.root.cert],
            BestAvailableEncryption(PASSWORD.encode()),
        )
    )
    store = cp.TrustStore()
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        assert store.add_keystore(path, PASSWORD.encode()) == 0  # bytes passwords are UTF-8
    assert len(store) == 0
    assert "4 entries skipped: 2: certificate not marked trusted" in caplog.text
    expect_error(path, "wrong", "integrity")


# --- openssl pkcs12 -export -----------------------------------------------------------------


@needs_openssl
@pytest.mark.parametrize("legacy", [False, True], ids=["default", "legacy"])
def test_openssl_export(pki: Pki, tmp_path: Path, legacy: bool) -> None:
    assert OPENSSL is not None
    (tmp_path / "leaf.pem").write_bytes(pki.leaf.pem)
    (tmp_path / "leaf.key").write_bytes(pki.leaf.key_pem)
    (tmp_path / "cas.pem").write_bytes(pki.intermediate.pem + pki.root.pem)
    out = tmp_path / "export.p12"
    command = [OPENSSL, "pkcs12", "-export", "-in", "leaf.pem", "-inkey", "leaf.key"]
    command += ["-certfile", "cas.pem", "-passout", f"pass:{PASSWORD}", "-out", str(out)]
    if legacy:
        command.append("-legacy")  # RC2-40 certificates, 3DES key, SHA-1 MAC
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True, timeout=60)
    # An identity: the CA certificates beside the key are not marked trusted, so not anchors.
    contents = read_keystore(out, PASSWORD)
    assert contents.integrity_checked
    assert contents.anchors == ()
    assert len(contents.skipped) == 4
    assert cp.TrustStore().add_keystore(out, PASSWORD) == 0
    expect_error(out, "wrong", "integrity")
    # Its certificates alone (-nokeys) are all anchors.
    command = [OPENSSL, "pkcs12", "-export", "-nokeys", "-in", "cas.pem"]
    command += ["-passout", f"pass:{PASSWORD}", "-out", "cas.p12"]
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True, timeout=60)
    store = cp.TrustStore()
    assert store.add_keystore(tmp_path / "cas.p12", PASSWORD) == 2
    assert set(store.certificates()) == {pki.root.der, pki.intermediate.der}


# --- bad files and arguments ----------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [b"", b"garbage, not a keystore", b"\xfe\xed\xfe\xed\x00", b"\x30\x03\x02\x01\x03"]
)
def test_garbage_is_malformed(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "garbage.ks"
    path.write_bytes(data)
    expect_error(path, None, "malformed")
    expect_error(path, PASSWORD, ("malformed", "integrity"))


def test_missing_file_and_oversized_file(tmp_path: Path) -> None:
    expect_error(tmp_path / "missing.jks", None, "unreadable")
    big = tmp_path / "big.p12"
    with big.open("wb") as out:
        out.truncate(cp._core.MAX_KEYSTORE_BYTES + 1)  # sparse
    expect_error(big, None, "too_costly")


def test_password_type_is_strict(tmp_path: Path) -> None:
    path = tmp_path / "any.jks"
    path.write_bytes(b"")
    with pytest.raises(TypeError, match="password must be"):
        cp.TrustStore().add_keystore(path, 1234)  # type: ignore[arg-type]
    expect_error(path, b"\xff", "malformed")


JAVA_CACERTS = Path("/etc/ssl/certs/java/cacerts")  # Debian's ca-certificates-java


@pytest.mark.skipif(not JAVA_CACERTS.is_file(), reason=f"no {JAVA_CACERTS} on this machine")
def test_the_system_java_cacerts_imports_as_it_is() -> None:
    store = cp.TrustStore()
    # Debian writes it as a JKS keystore with Java's well-known password.
    added = store.add_keystore(JAVA_CACERTS, "changeit")
    assert added > 50
    assert len(store) == added
    expect_error(JAVA_CACERTS, "not-changeit", "integrity")
