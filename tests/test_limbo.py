"""x509-limbo conformance: chain and hostname checks against the x509-limbo suite.

The suite (C2SP/x509-limbo, with the BetterTLS cases) lives outside the repository, in
``shared/limbo/limbo.json.xz`` next to the checkout; set ``CERTPOLICY_LIMBO`` to use another
copy. Without it the tests are skipped.

Applicable cases: server validation, an extended key usage of ``[]`` or ``["serverAuth"]``
and a DNS or IP peer name, if any. Each is run through the public API only
(``TrustStore.add_pem``, ``verify_chain``, ``verify_hostname``, ``Crl``), in a worker thread
with a hang guard. A case's CRLs are checked as certpolicy's CRL method would: a CRL that
cannot be used fails the case; each certificate of the verified path below the anchor is
looked up in the CRLs of its issuer, which must have signed them and be current at the
validation time.

``limbo_expectations.json`` lists every case where certpolicy knowingly disagrees with the
suite, with the reason. Any change, a new disagreement or a new agreement, fails the test, so
both regressions and fixes are noticed. After a deliberate change, regenerate the file with
``python tests/test_limbo.py --write`` (existing reasons are kept; write one for new ids).
"""

from __future__ import annotations

import base64
import binascii
import concurrent.futures
import contextlib
import datetime as dt
import itertools
import json
import lzma
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import certpolicy
from certpolicy.revocation.crl import Crl

pytestmark = pytest.mark.limbo

SUITE_ENV = "CERTPOLICY_LIMBO"
DEFAULT_SUITE = Path(__file__).resolve().parents[2] / "shared" / "limbo" / "limbo.json.xz"
EXPECTATIONS = Path(__file__).with_name("limbo_expectations.json")
# A hang guard, not a speed assertion: a case takes milliseconds.
CASE_TIMEOUT_S = 30.0
MIN_AGREE = 9740
MAX_UNEXPECTED_SUCCESSES = 10
SUPPORTED_EKUS: tuple[list[str], ...] = ([], ["serverAuth"])
SUPPORTED_PEER_NAME_KINDS = ("DNS", "IP")

Case = dict[str, Any]


def suite_path() -> Path:
    override = os.environ.get(SUITE_ENV)
    return Path(override) if override else DEFAULT_SUITE


def load_suite(path: Path) -> dict[str, Any]:
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rb") as handle:
        suite: dict[str, Any] = json.load(handle)
    return suite


def skip_reason(case: Case) -> str | None:
    """Why a case is not applicable to certpolicy, or None when it is."""
    if case["validation_kind"] != "SERVER":
        return "not a server validation"
    if case["extended_key_usage"] not in SUPPORTED_EKUS:
        return "extended key usage other than serverAuth"
    peer = case["expected_peer_name"]
    if peer is not None and peer["kind"] not in SUPPORTED_PEER_NAME_KINDS:
        return "peer name kind other than DNS or IP"
    return None


def pem_to_der(pem: str) -> bytes:
    """The DER of a one-certificate PEM block (RFC 7468), decoded with the standard library:
    some suite certificates are ones that stricter parsers refuse to load."""
    body = "".join(
        line.strip() for line in pem.strip().splitlines() if not line.startswith("-----")
    )
    return base64.b64decode(body, validate=True)


def run_case(case: Case) -> tuple[str, str]:
    """Runs one case through the public API: ("SUCCESS", "") or ("FAILURE", message). Any
    exception other than a CertPolicyError propagates: it is a crash, not a verdict."""
    store = certpolicy.TrustStore()
    for pem in case["trusted_certs"]:
        # An anchor the store refuses is simply not trusted.
        with contextlib.suppress(certpolicy.CertPolicyError):
            store.add_pem(pem)
    try:
        chain = [pem_to_der(case["peer_certificate"])]
        chain += [pem_to_der(pem) for pem in case["untrusted_intermediates"]]
    except (binascii.Error, ValueError) as err:
        return "FAILURE", f"undecodable PEM: {err}"
    at = dt.datetime.fromisoformat(case["validation_time"]) if case["validation_time"] else None
    peer = case["expected_peer_name"]
    try:
        path = certpolicy.verify_chain(chain, store, at=at, max_depth=case["max_chain_depth"])
        if peer is not None:
            certpolicy.verify_hostname(chain[0], peer["value"])
        check_crls(case["crls"], path, at)
    except certpolicy.CertPolicyError as err:
        return "FAILURE", str(err)
    return "SUCCESS", ""


def check_crls(pems: list[str], path: list[bytes], at: dt.datetime | None) -> None:
    """Raises CrlError for an unusable CRL, CertificateRevokedError for a revoked
    certificate of ``path`` (leaf first, anchor last)."""
    crls = [Crl.from_pem(pem) for pem in pems]
    when = at or dt.datetime.now(dt.UTC)
    for cert, issuer in itertools.pairwise(path):
        info = certpolicy.cert_info(cert)
        for crl in crls:
            if crl.issuer != info["issuer"]:
                continue  # another CA's list
            crl.verify(issuer)
            crl.check_scope(cert)
            if not crl.this_update <= when < (crl.next_update or when):
                raise certpolicy.CrlError(f"the CRL of {crl.issuer} is not current at {when}")
            entry = crl.lookup(info["serial"])
            if entry is not None:
                raise certpolicy.CertificateRevokedError(
                    f"certificate {info['subject']} was revoked at "
                    f"{entry.revoked_at.isoformat()} (reason: {entry.reason})"
                )


@dataclass
class Results:
    cases: int = 0
    applicable: int = 0
    agree: int = 0
    # id -> {"expected", "got", "message"}
    disagreements: dict[str, dict[str, str]] = field(default_factory=dict)
    # id -> what went wrong (an exception other than CertPolicyError, or a hang)
    broken: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def unexpected(self, got: str) -> list[str]:
        return sorted(i for i, d in self.disagreements.items() if d["got"] == got)

    def summary(self) -> str:
        return (
            f"x509-limbo: {self.applicable} applicable of {self.cases} cases, "
            f"{self.agree} agree, {len(self.unexpected('SUCCESS'))} unexpected successes, "
            f"{len(self.unexpected('FAILURE'))} unexpected failures, "
            f"{len(self.broken)} crashed or hung ({self.seconds:.1f} s)"
        )


def describe(disagreement: dict[str, str]) -> str:
    text = f"expected {disagreement['expected']}, got {disagreement['got']}"
    return f"{text}: {disagreement['message']}" if disagreement["message"] else text


def run_suite(suite: dict[str, Any]) -> Results:
    results = Results(cases=len(suite["testcases"]))
    started = time.monotonic()
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="limbo")
    try:
        for case in suite["testcases"]:
            if skip_reason(case) is not None:
                continue
            results.applicable += 1
            case_id = case["id"]
            case_start = time.monotonic()
            future = executor.submit(run_case, case)
            try:
                got, message = future.result(timeout=CASE_TIMEOUT_S)
            except concurrent.futures.TimeoutError:
                results.broken[case_id] = f"did not finish within {CASE_TIMEOUT_S:.0f} s"
                # The worker is stuck: abandon it and go on with a fresh one.
                executor.shutdown(wait=False, cancel_futures=True)
                executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
                continue
            except Exception as err:
                results.broken[case_id] = f"raised {type(err).__name__}: {err}"
                continue
            if time.monotonic() - case_start > CASE_TIMEOUT_S:
                results.broken[case_id] = f"took more than {CASE_TIMEOUT_S:.0f} s"
                continue
            if got == case["expected_result"]:
                results.agree += 1
            else:
                results.disagreements[case_id] = {
                    "expected": case["expected_result"],
                    "got": got,
                    "message": message,
                }
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    results.seconds = time.monotonic() - started
    return results


def load_expectations() -> dict[str, Any]:
    expectations: dict[str, Any] = json.loads(EXPECTATIONS.read_text(encoding="utf-8"))
    return expectations


@pytest.fixture(scope="module")
def suite() -> dict[str, Any]:
    path = suite_path()
    if not path.is_file():
        where = f"${SUITE_ENV}" if os.environ.get(SUITE_ENV) else "the default location"
        pytest.skip(
            f"x509-limbo suite not found at {path} ({where}); set {SUITE_ENV} to the path "
            "of limbo.json.xz to run these tests"
        )
    return load_suite(path)


@pytest.fixture(scope="module")
def results(suite: dict[str, Any]) -> Results:
    return run_suite(suite)


@pytest.fixture(scope="module")
def expectations() -> dict[str, Any]:
    return load_expectations()


def test_no_case_crashes_or_hangs(results: Results) -> None:
    assert not results.broken, "cases that crashed or hung:\n" + "\n".join(
        f"  {case_id}: {what}" for case_id, what in sorted(results.broken.items())
    )


def test_applicable_count(results: Results, expectations: dict[str, Any]) -> None:
    assert results.applicable == expectations["applicable"], (
        f"{results.applicable} applicable cases, {expectations['applicable']} expected "
        f"(suite {expectations['suite']}): a different suite version? {results.summary()}"
    )


def test_disagreements_are_the_expected_ones(
    results: Results, expectations: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        print(f"\n{results.summary()}")
    known: dict[str, dict[str, str]] = expectations["disagreements"]
    new = sorted(set(results.disagreements) - set(known))
    fixed = sorted(set(known) - set(results.disagreements) - set(results.broken))
    lines = []
    if new:
        lines.append("new disagreements (fix them, or add them with a reason to the file):")
        for case_id in new:
            d = results.disagreements[case_id]
            lines.append(f"  {case_id}: {describe(d)}")
    if fixed:
        lines.append("no longer disagreeing (remove them from the file):")
        lines.extend(f"  {case_id} (was: {known[case_id]['reason']})" for case_id in fixed)
    assert not lines, f"{EXPECTATIONS.name} is out of date; {results.summary()}\n" + "\n".join(
        lines
    )
    changed = sorted(
        case_id
        for case_id, d in results.disagreements.items()
        if d["got"] != known[case_id]["got"] or d["expected"] != known[case_id]["expected"]
    )
    assert not changed, f"disagreements whose verdicts changed: {changed}"
    assert results.agree == expectations["agree"], results.summary()


def test_conformance_thresholds(results: Results) -> None:
    assert results.agree >= MIN_AGREE, results.summary()
    assert len(results.unexpected("SUCCESS")) <= MAX_UNEXPECTED_SUCCESSES, results.summary()


def write_expectations(suite: dict[str, Any], results: Results) -> None:
    """Rewrites limbo_expectations.json from a run, keeping the reasons already written."""
    old = load_expectations() if EXPECTATIONS.is_file() else {"disagreements": {}}
    disagreements = {}
    for case_id, d in sorted(results.disagreements.items()):
        previous = old["disagreements"].get(case_id, {})
        reason = previous.get("reason") or f"TODO: explain. certpolicy says: {d['message']}"
        disagreements[case_id] = {"expected": d["expected"], "got": d["got"], "reason": reason}
    document = {
        "suite": old.get("suite", f"x509-limbo (format version {suite.get('version')})"),
        "applicable": results.applicable,
        "agree": results.agree,
        "disagreements": disagreements,
    }
    EXPECTATIONS.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")


def main(argv: list[str]) -> int:
    path = suite_path()
    if not path.is_file():
        print(f"x509-limbo suite not found at {path}; set {SUITE_ENV}", file=sys.stderr)
        return 2
    suite = load_suite(path)
    results = run_suite(suite)
    print(results.summary())
    for case_id, d in sorted(results.disagreements.items()):
        print(f"  {case_id}: {describe(d)}")
    for case_id, what in sorted(results.broken.items()):
        print(f"  {case_id}: {what}")
    if "--write" in argv:
        write_expectations(suite, results)
        print(f"wrote {EXPECTATIONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
