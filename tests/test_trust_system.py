"""TrustStore.system(): the OS store, read as OpenSSL reads it ($SSL_CERT_FILE, $SSL_CERT_DIR,
else OpenSSL's defaults), from bundles and from hashed directories made by the real
``openssl rehash``; bad entries are skipped and logged, never fatal."""

from __future__ import annotations

import logging
import os
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

import certpolicy as cp
from certpolicy.checks import _system_store
from test_tls_server import tls_server

from pki import Cert, Pki, make_pki, make_root

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")


@pytest.fixture
def roots() -> list[Cert]:
    return [make_root(f"system root {index}") for index in range(3)]


def rehashed(directory: Path, certs: list[Cert]) -> Path:
    """A directory of one PEM file per certificate, hashed by the real ``openssl rehash``."""
    directory.mkdir(parents=True, exist_ok=True)
    for index, cert in enumerate(certs):
        (directory / f"cert{index}.pem").write_bytes(cert.pem)
    assert OPENSSL is not None
    subprocess.run([OPENSSL, "rehash", str(directory)], check=True, timeout=60)
    hashed = [p for p in directory.iterdir() if _system_store._HASHED_NAME.fullmatch(p.name)]
    assert len(hashed) == len(certs), "openssl rehash made one hashed link per certificate"
    return directory


def only(monkeypatch: pytest.MonkeyPatch, *, file: str = "", directory: str = "") -> None:
    """Points the store at exactly these sources (an empty variable names nothing)."""
    monkeypatch.setenv("SSL_CERT_FILE", file)
    monkeypatch.setenv("SSL_CERT_DIR", directory)


def ders(store: cp.TrustStore) -> set[bytes]:
    return set(store.certificates())


def skipped_files(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        getattr(record, "trust_file", "")
        for record in caplog.records
        if record.name == "certpolicy" and record.levelno == logging.WARNING
    ]


# --- sources --------------------------------------------------------------------------------


def test_bundle_from_ssl_cert_file(
    roots: list[Cert], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"# a comment\n" + b"".join(root.pem for root in roots))
    only(monkeypatch, file=str(bundle))
    store = cp.TrustStore.system()
    assert ders(store) == {root.der for root in roots}
    assert len(store) == 3


@needs_openssl
def test_hashed_directory_from_ssl_cert_dir(
    roots: list[Cert], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = rehashed(tmp_path / "certs", roots)
    # Only the hashed names: the plain *.pem files gone, as in a pure c_rehash directory.
    for plain in directory.glob("*.pem"):
        target = plain.resolve()
        for link in directory.iterdir():
            if link.is_symlink() and link.resolve() == target:
                link.unlink()
                link.write_bytes(plain.read_bytes())
        plain.unlink()
    assert not list(directory.glob("*.pem"))
    only(monkeypatch, directory=str(directory))
    assert ders(cp.TrustStore.system()) == {root.der for root in roots}


@needs_openssl
def test_several_directories_separated_by_pathsep(
    roots: list[Cert], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = rehashed(tmp_path / "first", roots[:2])
    second = rehashed(tmp_path / "second", roots[2:])
    missing = tmp_path / "not-there"
    only(monkeypatch, directory=os.pathsep.join([str(first), "", str(missing), str(second)]))
    assert ders(cp.TrustStore.system()) == {root.der for root in roots}


@needs_openssl
def test_file_and_directory_together_count_each_certificate_once(
    roots: list[Cert], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Debian's layout: hashed links to *.pem links, plus the bundle, all holding the same roots.
    directory = rehashed(tmp_path / "certs", roots)
    bundle = directory / "ca-certificates.crt"
    bundle.write_bytes(b"".join(root.pem for root in roots))
    extra = make_root("only in the bundle")
    separate = tmp_path / "separate.pem"
    separate.write_bytes(roots[0].pem + extra.pem)
    only(monkeypatch, file=str(separate), directory=str(directory))
    store = cp.TrustStore.system()
    assert len(store) == 4
    assert ders(store) == {root.der for root in [*roots, extra]}


def test_plain_pem_crt_and_der_files_are_read_other_names_are_not(
    roots: list[Cert], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "certs"
    directory.mkdir()
    (directory / "one.pem").write_bytes(roots[0].pem)
    (directory / "two.CRT").write_bytes(roots[1].der)  # DER, upper-case suffix
    (directory / "README").write_bytes(roots[2].pem)  # not a certificate name
    (directory / "deadbeef.r0").write_bytes(roots[2].pem)  # a hashed CRL name
    (directory / "sub.pem").mkdir()  # a directory that looks like a file: skipped
    only(monkeypatch, directory=str(directory))
    assert ders(cp.TrustStore.system()) == {roots[0].der, roots[1].der}


def test_symlinks_are_followed_even_outside_the_directory(
    roots: list[Cert], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "usr-share-ca-certificates"
    shared.mkdir()
    (shared / "corp.crt").write_bytes(roots[0].pem)
    directory = tmp_path / "etc-ssl-certs"
    directory.mkdir()
    (directory / "corp.pem").symlink_to(shared / "corp.crt")
    only(monkeypatch, directory=str(directory))
    assert ders(cp.TrustStore.system()) == {roots[0].der}


def test_each_variable_replaces_only_its_own_default(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = ssl.get_default_verify_paths()
    monkeypatch.setenv("SSL_CERT_FILE", "/some/bundle.pem")
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    sources = _system_store.system_sources()
    assert sources.files == (Path("/some/bundle.pem"),)
    assert sources.directories == (
        (Path(defaults.openssl_capath),) if defaults.openssl_capath else ()
    )
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.setenv("SSL_CERT_DIR", os.pathsep.join(["/a", "/b"]))
    sources = _system_store.system_sources()
    assert sources.directories == (Path("/a"), Path("/b"))
    assert sources.files == ((Path(defaults.openssl_cafile),) if defaults.openssl_cafile else ())


def test_openssl_default_paths_when_the_variables_are_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    defaults = ssl.get_default_verify_paths()
    capath = Path(defaults.openssl_capath)
    cafile = Path(defaults.openssl_cafile)
    has_certs = (cafile.is_file() and b"BEGIN CERTIFICATE" in cafile.read_bytes()) or (
        capath.is_dir() and any(p.suffix in (".pem", ".crt", ".0") for p in capath.iterdir())
    )
    if not has_certs:
        pytest.skip(f"this machine has no OpenSSL default certificates ({cafile}, {capath})")
    store = cp.TrustStore.system()
    assert len(store) > 0
    if cafile.is_file():
        in_file = cafile.read_bytes().count(b"-----BEGIN CERTIFICATE-----")
        assert len(store) >= min(in_file, 1)


# --- bad entries ----------------------------------------------------------------------------


def test_malformed_entries_are_skipped_and_logged(
    roots: list[Cert],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    directory = tmp_path / "certs"
    directory.mkdir()
    (directory / "0badc0de.0").write_bytes(
        b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"
    )
    (directory / "garbage.crt").write_bytes(b"\x30\x03\x02\x01\x01")
    (directory / "no-certs.pem").write_bytes(
        b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"
    )
    (directory / "good.pem").write_bytes(roots[0].pem)
    # A bundle with one bad block loses only that block.
    bad_block = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    (directory / "bundle.pem").write_bytes(roots[1].pem + bad_block + roots[2].pem)
    only(monkeypatch, directory=str(directory))
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        store = cp.TrustStore.system()
    assert ders(store) == {root.der for root in roots}
    logged = skipped_files(caplog)
    for bad in ("0badc0de.0", "garbage.crt", "no-certs.pem", "bundle.pem"):
        assert str(directory / bad) in logged, (bad, caplog.text)
    assert str(directory / "good.pem") not in logged
    assert "certificate #1" in caplog.text


def test_unreadable_and_dangling_entries_are_skipped_and_logged(
    roots: list[Cert],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    directory = tmp_path / "certs"
    directory.mkdir()
    (directory / "good.pem").write_bytes(roots[0].pem)
    locked = directory / "locked.pem"
    locked.write_bytes(roots[1].pem)
    locked.chmod(0)
    (directory / "12345678.0").symlink_to(tmp_path / "gone.pem")
    only(monkeypatch, directory=str(directory))
    try:
        with caplog.at_level(logging.WARNING, logger="certpolicy"):
            store = cp.TrustStore.system()
    finally:
        locked.chmod(0o600)
    logged = skipped_files(caplog)
    assert str(directory / "12345678.0") in logged
    assert "No such file" in caplog.text
    assert roots[0].der in ders(store)
    if getattr(os, "geteuid", lambda: -1)() == 0:
        return  # root reads a mode-000 file anyway; the dangling link covered "unreadable"
    assert str(locked) in logged
    assert ders(store) == {roots[0].der}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_never_blocks_the_load(
    roots: list[Cert],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    directory = tmp_path / "certs"
    directory.mkdir()
    os.mkfifo(directory / "pipe.pem")
    (directory / "good.pem").write_bytes(roots[0].pem)
    only(monkeypatch, directory=str(directory))
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        store = cp.TrustStore.system()
    assert ders(store) == {roots[0].der}
    assert "not a regular file" in caplog.text


def test_oversized_file_is_skipped(
    roots: list[Cert],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    big = tmp_path / "big.pem"
    with big.open("wb") as out:
        out.write(roots[0].pem)
        out.truncate(_system_store.MAX_SYSTEM_FILE_BYTES + 1)  # sparse: nothing written
    directory = tmp_path / "certs"
    directory.mkdir()
    (directory / "good.pem").write_bytes(roots[1].pem)
    only(monkeypatch, file=str(big), directory=str(directory))
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        store = cp.TrustStore.system()
    assert ders(store) == {roots[1].der}
    assert str(big) in skipped_files(caplog)
    assert "at most" in caplog.text


def test_directory_entry_cap(
    roots: list[Cert],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    directory = tmp_path / "certs"
    directory.mkdir()
    for index in range(5):
        (directory / f"filler{index}.txt").write_bytes(b"")
    (directory / "good.pem").write_bytes(roots[0].pem)
    monkeypatch.setattr(_system_store, "MAX_SYSTEM_DIR_ENTRIES", 3)
    only(monkeypatch, directory=str(directory))
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        cp.TrustStore.system()
    assert "entries; the rest is not read" in caplog.text
    assert str(directory) in skipped_files(caplog)


def test_empty_store_warns_and_fails_closed(
    pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    only(monkeypatch, directory=str(empty))
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        store = cp.TrustStore.system()
    assert len(store) == 0
    assert "no certificate found" in caplog.text
    with pytest.raises(cp.ChainError):
        cp.verify_chain(pki.chain, store)


def test_missing_file_named_by_the_environment_is_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "missing.pem"
    only(monkeypatch, file=str(missing))
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        assert len(cp.TrustStore.system()) == 0
    assert str(missing) in skipped_files(caplog)


# --- a real server --------------------------------------------------------------------------


@needs_openssl
def test_engine_with_the_system_store_verifies_a_real_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corp = make_pki(["localhost", "127.0.0.1"])
    directory = rehashed(tmp_path / "certs", [corp.root])
    only(monkeypatch, directory=str(directory))
    policies = cp.PolicySet([cp.Policy("Internet", "internet", check_revocation=False)])
    engine = cp.Engine(policies, cp.TrustStore.system())
    with tls_server([corp.leaf, corp.intermediate], corp.leaf.key_pem, tmp_path) as server:
        report = engine.check_endpoint(server.url("127.0.0.1"))
        assert report.ok, report.message()
        # Without the directory the same server is refused: the root came from there.
        only(monkeypatch, directory=str(tmp_path / "nothing"))
        refused = cp.Engine(policies, cp.TrustStore.system()).check_endpoint(
            server.url("127.0.0.1")
        )
        assert not refused.ok
        assert refused.result("chain").status == "failed"
