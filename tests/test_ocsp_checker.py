"""OcspChecker, the "ocsp" revocation method, against a real responder over HTTP on
127.0.0.1: answers, memory and disk caches, single-flight, retries, and every way a responder
can fail (down, slow, HTTP error, garbage, tampered, oversized)."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509 import ocsp

import certpolicy as cp
from certpolicy.revocation import MethodAnswer
from certpolicy.revocation.ocsp import OcspChecker, ocsp_check_response, ocsp_request

from ocsp_responder import Responder, closed_port_url, running_responder
from pki import Cert, Issuer, make_root

REVOKED_AT = dt.datetime(2025, 2, 3, 4, 5, 6, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def ca() -> Issuer:
    return make_root("checker root").issue_ca("checker CA")


@pytest.fixture
def responder(tmp_path: Path, ca: Issuer) -> Iterator[Responder]:
    with running_responder(tmp_path / "responder", ca) as responder:
        yield responder


def config(tmp_path: Path, **options: object) -> cp.RevocationConfig:
    settings: dict[str, object] = {
        "cache_dir": tmp_path / "cache",
        "timeout": 2.0,
        "retry": cp.Retry(attempts=1, backoff=0.0),
    }
    settings.update(options)
    return cp.RevocationConfig(**settings)  # type: ignore[arg-type]


def leaf_for(ca: Issuer, url: str, name: str = "svc.example") -> Cert:
    return ca.issue_leaf([name], ocsp_urls=[url])


def ask(
    checker: OcspChecker, leaf: Cert, ca: Issuer, at: dt.datetime | None = None
) -> MethodAnswer:
    return checker.check(leaf.der, ca.der, at=at)


def test_good_over_http(tmp_path: Path, responder: Responder, ca: Issuer) -> None:
    leaf = leaf_for(ca, responder.url)
    responder.add_good(leaf)
    answer = ask(OcspChecker(config(tmp_path)), leaf, ca)
    assert (answer.method, answer.status, answer.source) == ("ocsp", "good", responder.url)
    assert "signed by the issuer" in answer.detail
    assert responder.server is not None
    (request,) = responder.server.requests
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/ocsp-request"
    assert request.body == ocsp_request(leaf.der, ca.der)


def test_revoked_and_unknown(tmp_path: Path, responder: Responder, ca: Issuer) -> None:
    checker = OcspChecker(config(tmp_path))
    victim = leaf_for(ca, responder.url, "victim.example")
    responder.revoke(victim, REVOKED_AT, "cessationOfOperation")
    answer = ask(checker, victim, ca)
    assert answer.status == "revoked"
    assert answer.revoked_at == REVOKED_AT
    assert answer.reason == "cessationOfOperation"
    stranger = leaf_for(ca, responder.url, "stranger.example")
    answer = ask(checker, stranger, ca)
    assert answer.status == "unknown"
    assert "does not know the certificate" in answer.detail


def test_delegated_responder_over_http(tmp_path: Path, responder: Responder, ca: Issuer) -> None:
    delegate = ca.issue_leaf(
        ["ocsp.example"], eku=[x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING], san=False
    )
    responder.use_signer(delegate)
    leaf = leaf_for(ca, responder.url)
    responder.add_good(leaf)
    answer = ask(OcspChecker(config(tmp_path)), leaf, ca)
    assert answer.status == "good"
    assert 'responder "CN=ocsp.example' in answer.detail


def test_memory_and_disk_cache_until_next_update(
    tmp_path: Path, responder: Responder, ca: Issuer
) -> None:
    leaf = leaf_for(ca, responder.url)
    responder.add_good(leaf)
    checker = OcspChecker(config(tmp_path))
    assert ask(checker, leaf, ca).status == "good"
    assert ask(checker, leaf, ca).detail.endswith("; cached")
    assert responder.answered == 1
    (entry,) = (tmp_path / "cache" / "ocsp").iterdir()
    assert entry.suffix == ".der"
    assert entry.stat().st_mode & 0o777 == 0o600
    assert not [p for p in entry.parent.iterdir() if p.name.endswith(".tmp")]
    # A new checker (a restarted process) answers from disk.
    fresh = OcspChecker(config(tmp_path))
    assert ask(fresh, leaf, ca).detail.endswith("from the disk cache")
    assert responder.answered == 1
    # After nextUpdate (-ndays 1) neither cache answers: a new fetch.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1, hours=1)
    answer = ask(fresh, leaf, ca, at=later)
    assert answer.status == "unavailable"  # the fresh answer is stale by then, too
    assert "nextUpdate: the response is stale" in answer.detail
    assert responder.answered == 2


def test_corrupt_disk_entries_are_discarded(
    tmp_path: Path, responder: Responder, ca: Issuer
) -> None:
    leaf = leaf_for(ca, responder.url)
    responder.add_good(leaf)
    assert ask(OcspChecker(config(tmp_path)), leaf, ca).status == "good"
    (entry,) = (tmp_path / "cache" / "ocsp").iterdir()
    for damage in (b"garbage", entry.read_bytes()[:-3], b""):
        entry.write_bytes(damage)
        answer = ask(OcspChecker(config(tmp_path)), leaf, ca)
        assert answer.status == "good"
        assert "disk cache" not in answer.detail
        assert ocsp_ok(entry.read_bytes(), leaf, ca)
    assert responder.answered == 4


def ocsp_ok(response: bytes, leaf: Cert, ca: Issuer) -> bool:
    return ocsp_check_response(response, leaf.der, ca.der).status == "good"


def test_no_next_update_is_cached_only_for_max_age(
    tmp_path: Path, responder: Responder, ca: Issuer
) -> None:
    responder.options = []  # no nextUpdate
    leaf = leaf_for(ca, responder.url)
    responder.add_good(leaf)
    patient = OcspChecker(config(tmp_path / "a", ocsp_max_age=300.0))
    assert ask(patient, leaf, ca).status == "good"
    assert ask(patient, leaf, ca).detail.endswith("cached")
    assert responder.answered == 1
    # ocsp_max_age=0: accepted (within the clock skew) but never reused.
    impatient = OcspChecker(config(tmp_path / "b", ocsp_max_age=0.0))
    assert ask(impatient, leaf, ca).status == "good"
    assert ask(impatient, leaf, ca).status == "good"
    assert responder.answered == 3


def test_single_flight(tmp_path: Path, responder: Responder, ca: Issuer) -> None:
    leaf = leaf_for(ca, responder.url)
    responder.add_good(leaf)
    responder.mode, responder.delay = "slow", 0.5
    checker = OcspChecker(config(tmp_path, timeout=10.0))
    answers: list[MethodAnswer] = []
    start = threading.Barrier(8)

    def run() -> None:
        start.wait(timeout=10)
        answers.append(ask(checker, leaf, ca))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [a.status for a in answers] == ["good"] * 8
    assert responder.answered == 1
    assert checker._flights.running() == 0


def test_nonce_when_configured(tmp_path: Path, responder: Responder, ca: Issuer) -> None:
    leaf = leaf_for(ca, responder.url)
    responder.add_good(leaf)
    answer = ask(OcspChecker(config(tmp_path, ocsp_nonce=True)), leaf, ca)
    assert answer.status == "good"
    assert responder.server is not None
    sent = ocsp.load_der_ocsp_request(responder.server.requests[0].body)
    assert len(sent.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce) == 16


def test_responder_down(tmp_path: Path, ca: Issuer) -> None:
    leaf = leaf_for(ca, closed_port_url())
    answer = ask(OcspChecker(config(tmp_path, retry=cp.Retry(attempts=2, backoff=0.01))), leaf, ca)
    assert answer.status == "unavailable"
    assert answer.detail.startswith("unreachable")


def test_responder_slow(tmp_path: Path, responder: Responder, ca: Issuer) -> None:
    leaf = leaf_for(ca, responder.url)
    responder.add_good(leaf)
    responder.mode, responder.delay = "slow", 5.0
    answer = ask(OcspChecker(config(tmp_path, timeout=0.3)), leaf, ca)
    assert answer.status == "unavailable"
    assert "timed out" in answer.detail.lower()


def test_http_error_is_retried(tmp_path: Path, responder: Responder, ca: Issuer) -> None:
    leaf = leaf_for(ca, responder.url)
    responder.mode, responder.error_status = "error", 503
    retry = cp.Retry(attempts=3, backoff=0.01, max_backoff=0.05)
    answer = ask(OcspChecker(config(tmp_path, retry=retry)), leaf, ca)
    assert answer.status == "unavailable"
    assert "HTTP 503" in answer.detail
    assert responder.server is not None
    assert len(responder.server.requests) == 3
    responder.mode, responder.error_status = "error", 404  # not worth a retry
    ask(OcspChecker(config(tmp_path / "x", retry=retry)), leaf, ca)
    assert len(responder.server.requests) == 4


@pytest.mark.parametrize(
    ("mode", "needle"), [("garbage", "format: "), ("tamper", "OCSP response rejected")]
)
def test_invalid_responses(
    tmp_path: Path, responder: Responder, ca: Issuer, mode: str, needle: str
) -> None:
    leaf = leaf_for(ca, responder.url)
    responder.add_good(leaf)
    responder.mode = mode
    answer = ask(OcspChecker(config(tmp_path)), leaf, ca)
    assert answer.status == "unavailable"
    assert needle in answer.detail
    assert not (tmp_path / "cache" / "ocsp").exists()


def test_oversized_response(tmp_path: Path, responder: Responder, ca: Issuer) -> None:
    leaf = leaf_for(ca, responder.url)
    responder.mode, responder.canned = "canned", os.urandom(5000)
    answer = ask(OcspChecker(config(tmp_path, max_ocsp_bytes=4096)), leaf, ca)
    assert answer.status == "unavailable"
    assert "at most 4096" in answer.detail


def test_second_url_after_a_dead_one(tmp_path: Path, responder: Responder, ca: Issuer) -> None:
    leaf = ca.issue_leaf(["two.example"], ocsp_urls=[closed_port_url(), responder.url])
    responder.add_good(leaf)
    answer = ask(OcspChecker(config(tmp_path)), leaf, ca)
    assert (answer.status, answer.source) == ("good", responder.url)


def test_no_responder_url(tmp_path: Path, ca: Issuer) -> None:
    leaf = ca.issue_leaf(["plain.example"])
    answer = ask(OcspChecker(config(tmp_path)), leaf, ca)
    assert answer.status == "unavailable"
    assert "names no HTTP OCSP responder" in answer.detail
    answer = OcspChecker(config(tmp_path)).check(b"garbage", ca.der, at=None)
    assert answer.status == "unavailable"


def test_config_validation(tmp_path: Path) -> None:
    with pytest.raises(cp.ConfigError, match="max_ocsp_bytes"):
        cp.RevocationConfig(max_ocsp_bytes=0)
    with pytest.raises(cp.ConfigError, match="ocsp_nonce"):
        cp.RevocationConfig(ocsp_nonce="yes")  # type: ignore[arg-type]
