"""`certpolicy demo`: runs offline on loopback from package data, with no test dependency,
and every verdict is the expected one."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

import certpolicy as cp
from certpolicy.cli._demo import ENDPOINTS, demo_data_dir

TIMEOUT = 120
# Importing any of these inside the demo process fails: the demo must not need them.
NOT_RUNTIME = ("cryptography", "pytest", "requests", "httpx", "aiohttp", "hypothesis", "anyio")
BLOCKED_RUN = (
    "import sys\n"
    f"for name in {NOT_RUNTIME!r}:\n"
    "    sys.modules[name] = None\n"
    "from certpolicy.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKED_RUN, "demo", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_json() -> dict[str, object]:
    result = run_demo("--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_demo_table(tmp_path: Path) -> None:
    result = run_demo()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("endpoint"))
    for column in ("policy", "chain", "hostname", "revocation", "verdict", "request"):
        assert column in header
    for endpoint in ENDPOINTS:
        row = next(line for line in lines if line.startswith(endpoint.name + " "))
        assert endpoint.expected in row
        assert "as expected" in row
    assert lines[-1] == ("7 of 7 verdicts as expected; rejected servers received no request byte")
    assert result.stderr == ""  # no stray log lines


def test_demo_verdicts_and_reasons(demo_json: dict[str, object]) -> None:
    assert demo_json["ok"] is True
    rows = {row["endpoint"]: row for row in demo_json["endpoints"]}  # type: ignore[attr-defined]
    assert len(rows) == len(ENDPOINTS)
    for endpoint in ENDPOINTS:
        row = rows[endpoint.name]
        assert row["verdict"] == endpoint.expected
        assert row["as_expected"] is True
        report = row["report"]
        if endpoint.expected == "ACCEPTED":
            assert row["response"] == "HTTP/1.1 200 OK"
            assert row["server_received_bytes"] > 0
        else:
            assert row["response"] is None
            assert row["server_received_bytes"] == 0
            assert report["checks"][endpoint.failing_check]["status"] == "failed"
    assert rows["instance.demo.test"]["report"]["policy"] == "Instance"
    assert rows["www.good.demo.test"]["report"]["policy"] == "Intranet"
    wiki = rows["wiki.intranet.demo.test"]["report"]
    assert wiki["policy"] == "Intranet wiki (self-signed)"
    assert {c["status"] for c in wiki["checks"].values()} == {"skipped"}
    revoked = rows["www.revoked.demo.test"]["report"]
    assert "keyCompromise" in revoked["checks"]["revocation"]["detail"]
    assert [a["method"] for a in revoked["revocation"]] == ["ocsp", "crl"]
    assert revoked["revocation"][-1]["status"] == "revoked"
    good = rows["www.good.demo.test"]["report"]
    assert [a["status"] for a in good["revocation"]] == ["good", "good"]  # leaf, intermediate
    assert "expired" in rows["www.expired.demo.test"]["report"]["checks"]["chain"]["detail"]
    printer = rows["printer.intranet.demo.test"]["report"]
    assert "not trusted" in printer["checks"]["chain"]["detail"]


def test_two_demos_side_by_side_share_the_revocation_ports() -> None:
    command = [sys.executable, "-c", BLOCKED_RUN, "demo", "--json"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs = [first.communicate(timeout=TIMEOUT), second.communicate(timeout=TIMEOUT)]
    assert (first.returncode, second.returncode) == (0, 0), outputs


def test_demo_data_is_valid_until_2045() -> None:
    folder = demo_data_dir()
    root = (folder / "certpolicy-trust.pem").read_bytes()
    store = cp.TrustStore()
    assert store.add_pem(root) == 1
    late = dt.datetime(2044, 12, 1, tzinfo=dt.UTC)
    for endpoint in ENDPOINTS:
        chain_pem = (folder / f"{endpoint.server}.chain.pem").read_bytes()
        assert b"PRIVATE KEY" not in chain_pem
        assert b"PRIVATE KEY" in (folder / f"{endpoint.server}.key.pem").read_bytes()
    good = (folder / "good.chain.pem").read_bytes()
    from certpolicy.cli._common import _pem_certificates
    from certpolicy.revocation.crl import Crl
    from certpolicy.revocation.ocsp import ocsp_check_response

    chain = _pem_certificates(good)
    assert len(cp.verify_chain(chain, store, at=late)) == 3
    crl = Crl.from_der((folder / "demo-intermediate.crl").read_bytes(), issuer=chain[1])
    assert crl.next_update >= late
    assert len(crl) == 1
    status = ocsp_check_response(
        (folder / "ocsp-good.der").read_bytes(), chain[0], chain[1], at=late
    )
    assert status.status == "good"


def test_demo_data_ships_in_the_package() -> None:
    folder = demo_data_dir()
    manifest = json.loads((folder / "demo.json").read_text())
    for name in [*manifest["crls"], *(r["file"] for r in manifest["ocsp_responses"])]:
        assert (folder / name).is_file()
    assert (folder / "config.xml").is_file()
