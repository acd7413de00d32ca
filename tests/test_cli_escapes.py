"""Terminal escapes from certificates, CRLs and files never reach the terminal raw: the human
output of the CLI (stdout, error messages and -v log lines on stderr) shows C0 controls
(newlines too), DEL, C1 controls and the bidi override/isolate characters as visible escapes
(``\\x1b``, ``\\x9b``, ``\\u202e``, ``\\n``). ``--json`` keeps the exact values (JSON is ASCII:
they are ``\\uXXXX`` escapes there)."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

import certpolicy.cli._cache as cache_cli
from certpolicy.cli import main
from certpolicy.cli._common import _printable
from certpolicy.revocation import DiskCacheEntry
from test_tls_server import self_signed, tls_server

import crl_pki as c
from loopback import tcp_server
from pki import END, START, Cert, Issuer, make_root, name, new_key

# Retitles the terminal (OSC 0 ... BEL), clears it (CSI 2 J), reverses what follows (RLO),
# an 8-bit CSI (C1), and a line break that would start a forged line.
HOSTILE = "x\x1b]0;pwned\x07\x1b[2J\u202e\x9b\nFORGED y"
HOSTILE_DNS = "evil\x1b]0;t\x07\x1b[2J\u202e\x9b\nFORGED.example"
# What must show instead (a subject is RFC 4514 text: its ";" is written "\;").
VISIBLE = (r"\x1b]0", r"\x07", r"\x1b[2J", r"\u202e", r"\x9b", r"\nFORGED")
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def assert_safe(text: str) -> None:
    """No raw control or bidi character, and no line the hostile text started."""
    found = RAW.search(text)
    assert found is None, f"raw {found[0]!r} in {text!r}"
    assert not any(line.lstrip().startswith("FORGED") for line in text.split("\n")), text


def assert_shown(text: str) -> None:
    """Safe, and the hostile text is there as visible escapes."""
    assert_safe(text)
    for escape in VISIBLE:
        assert escape in text, f"{escape} not in {text!r}"


@dataclass
class Site:
    root: Issuer
    ca: Issuer
    folder: Path

    @property
    def root_file(self) -> str:
        return str(self.folder / "root.pem")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    folder = tmp_path_factory.mktemp("escapes")
    root = make_root("escapes root")
    (folder / "root.pem").write_bytes(root.pem)
    return Site(root, root.issue_ca("escapes CA"), folder)


def hostile_leaf(issuer: Issuer, *, hostile_san: bool) -> Cert:
    """A leaf for bank.example whose subject CN (and with ``hostile_san`` a SAN dNSName,
    written unchecked) carries HOSTILE."""
    key = new_key("ec")
    names: list[x509.GeneralName] = [x509.DNSName("bank.example")]
    if hostile_san:
        names.append(x509.DNSName._init_without_validation(HOSTILE_DNS))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(HOSTILE))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(START)
        .not_valid_after(END)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
        .add_extension(x509.SubjectAlternativeName(names), False)
        .sign(issuer.key, hashes.SHA256())
    )
    return Cert(cert, key)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- the helper ---


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x00", r"\x00"),
        ("\t", r"\t"),
        ("\n", r"\n"),
        ("\r", r"\r"),
        ("\x1b", r"\x1b"),
        ("\x7f", r"\x7f"),
        ("\x80", r"\x80"),
        ("\x9b", r"\x9b"),
        ("\x9f", r"\x9f"),
        *((chr(code), f"\\u{code:04x}") for code in range(0x202A, 0x202F)),
        *((chr(code), f"\\u{code:04x}") for code in range(0x2066, 0x206A)),
        ("\udcff", r"\udcff"),  # a lone surrogate (an undecodable byte of a file name)
    ],
)
def test_printable_escapes(raw: str, shown: str) -> None:
    assert _printable(f"a{raw}b") == f"a{shown}b"
    assert _printable(_printable(f"a{raw}b")) == f"a{shown}b"  # escaping twice: the same


def test_printable_keeps_text() -> None:
    text = "CN=Zürich Straße \xa0 日本語 — ok\\;"
    assert _printable(text) == text
    assert _printable("one\ntwo\x1b", newlines=True) == "one\ntwo\\x1b"
    assert _printable(3) == "3"


# --- through the commands ---


@pytest.mark.parametrize("hostile_san", [False, True], ids=["cn", "cn-and-san"])
def test_verify(capsys: pytest.CaptureFixture[str], site: Site, hostile_san: bool) -> None:
    leaf = hostile_leaf(site.ca, hostile_san=hostile_san)
    chain = site.folder / f"esc-{hostile_san}.pem"
    chain.write_bytes(leaf.pem + site.ca.pem)
    # As the review ran it, with the hostname wrong too: the SANs are quoted.
    for host in ("bank.example", "other.example"):
        code, out, err = run(capsys, "verify", str(chain), "--host", host, "--ca", site.root_file)
        assert_shown(out)
        assert_safe(err)
        # Such a dNSName is no DNS name: the chain check refuses it.
        assert code == (0 if host == "bank.example" and not hostile_san else 1)
        assert ("verdict:  OK" if code == 0 else "verdict:  REJECTED") in out.split("\n")
        if hostile_san and host == "other.example":
            assert r"evil\x1b]0;t\x07\x1b[2J\u202e\x9b\nFORGED.example" in out


def test_verify_json_keeps_the_exact_values(capsys: pytest.CaptureFixture[str], site: Site) -> None:
    leaf = hostile_leaf(site.ca, hostile_san=True)
    chain = site.folder / "esc-json.pem"
    chain.write_bytes(leaf.pem + site.ca.pem)
    code, out, _ = run(
        capsys, "verify", str(chain), "--host", "bank.example", "--ca", site.root_file, "--json"
    )
    assert code == 1
    assert out.isascii()  # every control, C1 and bidi character as a \uXXXX escape
    for escape in ("\\u001b]0", "\\u0007", "\\u202e", "\\u009b", "\\nFORGED"):
        assert escape in out
    subject = json.loads(out)["chain"][0]["subject"]
    assert subject == "CN=" + HOSTILE.replace(";", "\\;") + ",O=certpolicy tests"


def test_check_against_a_loopback_server(
    capsys: pytest.CaptureFixture[str], site: Site, tmp_path: Path
) -> None:
    leaf = hostile_leaf(site.ca, hostile_san=True)
    with tls_server([leaf, site.ca], leaf.key_pem, tmp_path) as server:
        target = f"bank.example:{server.port}"
        code, out, err = run(
            capsys,
            "check",
            target,
            "--resolve",
            f"{target}:127.0.0.1",
            "--ca",
            site.root_file,
            "--timeout",
            "20",
            "-v",  # the engine's rejection, logged to stderr, quotes the subject too
        )
    assert code == 1
    assert_shown(out)
    assert_shown(err)
    assert "verdict:  REJECTED" in out.split("\n")


def test_trust_list_import_and_remove(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    appliances = [
        self_signed(["nas.example"], common_name=HOSTILE),
        self_signed(["printer.example"], common_name=HOSTILE + " 2"),
    ]
    (tmp_path / "trust.pem").write_bytes(appliances[0].pem)
    config = tmp_path / "certpolicy.toml"
    config.write_text('[trust]\ndefaults = false\nstore = "trust.pem"\n')
    code, out, err = run(capsys, "trust", "list", "--config", str(config))
    assert code == 0
    assert_shown(out)
    assert out.count("\n") == 3  # the head line and two lines for the one anchor
    other = tmp_path / "other.pem"
    other.write_bytes(appliances[1].pem)
    code, out, err = run(capsys, "trust", "import", str(other), "--config", str(config))
    assert code == 0
    assert_shown(out)
    # Both match: the error names them, escaped (the message keeps its own lines).
    code, out, err = run(capsys, "trust", "remove", "pwned", "--config", str(config))
    assert code == 2
    assert out == ""
    assert_shown(err)
    assert "matches 2 certificates" in err


def test_crl_show_and_lookup(capsys: pytest.CaptureFixture[str], site: Site) -> None:
    hostile_name = name(HOSTILE)
    crl = c.make_crl(site.ca, [c.Entry(7)], issuer_name=hostile_name)
    crl_file = site.folder / "hostile.crl"
    crl_file.write_bytes(crl)
    code, out, err = run(capsys, "crl", "show", str(crl_file))
    assert code == 0
    assert_shown(out)
    assert_safe(err)
    assert out.startswith("issuer       CN=x\\x1b]0")
    code, out, err = run(capsys, "crl", "lookup", str(crl_file), "8")
    assert code == 0
    assert_shown(out)  # "not revoked (CRL of <issuer> ...)"
    # A certificate the CRL does not cover (another issuer name): the error quotes both.
    cert_file = site.folder / "covered.pem"
    cert_file.write_bytes(site.ca.issue_leaf(["bank.example"]).pem)
    code, out, err = run(capsys, "crl", "lookup", str(crl_file), str(cert_file))
    assert code == 2
    assert_shown(err)
    assert "does not cover the certificate" in err
    # With --json the exact issuer is in the error object's details.
    code, out, err = run(capsys, "crl", "lookup", str(crl_file), str(cert_file), "--json")
    assert code == 2
    assert (
        json.loads(out)["crl_issuer"] == "CN=" + HOSTILE.replace(";", "\\;") + ",O=certpolicy tests"
    )
    assert_safe(err)


def test_policy_names_from_a_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "certpolicy.toml"
    config.write_text(
        '[[policy]]\nname = "Bank\\u001b]0;pwned\\u0007\\u001b[2J\\u202e\\u009b\\nFORGED"\n'
        'kind = "override"\nhosts = ["bank.example"]\ncheck_revocation = false\n'
    )
    for command in (["policy", "select", "bank.example"], ["policy", "list"]):
        code, out, err = run(capsys, *command, "--config", str(config))
        assert code == 0
        assert_shown(out)
        assert err == ""
        assert "    from " in out  # the origin line: the CLI's own line break stays


def test_cache_show_escapes_a_cached_url(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a CRL entry's metadata says is listed as read (its URL came from a certificate).
    when = dt.datetime(2030, 1, 2, tzinfo=dt.UTC)
    entry = DiskCacheEntry(
        "crl", "0" * 32, ("x.crl",), 10, when, url="http://crl.example/" + HOSTILE, number=1
    )
    monkeypatch.setattr(cache_cli, "disk_cache_entries", lambda *_: [entry])
    config = tmp_path / "certpolicy.toml"
    config.write_text('[revocation]\ncache_dir = "cache"\n')
    code, out, err = run(capsys, "cache", "show", "--crl", "--config", str(config))
    assert code == 0
    assert_shown(out)
    assert "  http://crl.example/x\\x1b]0;pwned" in out
    assert err == ""


def test_ocsp_error_quotes_the_url_from_the_certificate(
    capsys: pytest.CaptureFixture[str], site: Site
) -> None:
    def hang_up(conn: socket.socket, stop: threading.Event) -> None:
        conn.close()

    with tcp_server(hang_up) as port:
        leaf = site.ca.issue_leaf(
            ["bank.example"], ocsp_urls=[f"http://127.0.0.1:{port}/x\x1b[2J\x07\x7fy"]
        )
        cert_file, ca_file = site.folder / "ocsp-leaf.pem", site.folder / "ocsp-ca.pem"
        cert_file.write_bytes(leaf.pem)
        ca_file.write_bytes(site.ca.pem)
        code, out, err = run(capsys, "ocsp", str(cert_file), str(ca_file), "--timeout", "10")
    assert code == 3
    assert out == ""
    assert_safe(err)
    assert f"OCSP responder http://127.0.0.1:{port}/x\\x1b[2J\\x07\\x7fy: " in err


def test_usage_error_quoting_an_argument(capsys: pytest.CaptureFixture[str]) -> None:
    # argparse quotes unrecognized arguments as they are (a list pasted from a file).
    code, out, err = run(capsys, "policy", "list", "bank\x1b[2J\u202e.example")
    assert code == 2
    assert out == ""
    assert_safe(err)
    assert "unrecognized arguments: bank\\x1b[2J\\u202e.example" in err
