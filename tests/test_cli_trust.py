"""``certpolicy trust list`` and ``trust remove``: the trust store file the config names,
listed and edited (atomically, the rest of the file kept byte for byte), and an engine made
from the config afterwards trusts exactly what the file says."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

import certpolicy as cp
from certpolicy.cli import main
from test_tls_server import self_signed

from pki import Cert


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def appliances() -> list[Cert]:
    return [
        self_signed(["nas.corp.example"], common_name="NAS appliance"),
        self_signed(["printer.corp.example"], common_name="Printer appliance"),
        self_signed(["wiki.corp.example"], common_name="Wiki"),
    ]


@pytest.fixture
def config(tmp_path: Path, appliances: list[Cert]) -> Path:
    """A certpolicy.toml whose store holds the three appliances, with comments around."""
    store = tmp_path / "trust.pem"
    store.write_bytes(
        b"# the agent's own anchors\n"
        + appliances[0].pem
        + b"\n# printers\n"
        + appliances[1].pem
        + appliances[2].pem
        + b"# end\n"
    )
    store.chmod(0o640)
    path = tmp_path / "certpolicy.toml"
    path.write_text('[trust]\ndefaults = false\nstore = "trust.pem"\n')
    return path


def sha256(cert: Cert) -> str:
    return str(cp.cert_info(cert.der)["sha256"]).lower()


def test_list_shows_the_store_file(
    capsys: pytest.CaptureFixture[str], config: Path, appliances: list[Cert]
) -> None:
    code, listing = invoke(capsys, "trust", "list", "--config", str(config))
    assert code == 0
    assert listing["store"] == str(config.parent / "trust.pem")
    assert listing["exists"] is True
    anchors = listing["anchors"]
    assert isinstance(anchors, list)
    assert [a["subject"] for a in anchors] == [
        "CN=NAS appliance,O=certpolicy intranet",
        "CN=Printer appliance,O=certpolicy intranet",
        "CN=Wiki,O=certpolicy intranet",
    ]
    assert [a["sha256"] for a in anchors] == [sha256(c) for c in appliances]
    assert anchors[0]["not_after"] == appliances[0].cert.not_valid_after_utc.isoformat()
    code = main(["trust", "list", "--config", str(config)])
    text = capsys.readouterr().out
    assert code == 0
    assert f"trust store file {config.parent / 'trust.pem'}: 3 certificates" in text
    assert f"    sha256 {sha256(appliances[2])}  not after " in text


def test_list_all_shows_every_anchor_in_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config: Path, appliances: list[Cert]
) -> None:
    root = self_signed(["root.example"], common_name="Configured root", ca=True)
    (tmp_path / "root.pem").write_bytes(root.pem)
    config.write_text('[trust]\ndefaults = false\nfiles = ["root.pem"]\nstore = "trust.pem"\n')
    code, listing = invoke(capsys, "trust", "list", "--all", "--config", str(config))
    assert code == 0
    anchors = listing["anchors"]
    assert isinstance(anchors, list)
    marks = {a["subject"]: a["in_store_file"] for a in anchors}
    assert marks == {
        "CN=Configured root,O=certpolicy intranet": False,
        "CN=NAS appliance,O=certpolicy intranet": True,
        "CN=Printer appliance,O=certpolicy intranet": True,
        "CN=Wiki,O=certpolicy intranet": True,
    }
    # Without a config: the defaults (certifi's roots), none from a store file.
    code, listing = invoke(capsys, "trust", "list", "--all")
    assert code == 0
    assert listing["store"] is None
    defaults = listing["anchors"]
    assert isinstance(defaults, list)
    assert len(defaults) == len(cp.TrustStore.default())
    assert not any(a["in_store_file"] for a in defaults)


def test_list_without_a_store_file_yet(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.xml"
    config.write_text('<parameters><parameter name="url" value="https://a.example"/></parameters>')
    code, listing = invoke(capsys, "trust", "list", "--config", str(config))
    assert code == 0
    assert listing == {
        "store": str(tmp_path / "certpolicy-trust.pem"),
        "exists": False,
        "anchors": [],
    }
    code, error = invoke(capsys, "trust", "list")
    assert code == 2
    assert "trust list needs --config" in str(error["error"])


def test_remove_by_sha256_keeps_the_rest_byte_for_byte(
    capsys: pytest.CaptureFixture[str], config: Path, appliances: list[Cert]
) -> None:
    store = config.parent / "trust.pem"
    before = store.read_bytes()
    digest = sha256(appliances[1])
    colons = ":".join(digest[i : i + 2] for i in range(0, 64, 2)).upper()  # as openssl prints
    code, result = invoke(capsys, "trust", "remove", colons, "--config", str(config))
    assert code == 0
    assert result["removed"] == [
        {
            "subject": "CN=Printer appliance,O=certpolicy intranet",
            "sha256": digest,
            "not_before": appliances[1].cert.not_valid_before_utc.isoformat(),
            "not_after": appliances[1].cert.not_valid_after_utc.isoformat(),
        }
    ]
    assert result["remaining"] == 2
    assert store.read_bytes() == before.replace(appliances[1].pem, b"")
    assert stat.S_IMODE(store.stat().st_mode) == 0o640  # the file's mode stays
    assert not [p for p in store.parent.iterdir() if p.name.endswith(".tmp")]
    # An engine made from the config now trusts the other two only.
    engine = cp.Engine.from_config(config)
    assert {sha256(c) for c in appliances} - {
        str(cp.cert_info(d)["sha256"]).lower() for d in engine.trust.certificates()
    } == {digest}


def test_remove_by_subject(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    code, result = invoke(capsys, "trust", "remove", "wiki", "--config", str(config))
    assert code == 0
    assert [r["subject"] for r in result["removed"]] == ["CN=Wiki,O=certpolicy intranet"]  # type: ignore[attr-defined]
    code, listing = invoke(capsys, "trust", "list", "--config", str(config))
    assert [a["subject"] for a in listing["anchors"]] == [  # type: ignore[attr-defined]
        "CN=NAS appliance,O=certpolicy intranet",
        "CN=Printer appliance,O=certpolicy intranet",
    ]


def test_an_ambiguous_match_needs_all(
    capsys: pytest.CaptureFixture[str], config: Path, appliances: list[Cert]
) -> None:
    store = config.parent / "trust.pem"
    before = store.read_bytes()
    code, error = invoke(capsys, "trust", "remove", "APPLIANCE", "--config", str(config))
    assert code == 2
    assert "'APPLIANCE' matches 2 certificates" in str(error["error"])
    assert "--all" in str(error["error"])
    assert [m["subject"] for m in error["matched"]] == [  # type: ignore[attr-defined]
        "CN=NAS appliance,O=certpolicy intranet",
        "CN=Printer appliance,O=certpolicy intranet",
    ]
    assert store.read_bytes() == before  # nothing removed
    code, result = invoke(capsys, "trust", "remove", "appliance", "--all", "--config", str(config))
    assert code == 0
    assert len(result["removed"]) == 2  # type: ignore[arg-type]
    assert store.read_bytes() == b"# the agent's own anchors\n\n# printers\n" + (
        appliances[2].pem + b"# end\n"
    )


def test_nothing_matches(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    store = config.parent / "trust.pem"
    before = store.read_bytes()
    for query in ("router", "ab" * 32):
        code, error = invoke(capsys, "trust", "remove", query, "--config", str(config))
        assert code == 2
        assert f"no certificate in {store} matches {query!r}" in str(error["error"])
    # A SHA-256 matches only that certificate, never as a substring of a subject.
    assert store.read_bytes() == before
    (config.parent / "trust.pem").unlink()
    code, error = invoke(capsys, "trust", "remove", "wiki", "--config", str(config))
    assert code == 2
    assert "no trust store file" in str(error["error"])


def test_removing_the_last_certificate_deletes_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    appliance = self_signed(["nas.corp.example"])
    config = tmp_path / "config.xml"
    config.write_text('<parameters><parameter name="url" value="https://a.example"/></parameters>')
    (tmp_path / "nas.der").write_bytes(appliance.der)
    assert main(["trust", "import", str(tmp_path / "nas.der"), "--config", str(config)]) == 0
    store = tmp_path / "certpolicy-trust.pem"
    assert store.read_bytes() == appliance.pem
    capsys.readouterr()
    code, result = invoke(capsys, "trust", "remove", "nas.corp", "--config", str(config))
    assert code == 0
    assert result["deleted_file"] is True
    assert result["remaining"] == 0
    assert not store.exists()
    cp.Engine.from_config(config)  # loads: no empty store file left behind


def test_remove_through_a_symlinked_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, appliances: list[Cert]
) -> None:
    """The store file may be a symlink (as trust import allows): the file it points to is
    rewritten, the link stays."""
    real = tmp_path / "shared" / "anchors.pem"
    real.parent.mkdir()
    real.write_bytes(appliances[0].pem + appliances[1].pem)
    folder = tmp_path / "agent"
    folder.mkdir()
    os.symlink(real, folder / "trust.pem")
    config = folder / "certpolicy.toml"
    config.write_text('[trust]\ndefaults = false\nstore = "trust.pem"\n')
    code, result = invoke(capsys, "trust", "remove", "NAS", "--config", str(config))
    assert code == 0
    assert result["store"] == str(real)
    assert (folder / "trust.pem").is_symlink()
    assert real.read_bytes() == appliances[1].pem
