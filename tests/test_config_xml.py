"""config.xml: bootstrap parameters, byte-for-byte preserving rewrites, atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import certpolicy as cp
from certpolicy.policy import _config_xml as cfg

UNRELATED = "\n".join(
    f'    <parameter name="mid.unrelated.setting.{i}" value="value-{i} &amp; more"/>'
    for i in range(40)
)

REALISTIC = f"""<?xml version="1.0" encoding="UTF-8"?>
<parameters>
    <!-- Agent configuration. Edit with care. -->
    <parameter name="url" value="https://acme.service-now.com/"/>
    <parameter name="mid.instance.username" value="mid_user"/>
    <parameter name="mid.instance.password" value="s3cret&quot;pw" secure="true"/>
    <!--
    <parameter name="mid.ssl.bootstrap.default.check_cert_chain" value="commented-out"/>
    -->
    <parameter   name='mid.ssl.bootstrap.default.check_cert_hostname'   value='true' />
{UNRELATED}
    <parameter name="mid.ssl.bootstrap.default.check_cert_chain" value="true"/>
	<parameter name="name.with.tab" value="x"/>
    <parameter name="mid.ssl.use.instance.security.policy" value="false"/>
    <!-- trailing comment -->
</parameters>
"""


@pytest.fixture
def config_xml(tmp_path: Path) -> Path:
    path = tmp_path / "config.xml"
    path.write_text(REALISTIC, encoding="utf-8")
    path.chmod(0o640)
    return path


def test_reads_bootstrap_parameters(config_xml: Path) -> None:
    agent = cp.AgentConfig.read(config_xml)
    assert agent.url == "https://acme.service-now.com/"
    assert agent.username == "mid_user"
    assert agent.password == 's3cret"pw'
    assert (agent.check_hostname, agent.check_chain, agent.check_revocation) == (True, True, False)
    assert agent.use_instance_policy is False
    assert agent.target_endpoint == "*.service-now.com"
    assert agent.instance_host == "acme.service-now.com"
    assert "s3cret" not in repr(agent)


def test_defaults_when_parameters_are_absent(tmp_path: Path) -> None:
    path = tmp_path / "config.xml"
    path.write_text("<parameters/>")
    agent = cp.AgentConfig.read(path)
    assert (agent.check_hostname, agent.check_chain, agent.check_revocation) == (True, True, False)
    assert agent.use_instance_policy is False
    assert agent.target_endpoint == "*.service-now.com"
    assert agent.url is None


def test_policy_set_from_config_xml(config_xml: Path, tmp_path: Path) -> None:
    ps = cp.PolicySet.from_config_xml(config_xml)
    instance = ps["Instance"]
    assert instance.checks == {"chain": True, "hostname": True, "revocation": False}
    assert "acme.service-now.com" in instance.hosts
    assert [p.kind for p in ps] == ["instance", "intranet", "internet"]
    other = tmp_path / "other.xml"
    other.write_text(
        '<parameters><parameter name="mid.ssl.bootstrap.default.target_endpoint" '
        'value="*.corp.example, mid.example.net"/>'
        '<parameter name="mid.ssl.bootstrap.default.check_cert_hostname" value="FALSE"/>'
        '<parameter name="url" value="https://instance.corp.example"/></parameters>'
    )
    ps = cp.PolicySet.from_config_xml(other)
    assert ps.select("x.corp.example").kind == "instance"
    assert ps.select("mid.example.net").kind == "instance"
    assert ps.select("x.corp.example").check_hostname is False
    engine = cp.Engine.from_config(other)
    assert engine.policies == ps
    assert engine.config is not None


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            f'<parameters><parameter name="{cfg.CHECK_CHAIN}" value="maybe"/></parameters>',
            "not true or false",
        ),
        ("<parameters><unclosed></parameters>", "not well-formed"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><parameters/>', "DTDs"),
        ('<parameters><parameter name="url" value="ftp://x"/></parameters>', "not an http(s) URL"),
    ],
)
def test_bad_files_are_config_errors(tmp_path: Path, body: str, needle: str) -> None:
    path = tmp_path / "config.xml"
    path.write_text(body)
    with pytest.raises(cp.ConfigError, match=None) as info:
        cp.AgentConfig.read(path)
    assert needle in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(cp.ConfigError, match="cannot read"):
        cp.AgentConfig.read(tmp_path / "nope.xml")


def test_rewrite_changes_only_the_values(config_xml: Path) -> None:
    agent = cp.AgentConfig.read(config_xml)
    agent.write_checks(chain=False, hostname=False, revocation=True)
    new = config_xml.read_text(encoding="utf-8")
    expected = (
        REALISTIC.replace(
            "name='mid.ssl.bootstrap.default.check_cert_hostname'   value='true'",
            "name='mid.ssl.bootstrap.default.check_cert_hostname'   value='false'",
        )
        .replace(
            '<parameter name="mid.ssl.bootstrap.default.check_cert_chain" value="true"/>',
            '<parameter name="mid.ssl.bootstrap.default.check_cert_chain" value="false"/>',
        )
        .replace(
            "    <!-- trailing comment -->\n</parameters>",
            "    <!-- trailing comment -->\n"
            '    <parameter name="mid.ssl.bootstrap.default.check_cert_revocation" value="true"/>\n'
            "</parameters>",
        )
    )
    assert new == expected
    # The commented-out parameter is untouched and the new values read back.
    assert 'value="commented-out"' in new
    again = cp.AgentConfig.read(config_xml)
    assert (again.check_chain, again.check_hostname, again.check_revocation) == (False, False, True)
    assert stat.S_IMODE(config_xml.stat().st_mode) == 0o640


def test_rewrite_is_idempotent_and_skips_identical_writes(config_xml: Path) -> None:
    before = config_xml.stat().st_mtime_ns
    cfg.rewrite_parameters(config_xml, {cfg.CHECK_CHAIN: "true"})
    assert config_xml.read_text() == REALISTIC
    assert config_xml.stat().st_mtime_ns == before


def test_values_are_escaped(config_xml: Path) -> None:
    cfg.rewrite_parameters(config_xml, {"mid.unrelated.setting.3": 'a<b & "c"'})
    assert 'value="a&lt;b &amp; &quot;c&quot;"' in config_xml.read_text()
    assert cfg.AgentConfig.read(config_xml).parameters["mid.unrelated.setting.3"] == 'a<b & "c"'


def test_crlf_and_self_closing_root(tmp_path: Path) -> None:
    path = tmp_path / "config.xml"
    path.write_bytes(b'<parameters>\r\n  <parameter name="a" value="1"/>\r\n</parameters>\r\n')
    cfg.rewrite_parameters(path, {"b": "2"})
    assert path.read_bytes() == (
        b'<parameters>\r\n  <parameter name="a" value="1"/>\r\n'
        b'  <parameter name="b" value="2"/>\r\n</parameters>\r\n'
    )


def test_crash_mid_write_leaves_the_old_file(
    config_xml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        cfg.rewrite_parameters(config_xml, {cfg.CHECK_CHAIN: "false"})
    assert config_xml.read_text() == REALISTIC
    assert sorted(p.name for p in config_xml.parent.iterdir()) == ["config.xml"]


def test_crash_during_fsync_leaves_the_old_file(
    config_xml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(fd: int) -> None:
        raise OSError("simulated power loss")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="power loss"):
        cfg.rewrite_parameters(config_xml, {cfg.CHECK_CHAIN: "false"})
    assert config_xml.read_text() == REALISTIC
    assert sorted(p.name for p in config_xml.parent.iterdir()) == ["config.xml"]


def test_refuses_to_rewrite_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "config.xml"
    path.write_text("<parameters><parameter name='a' value='1'>")
    with pytest.raises(cp.ConfigError):
        cfg.rewrite_parameters(path, {"a": "2"})
    assert path.read_text() == "<parameters><parameter name='a' value='1'>"


def test_a_rewrite_that_would_not_read_back_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.xml"
    original = '<parameters><parameter name="a" value="x>y"/></parameters>'
    path.write_text(original)
    with pytest.raises(cp.ConfigError, match="left unchanged"):
        cfg.rewrite_parameters(path, {"a": "z"})
    assert path.read_text() == original


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_an_entity_in_any_encoding_is_refused(tmp_path: Path, encoding: str) -> None:
    """The DTD refusal is the parser's, not a byte pattern: a UTF-16 file with an internal
    entity that would expand to "false" (turning the chain check off) is refused."""
    text = (
        '<?xml version="1.0" encoding="utf-16"?>\n'
        '<!DOCTYPE parameters [<!ENTITY off "false">]>\n'
        f'<parameters><parameter name="{cfg.CHECK_CHAIN}" value="&off;"/></parameters>\n'
    )
    data = text.encode(encoding)
    if encoding != "utf-16":  # with its byte order mark, as editors write it
        data = ("\ufeff" + text).encode(encoding)
    path = tmp_path / "config.xml"
    path.write_bytes(data)
    with pytest.raises(cp.ConfigError, match="DTDs and entity declarations are not accepted"):
        cp.AgentConfig.read(path)


def test_a_utf16_file_without_a_dtd_is_read(tmp_path: Path) -> None:
    text = (
        '<?xml version="1.0" encoding="utf-16"?>\n'
        f'<parameters><parameter name="{cfg.CHECK_CHAIN}" value="false"/></parameters>\n'
    )
    path = tmp_path / "config.xml"
    path.write_bytes(text.encode("utf-16"))
    assert cp.AgentConfig.read(path).check_chain is False
