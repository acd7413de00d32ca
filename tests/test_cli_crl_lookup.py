"""``certpolicy crl lookup FILE CERT``: a CRL answers only for the certificates it covers
(the same issuer name; a scope, from its issuing distribution point, that includes the
certificate). For any other certificate it says so and exits 2, never "not revoked"."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from certpolicy.cli import main

import crl_pki as c
from pki import Cert, Issuer, make_root

CDP = "http://crl.example/part1.crl"


@pytest.fixture(scope="module")
def ca() -> Issuer:
    return make_root("lookup root").issue_ca("lookup CA")


def files(tmp_path: Path, crl: bytes, cert: Cert) -> tuple[str, str]:
    crl_file, cert_file = tmp_path / "ca.crl", tmp_path / "cert.pem"
    crl_file.write_bytes(crl)
    cert_file.write_bytes(cert.pem)
    return str(crl_file), str(cert_file)


def lookup(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object], str]:
    code = main(["crl", "lookup", *args, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_a_covered_certificate_is_looked_up(
    capsys: pytest.CaptureFixture[str], ca: Issuer, tmp_path: Path
) -> None:
    good = ca.issue_leaf(["good.example"], crl_urls=[CDP])
    revoked = ca.issue_leaf(["revoked.example"], crl_urls=[CDP])
    when = dt.datetime(2026, 2, 3, tzinfo=dt.UTC)
    crl = c.make_crl(
        ca,
        [c.Entry(revoked.cert.serial_number, when, "keyCompromise")],
        extra_extensions=[c.issuing_distribution_point([CDP])],
    )
    crl_file, good_file = files(tmp_path, crl, good)
    code, result, _ = lookup(capsys, crl_file, good_file)
    assert code == 0
    assert result["revoked"] is False
    assert result["covered"] is True
    revoked_file = tmp_path / "revoked.pem"
    revoked_file.write_bytes(revoked.pem)
    code, result, _ = lookup(capsys, crl_file, str(revoked_file))
    assert code == 1
    assert (result["revoked"], result["covered"], result["reason"]) == (
        True,
        True,
        "keyCompromise",
    )


def test_a_crl_of_another_issuer_does_not_cover_the_certificate(
    capsys: pytest.CaptureFixture[str], ca: Issuer, tmp_path: Path
) -> None:
    other = make_root("lookup root").issue_ca("another CA")
    cert = ca.issue_leaf(["a.example"])
    crl_file, cert_file = files(
        tmp_path, c.make_crl(other, [c.Entry(cert.cert.serial_number)]), cert
    )
    code, error, err = lookup(capsys, crl_file, cert_file)
    assert code == 2
    message = str(error["error"])
    assert message.startswith(
        "error: this CRL does not cover the certificate: issued by "
        "CN=lookup CA,O=certpolicy tests, CRL from CN=another CA,O=certpolicy tests"
    )
    assert "not revoked" not in message
    assert error["covered"] is False
    assert error["certificate_issuer"] == "CN=lookup CA,O=certpolicy tests"
    assert error["crl_issuer"] == "CN=another CA,O=certpolicy tests"
    assert "this CRL does not cover the certificate" in err
    # The text output says the same, and never "not revoked" (the serial IS on that CRL).
    code = main(["crl", "lookup", crl_file, cert_file])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "does not cover" in captured.err


@pytest.mark.parametrize(
    ("scope", "cert_kind", "reason"),
    [
        ({"uris": ["http://crl.example/part2.crl"]}, "leaf", "partition"),
        ({"uris": [CDP], "only_ca": True}, "leaf", "only CA certificates"),
        ({"uris": [CDP], "only_user": True}, "ca", "only end-entity certificates"),
    ],
)
def test_a_crl_whose_scope_leaves_the_certificate_out(
    capsys: pytest.CaptureFixture[str],
    ca: Issuer,
    tmp_path: Path,
    scope: dict[str, object],
    cert_kind: str,
    reason: str,
) -> None:
    if cert_kind == "leaf":
        cert: Cert = ca.issue_leaf(["scoped.example"], crl_urls=[CDP])
        issuer: Issuer = ca
    else:
        issuer = make_root("scope root")
        cert = c.issue_ca_with_crl(issuer, "scoped CA", [CDP])
    crl = c.make_crl(issuer, extra_extensions=[c.issuing_distribution_point(**scope)])  # type: ignore[arg-type]
    crl_file, cert_file = files(tmp_path, crl, cert)
    code, error, _ = lookup(capsys, crl_file, cert_file)
    assert code == 2
    assert "this CRL does not cover the certificate" in str(error["error"])
    assert reason in str(error["error"])
    # The same CRL without the scope covers it (the test changes one thing only).
    crl_file, cert_file = files(tmp_path, c.make_crl(issuer), cert)
    code, result, _ = lookup(capsys, crl_file, cert_file)
    assert code == 0
    assert result["covered"] is True


def test_a_bare_serial_is_looked_up_as_given(
    capsys: pytest.CaptureFixture[str], ca: Issuer, tmp_path: Path
) -> None:
    crl_file = tmp_path / "ca.crl"
    crl_file.write_bytes(c.make_crl(ca, [c.Entry(7)]))
    code, result, _ = lookup(capsys, str(crl_file), "12")
    assert code == 0
    assert result["covered"] is None  # unknown: a serial names no issuer
    code = main(["crl", "lookup", str(crl_file), "12"])
    assert code == 0
    assert "a bare serial: coverage not checked" in capsys.readouterr().out
    code, result, _ = lookup(capsys, str(crl_file), "0x7")
    assert code == 1
