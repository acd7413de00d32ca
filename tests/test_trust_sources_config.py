"""Choosing the trust sources in configuration: certpolicy.toml ``[trust] sources`` (and the
older ``defaults``), config.xml's ``certpolicy.trust.sources``; strict types, ConfigErrors
naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

import certpolicy as cp
from test_tls_server import tls_server

from pki import Cert, make_pki, make_root

CERTIFI_COUNT = len(cp.TrustStore.default())


@pytest.fixture
def system_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cert:
    """A root that only the system store holds (SSL_CERT_FILE; no system directory)."""
    root = make_root("system-only root")
    bundle = tmp_path / "system-bundle.pem"
    bundle.write_bytes(root.pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", "")
    return root


def toml_engine(tmp_path: Path, trust: str) -> cp.Engine:
    path = tmp_path / "certpolicy.toml"
    path.write_text(f"[trust]\n{trust}\n")
    return cp.Engine.from_config(path)


def certifi_ders() -> set[bytes]:
    return set(cp.TrustStore.default().certificates())


# --- certpolicy.toml --------------------------------------------------------------------


def test_toml_default_is_certifi(tmp_path: Path, system_root: Cert) -> None:
    store = toml_engine(tmp_path, "").trust
    assert set(store.certificates()) == certifi_ders()
    assert system_root.der not in store.certificates()


def test_toml_system_only(tmp_path: Path, system_root: Cert) -> None:
    store = toml_engine(tmp_path, 'sources = ["system"]').trust
    assert store.certificates() == [system_root.der]


def test_toml_certifi_and_system(tmp_path: Path, system_root: Cert) -> None:
    store = toml_engine(tmp_path, 'sources = ["certifi", "system"]').trust
    assert set(store.certificates()) == certifi_ders() | {system_root.der}
    assert len(store) == CERTIFI_COUNT + 1


def test_toml_no_sources_leaves_the_files_only(tmp_path: Path, system_root: Cert) -> None:
    corp = make_root("corp root")
    (tmp_path / "corp.pem").write_bytes(corp.pem)
    store = toml_engine(tmp_path, 'sources = []\nfiles = ["corp.pem"]').trust
    assert store.certificates() == [corp.der]


@pytest.mark.parametrize(
    ("trust", "expected"),
    [
        ("defaults = false", set()),
        ('defaults = false\nsources = ["system"]', "system"),
        ('defaults = true\nsources = ["certifi", "system"]', "both"),
        ('defaults = true\nsources = ["certifi"]', "certifi"),
        ("defaults = true", "certifi"),
    ],
)
def test_toml_defaults_agrees_with_sources(
    tmp_path: Path, system_root: Cert, trust: str, expected: object
) -> None:
    want = {
        "system": {system_root.der},
        "certifi": certifi_ders(),
        "both": certifi_ders() | {system_root.der},
    }.get(str(expected), set())
    assert set(toml_engine(tmp_path, trust).trust.certificates()) == want


@pytest.mark.parametrize(
    ("trust", "needle"),
    [
        ('defaults = false\nsources = ["certifi"]', "contradicts"),
        ('defaults = true\nsources = ["system"]', "contradicts"),
        ("defaults = true\nsources = []", "contradicts"),
        ('sources = "system"', "sources must be a list"),
        ("sources = [1]", "sources must be a list"),
        ('sources = ["system", "windows"]', "unknown trust source(s) 'windows'"),
        ('sources = ["Certifi"]', "unknown trust source(s) 'Certifi'"),
        ('defaults = "false"', "defaults must be true or false"),
        ('source = ["system"]', "unknown key(s) source"),
    ],
)
def test_toml_bad_trust_sources(tmp_path: Path, trust: str, needle: str) -> None:
    with pytest.raises(cp.ConfigError) as info:
        toml_engine(tmp_path, trust)
    message = str(info.value)
    assert needle in message
    assert str(tmp_path / "certpolicy.toml") in message
    assert "[trust]" in message


# --- config.xml ---------------------------------------------------------------------------


def config_xml(tmp_path: Path, value: str | None) -> Path:
    path = tmp_path / "config.xml"
    parameter = (
        "" if value is None else f'  <parameter name="certpolicy.trust.sources" value="{value}"/>\n'
    )
    path.write_text(f"<parameters>\n{parameter}</parameters>\n")
    return path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ("certifi",)),
        ("", ("certifi",)),
        ("certifi", ("certifi",)),
        ("system", ("system",)),
        ("certifi,system", ("certifi", "system")),
        (" System , CERTIFI ", ("system", "certifi")),
        ("system,system", ("system",)),
        ("none", ()),
        ("None", ()),
    ],
)
def test_config_xml_parameter(tmp_path: Path, value: str | None, expected: tuple[str, ...]) -> None:
    assert cp.AgentConfig.read(config_xml(tmp_path, value)).trust_sources == expected


@pytest.mark.parametrize("value", ["windows", "certifi,", "none,system", "certifi;system", ","])
def test_config_xml_bad_parameter(tmp_path: Path, value: str) -> None:
    with pytest.raises(cp.ConfigError, match=r"certpolicy\.trust\.sources is"):
        cp.AgentConfig.read(config_xml(tmp_path, value))


def test_config_xml_engine_uses_the_sources_and_the_file_beside(
    tmp_path: Path, system_root: Cert
) -> None:
    beside = make_root("imported beside config.xml")
    (tmp_path / "certpolicy-trust.pem").write_bytes(beside.pem)
    engine = cp.Engine.from_config(config_xml(tmp_path, "system"))
    assert engine.trust.certificates() == [system_root.der, beside.der]
    engine = cp.Engine.from_config(config_xml(tmp_path, "none"))
    assert engine.trust.certificates() == [beside.der]
    engine = cp.Engine.from_config(config_xml(tmp_path, None))
    assert len(engine.trust) == CERTIFI_COUNT + 1
    assert system_root.der not in engine.trust.certificates()


def test_config_xml_system_source_verifies_a_real_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corp = make_pki(["localhost", "127.0.0.1"])
    bundle = tmp_path / "os-bundle.pem"
    bundle.write_bytes(corp.root.pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", "")
    path = tmp_path / "config.xml"
    # The store comes from config.xml; the policy has revocation off (no responder here).
    path.write_text(
        "<parameters>\n"
        '  <parameter name="certpolicy.trust.sources" value="certifi,system"/>\n'
        "</parameters>\n"
    )
    policies = cp.PolicySet([cp.Policy("Internet", "internet", check_revocation=False)])
    with tls_server([corp.leaf, corp.intermediate], corp.leaf.key_pem, tmp_path) as server:
        with_system = cp.Engine(policies, cp.Engine.from_config(path).trust)
        assert with_system.check_endpoint(server.url("127.0.0.1")).ok
        certifi_only = cp.Engine(policies, cp.Engine.from_config(config_xml(tmp_path, "")).trust)
        refused = certifi_only.check_endpoint(server.url("127.0.0.1"))
        assert refused.result("chain").status == "failed"


# --- the Python API ---------------------------------------------------------------------


def test_from_sources_api(system_root: Cert) -> None:
    assert cp.TrustStore.from_sources([]).certificates() == []
    assert cp.TrustStore.from_sources(("system",)).certificates() == [system_root.der]
    assert len(cp.TrustStore.from_sources(iter(["certifi", "system"]))) == CERTIFI_COUNT + 1
    with pytest.raises(cp.ConfigError, match=r"TrustStore\.from_sources"):
        cp.TrustStore.from_sources("system")
    with pytest.raises(cp.ConfigError, match="unknown trust source"):
        cp.TrustStore.from_sources(["os"])
