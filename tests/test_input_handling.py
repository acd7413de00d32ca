"""Careless and hostile input gets a typed CertPolicyError (or a usage error), never a bare
Python exception, a silently dropped entry or a damaged file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import certpolicy as cp
from certpolicy._util import from_unix
from certpolicy.policy import rewrite_parameters
from test_tls_server import self_signed

from pki import make_pki

CLI = [sys.executable, "-m", "certpolicy"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("hosts", [""]), ("hosts", ["a.example", "  "]), ("ip_ranges", ["10.0.0.0/8", ""])],
)
def test_an_empty_pattern_is_refused_not_dropped(field: str, value: list[str]) -> None:
    with pytest.raises(cp.PolicyError, match="empty entry"):
        cp.Policy("P", "override", **{field: value})
    joined = ",".join([*value, "b.example"])  # as the table API sends lists
    with pytest.raises(cp.PolicyError, match="empty entry"):
        cp.PolicySet.from_records([{"name": "P", "type": "override", field: joined}])


@pytest.mark.parametrize(
    "document",
    [
        '{"policy": ' + "[" * 100_000 + "]" * 100_000 + "}",  # nested too deep
        json.dumps({"policy": [{"name": "X", "kind": "override"}]}).replace(
            '"override"}', '"override", "order": ' + "9" * 5000 + "}"
        ),  # an integer too long to convert
        '{"policy": [{"name": "\\udc80", "kind": "override"}]}',  # a lone surrogate
    ],
    ids=["deep", "long-integer", "surrogate"],
)
def test_hostile_policy_files_are_typed_errors(tmp_path: Path, document: str) -> None:
    path = tmp_path / "policies.json"
    path.write_text(document)
    with pytest.raises(cp.CertPolicyError):
        cp.PolicySet.from_file(path)


def test_odd_python_arguments_are_typed_errors() -> None:
    pki = make_pki()
    with pytest.raises(cp.HostnameMismatchError):
        cp.verify_hostname(pki.leaf.der, "a\udc80.example")
    with pytest.raises(cp.MalformedInputError):
        cp.verify_chain([pki.leaf.der], cp.TrustStore(), max_depth=2**70)
    with pytest.raises(cp.PolicyError):
        cp.PolicySet.defaults().select("a\udc80.example")
    with pytest.raises(cp.PolicyError):
        cp.PolicySet.defaults().select("a.example", None, 70000)


def test_times_beyond_datetime_are_clamped() -> None:
    """GeneralizedTime can say year 0000; Python's datetime starts at year 1."""
    year_zero = -62_167_219_200  # 0000-01-01T00:00:00Z
    assert from_unix(year_zero).year == 1
    assert from_unix(10**15).year == 9999


def test_cli_port_out_of_range_is_a_usage_error() -> None:
    result = subprocess.run(
        [*CLI, "policy", "select", "a.example", "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "not a port number" in result.stderr


def test_a_symlinked_config_xml_is_edited_where_it_points(tmp_path: Path) -> None:
    real = tmp_path / "real" / "config.xml"
    real.parent.mkdir()
    real.write_text('<parameters><parameter name="a" value="1"/></parameters>\n')
    link = tmp_path / "config.xml"
    link.symlink_to(real)
    rewrite_parameters(link, {"a": "2"})
    assert link.is_symlink()
    assert cp.AgentConfig.read(real).parameters["a"] == "2"


def test_markup_inside_cdata_is_never_edited(tmp_path: Path) -> None:
    path = tmp_path / "config.xml"
    original = (
        "<parameters>\n"
        '  <note><![CDATA[<parameter name="a" value="example"/>]]></note>\n'
        '  <parameter name="a" value="1"/>\n'
        "</parameters>\n"
    )
    path.write_text(original)
    rewrite_parameters(path, {"a": "2"})
    text = path.read_text()
    assert '<![CDATA[<parameter name="a" value="example"/>]]>' in text
    assert '<parameter name="a" value="2"/>' in text


def test_trust_import_keeps_the_file_as_it_was(tmp_path: Path) -> None:
    """Comments, other blocks and the permission bits of the trust file survive an import."""
    first, second = self_signed(["one.example"]), self_signed(["two.example"])
    store = tmp_path / "trust.pem"
    store.write_bytes(b"# our appliances\n" + first.pem + b"# end\n")
    os.chmod(store, 0o640)
    config = tmp_path / "certpolicy.toml"
    config.write_text('[trust]\nstore = "trust.pem"\n')
    new = tmp_path / "two.pem"
    new.write_bytes(second.pem)
    result = subprocess.run(
        [*CLI, "trust", "import", str(new), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    content = store.read_bytes()
    assert content.startswith(b"# our appliances\n" + first.pem + b"# end\n")
    assert content.endswith(second.pem)
    assert stat.S_IMODE(store.stat().st_mode) == 0o640
    assert cp.TrustStore().add_pem(content) == 2


def test_trailing_bytes_after_a_certificate_fail_the_hostname_check() -> None:
    """verify_hostname reads one certificate, as cert_info does: appended bytes are refused,
    and an engine whose policy checks only the hostname reports it failed."""
    pki = make_pki(["leaf.example"])
    padded = pki.leaf.der + b"\x00\x00"
    with pytest.raises(cp.HostnameMismatchError, match="not one DER certificate"):
        cp.verify_hostname(padded, "leaf.example")
    only_hostname = cp.Policy("Web", "internet", check_chain=False, check_revocation=False)
    engine = cp.Engine(cp.PolicySet([only_hostname]), cp.TrustStore())
    report = engine.check([padded], "leaf.example")
    assert report.result("hostname").status == "failed"
