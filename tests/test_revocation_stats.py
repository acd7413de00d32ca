"""RevocationChecker.stats() against real servers on loopback: a CRL server (tests/crl_server.py)
and an OCSP responder (tests/ocsp_responder.py). Fetch attempts, failures, bytes and latency
buckets per method; cache hits and misses; and which certificate each answer is about."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import certpolicy as cp
from certpolicy.revocation import MethodAnswer, RevocationChecker, default_methods
from certpolicy.revocation._stats import LATENCY_BUCKETS, FetchCounters
from certpolicy.revocation.crl import CrlFetchError, Fetcher

import crl_pki as c
from crl_server import CrlSite
from ocsp_responder import Responder, running_responder
from pki import Cert, Issuer, make_root

LEAF_CRL, ROOT_CRL = "/leaf.crl", "/root.crl"
BUCKET_KEYS = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]


@pytest.fixture(autouse=True)
def _fresh_site(fresh_site: CrlSite) -> None:
    # The module CRL server (tests/conftest.py), with the stall these tests measure.
    fresh_site.stall = 3.0


@pytest.fixture(scope="module")
def pki(site: CrlSite) -> tuple[Issuer, Issuer, Cert]:
    root = make_root("stats root")
    intermediate = c.issue_ca_with_crl(root, "stats intermediate", [site.url(ROOT_CRL)])
    leaf = intermediate.issue_leaf(["stats.example"], crl_urls=[site.url(LEAF_CRL)])
    return root, intermediate, leaf


@pytest.fixture
def checkers() -> Iterator[list[RevocationChecker]]:
    made: list[RevocationChecker] = []
    yield made
    for checker in made:
        checker.close()


def make_checker(
    tmp_path: Path, made: list[RevocationChecker], **options: Any
) -> RevocationChecker:
    settings: dict[str, Any] = {
        "method": "crl",
        "cache_dir": tmp_path / "cache",
        "timeout": 2.0,
        "retry": cp.Retry(attempts=1, backoff=0.0),
    }
    settings.update(options)
    config = cp.RevocationConfig(**settings)
    checker = RevocationChecker(config, default_methods(config))
    made.append(checker)
    return checker


def publish(site: CrlSite, pki: tuple[Issuer, Issuer, Cert]) -> tuple[bytes, bytes]:
    root, intermediate, _ = pki
    site.crls[LEAF_CRL] = leaf_crl = c.make_crl(intermediate, [])
    site.crls[ROOT_CRL] = root_crl = c.make_crl(root, [])
    return leaf_crl, root_crl


def path_of(pki: tuple[Issuer, Issuer, Cert]) -> list[bytes]:
    root, intermediate, leaf = pki
    return [leaf.der, intermediate.der, root.der]


def assert_cumulative(fetches: dict[str, Any]) -> None:
    buckets = fetches["latency_buckets"]
    assert list(buckets) == BUCKET_KEYS
    values = list(buckets.values())
    assert values == sorted(values), buckets
    assert buckets["+Inf"] == fetches["count"]


# --- the shape ----------------------------------------------------------------------------


def test_shape_before_anything_was_fetched(tmp_path: Path, checkers: list) -> None:
    stats = make_checker(tmp_path, checkers).stats()
    zero = {
        "count": 0,
        "failures": 0,
        "bytes": 0,
        "seconds": 0.0,
        "latency_buckets": dict.fromkeys(BUCKET_KEYS, 0),
    }
    assert stats == {
        "fetches": {"crl": zero, "ocsp": zero},
        "cache": {"crl": {"hits": 0, "misses": 0}, "ocsp": {"hits": 0, "misses": 0}},
    }
    assert [f"{bound:g}" for bound in LATENCY_BUCKETS] == BUCKET_KEYS[:-1]


def test_methods_that_are_not_built_in_count_zeros(tmp_path: Path) -> None:
    class Silent:
        name = "crl"

        def check(self, cert: bytes, issuer: bytes, *, at: dt.datetime | None) -> MethodAnswer:
            return MethodAnswer("crl", "good", "", "")

    config = cp.RevocationConfig(method="crl", cache_dir=tmp_path)
    checker = RevocationChecker(config, {"crl": Silent()})
    root = make_root("silent root")
    intermediate = root.issue_ca("silent intermediate")
    leaf = intermediate.issue_leaf(["silent.example"])
    assert checker.check_path([leaf.der, intermediate.der, root.der]).status == "good"
    assert checker.stats()["fetches"]["crl"]["count"] == 0
    assert checker.stats()["cache"]["crl"] == {"hits": 0, "misses": 0}


# --- CRL ----------------------------------------------------------------------------------


def test_crl_fetches_then_cache_hits(site, pki, tmp_path: Path, checkers: list) -> None:
    leaf_crl, root_crl = publish(site, pki)
    checker = make_checker(tmp_path, checkers)
    assert checker.check_path(path_of(pki)).status == "good"
    stats = checker.stats()
    crl = stats["fetches"]["crl"]
    assert (crl["count"], crl["failures"]) == (2, 0)
    assert crl["bytes"] == len(leaf_crl) + len(root_crl)
    assert crl["seconds"] > 0
    assert_cumulative(crl)
    assert stats["cache"]["crl"] == {"hits": 0, "misses": 2}
    assert stats["fetches"]["ocsp"]["count"] == 0

    # The same path again: answered from memory, nothing fetched.
    assert checker.check_path(path_of(pki)).status == "good"
    again = checker.stats()
    assert again["fetches"]["crl"] == crl
    assert again["cache"]["crl"] == {"hits": 2, "misses": 2}
    assert (site.count(LEAF_CRL), site.count(ROOT_CRL)) == (1, 1)


def test_the_disk_cache_counts_as_a_hit(site, pki, tmp_path: Path, checkers: list) -> None:
    publish(site, pki)
    assert make_checker(tmp_path, checkers).check_path(path_of(pki)).status == "good"
    restarted = make_checker(tmp_path, checkers)  # the same cache_dir, an empty memory
    assert restarted.check_path(path_of(pki)).status == "good"
    stats = restarted.stats()
    assert stats["cache"]["crl"] == {"hits": 2, "misses": 0}
    assert stats["fetches"]["crl"]["count"] == 0


def test_every_retry_is_an_attempt(site, pki, tmp_path: Path, checkers: list) -> None:
    leaf_crl, _ = publish(site, pki)
    site.fail(LEAF_CRL, "503", "500")
    checker = make_checker(
        tmp_path, checkers, depth="leaf", retry=cp.Retry(attempts=3, backoff=0.01, max_backoff=0.02)
    )
    assert checker.check_path(path_of(pki)).status == "good"
    crl = checker.stats()["fetches"]["crl"]
    assert (crl["count"], crl["failures"]) == (3, 2)
    assert crl["bytes"] == len(leaf_crl)  # the error bodies are not read
    assert site.count(LEAF_CRL) == 3
    assert_cumulative(crl)


def test_a_failing_server_counts_failures(site, pki, tmp_path: Path, checkers: list) -> None:
    publish(site, pki)
    site.fail(LEAF_CRL, "503", "503")
    checker = make_checker(
        tmp_path, checkers, depth="leaf", retry=cp.Retry(attempts=2, backoff=0.01, max_backoff=0.02)
    )
    assert checker.check_path(path_of(pki)).status == "unavailable"
    stats = checker.stats()
    assert (stats["fetches"]["crl"]["count"], stats["fetches"]["crl"]["failures"]) == (2, 2)
    assert stats["cache"]["crl"] == {"hits": 0, "misses": 1}
    # The URL is remembered as failed: the next check fetches nothing and misses again.
    assert checker.check_path(path_of(pki)).status == "unavailable"
    stats = checker.stats()
    assert stats["fetches"]["crl"]["count"] == 2
    assert stats["cache"]["crl"] == {"hits": 0, "misses": 2}


def test_http_errors_oversize_and_garbage(site, pki, tmp_path: Path, checkers: list) -> None:
    publish(site, pki)
    del site.crls[LEAF_CRL]  # 404: not retried
    missing = make_checker(tmp_path / "missing", checkers, depth="leaf")
    assert missing.check_path(path_of(pki)).status == "unavailable"
    crl = missing.stats()["fetches"]["crl"]
    assert (crl["count"], crl["failures"], crl["bytes"]) == (1, 1, 0)

    # A body that is no CRL was still a usable HTTP answer: a fetch, not a fetch failure.
    publish(site, pki)
    site.fail(LEAF_CRL, "garbage")
    garbage = make_checker(tmp_path / "garbage", checkers, depth="leaf")
    assert garbage.check_path(path_of(pki)).status == "unavailable"
    crl = garbage.stats()["fetches"]["crl"]
    assert (crl["count"], crl["failures"]) == (1, 0)
    assert crl["bytes"] > 0

    small = make_checker(tmp_path / "small", checkers, depth="leaf", max_crl_bytes=16)
    assert small.check_path(path_of(pki)).status == "unavailable"
    crl = small.stats()["fetches"]["crl"]
    assert (crl["count"], crl["failures"]) == (1, 1)


def test_a_redirect_is_an_attempt_but_no_failure(site, pki, tmp_path: Path, checkers: list) -> None:
    root, intermediate, _ = pki
    site.crls["/new.crl"] = c.make_crl(intermediate, [])
    site.redirects["/moved.crl"] = "/new.crl"
    leaf = intermediate.issue_leaf(["moved.example"], crl_urls=[site.url("/moved.crl")])
    checker = make_checker(tmp_path, checkers, depth="leaf")
    assert checker.check_path([leaf.der, intermediate.der, root.der]).status == "good"
    crl = checker.stats()["fetches"]["crl"]
    assert (crl["count"], crl["failures"]) == (2, 0)


def test_one_redirect_too_many_is_a_failure(site, tmp_path: Path) -> None:
    site.redirects["/loop.crl"] = "/loop.crl"
    config = cp.RevocationConfig(cache_dir=tmp_path, timeout=2.0, retry=cp.Retry(attempts=1))
    fetcher = Fetcher(config)
    with pytest.raises(CrlFetchError):
        fetcher.fetch(site.url("/loop.crl"))
    counted = fetcher.counters.snapshot()
    # Three redirects followed (crl._fetch.MAX_REDIRECTS), the fourth refused.
    assert (counted["count"], counted["failures"]) == (4, 1)
    assert site.count("/loop.crl") == 4


def test_latency_buckets_are_cumulative(site, pki, tmp_path: Path, checkers: list) -> None:
    publish(site, pki)
    site.delay = 0.3  # every answer waits this long: no attempt can take less
    checker = make_checker(tmp_path, checkers, depth="leaf")
    assert checker.check_path(path_of(pki)).status == "good"
    crl = checker.stats()["fetches"]["crl"]
    assert crl["count"] == 1
    assert crl["seconds"] >= 0.3
    buckets = crl["latency_buckets"]
    assert buckets["0.05"] == buckets["0.1"] == buckets["0.25"] == 0
    assert buckets["+Inf"] == 1
    assert_cumulative(crl)


def test_a_fetch_cut_by_the_deadline_is_one_failure(
    site, pki, tmp_path: Path, checkers: list
) -> None:
    publish(site, pki)
    site.fail(LEAF_CRL, "stall")  # answers after 3 s
    checker = make_checker(tmp_path, checkers, depth="leaf", deadline=0.5)
    assert checker.check_path(path_of(pki)).status == "unavailable"
    crl = checker.stats()["fetches"]["crl"]
    assert (crl["count"], crl["failures"]) == (1, 1)
    assert crl["latency_buckets"]["0.25"] == 0  # it ran at least until the deadline


def test_not_modified_is_a_fetch_but_no_failure(site, pki, tmp_path: Path) -> None:
    leaf_crl, _ = publish(site, pki)
    config = cp.RevocationConfig(cache_dir=tmp_path, timeout=2.0, retry=cp.Retry(attempts=1))
    fetcher = Fetcher(config)
    first = fetcher.fetch(site.url(LEAF_CRL))
    again = fetcher.fetch(site.url(LEAF_CRL), etag=first.etag)
    assert again.body is None
    counted = fetcher.counters.snapshot()
    assert (counted["count"], counted["failures"], counted["bytes"]) == (2, 0, len(leaf_crl))


def test_counters_are_thread_safe() -> None:
    counters = FetchCounters()

    def work(seconds: float) -> None:
        for _ in range(2000):
            counters.record(failed=seconds > 1, received=3, seconds=seconds)

    threads = [threading.Thread(target=work, args=(s,)) for s in (0.01, 0.3, 2.0, 50.0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    counted = counters.snapshot()
    assert (counted["count"], counted["failures"], counted["bytes"]) == (8000, 4000, 24000)
    assert counted["latency_buckets"] == {
        "0.05": 2000,
        "0.1": 2000,
        "0.25": 2000,
        "0.5": 4000,
        "1": 4000,
        "2.5": 6000,
        "5": 6000,
        "10": 6000,
        "+Inf": 8000,
    }
    assert counted["seconds"] == pytest.approx(2000 * (0.01 + 0.3 + 2.0 + 50.0))


# --- OCSP ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ocsp_ca() -> Issuer:
    return make_root("stats OCSP root").issue_ca("stats OCSP CA")


@pytest.fixture
def responder(tmp_path: Path, ocsp_ca: Issuer) -> Iterator[Responder]:
    with running_responder(tmp_path / "responder", ocsp_ca) as running:
        yield running


def test_ocsp_fetches_then_cache_hits(
    responder: Responder, ocsp_ca: Issuer, tmp_path: Path, checkers: list
) -> None:
    leaf = ocsp_ca.issue_leaf(["ocsp-stats.example"], ocsp_urls=[responder.url])
    responder.add_good(leaf)
    checker = make_checker(tmp_path, checkers, method="ocsp", depth="leaf")
    path = [leaf.der, ocsp_ca.der]
    assert checker.check_path(path).status == "good"
    stats = checker.stats()
    ocsp = stats["fetches"]["ocsp"]
    assert (ocsp["count"], ocsp["failures"]) == (1, 0)
    assert ocsp["bytes"] > 0
    assert_cumulative(ocsp)
    assert stats["cache"]["ocsp"] == {"hits": 0, "misses": 1}
    assert stats["fetches"]["crl"]["count"] == 0

    assert checker.check_path(path).status == "good"
    again = checker.stats()
    assert again["fetches"]["ocsp"] == ocsp
    assert again["cache"]["ocsp"] == {"hits": 1, "misses": 1}
    assert responder.answered == 1


def test_ocsp_failures_and_fallback_to_crl(
    site, responder: Responder, ocsp_ca: Issuer, tmp_path: Path, checkers: list
) -> None:
    site.crls[LEAF_CRL] = crl = c.make_crl(ocsp_ca, [])
    leaf = ocsp_ca.issue_leaf(
        ["ocsp-down.example"], ocsp_urls=[responder.url], crl_urls=[site.url(LEAF_CRL)]
    )
    responder.mode, responder.error_status = "error", 503
    checker = make_checker(
        tmp_path,
        checkers,
        method="ocsp_then_crl",
        depth="leaf",
        retry=cp.Retry(attempts=2, backoff=0.01, max_backoff=0.02),
    )
    assert checker.check_path([leaf.der, ocsp_ca.der]).status == "good"
    stats = checker.stats()
    assert (stats["fetches"]["ocsp"]["count"], stats["fetches"]["ocsp"]["failures"]) == (2, 2)
    assert stats["fetches"]["ocsp"]["bytes"] == 0
    assert (stats["fetches"]["crl"]["count"], stats["fetches"]["crl"]["failures"]) == (1, 0)
    assert stats["fetches"]["crl"]["bytes"] == len(crl)
    assert stats["cache"] == {"crl": {"hits": 0, "misses": 1}, "ocsp": {"hits": 0, "misses": 1}}


# --- which certificate each answer is about -----------------------------------------------


def test_answers_name_their_certificate(site, pki, tmp_path: Path, checkers: list) -> None:
    publish(site, pki)
    _, intermediate, _ = pki
    answer = make_checker(tmp_path, checkers).check_path(path_of(pki))
    leaf_answer, ca_answer = answer.answers
    assert (leaf_answer.certificate, leaf_answer.depth) == ("leaf", 0)
    subject = intermediate.cert.subject.rfc4514_string()
    assert (ca_answer.certificate, ca_answer.depth) == (f'CA "{subject}"', 1)
    assert ca_answer.describe().startswith(f'crl {site.url(ROOT_CRL)} for CA "{subject}": good (')
    assert leaf_answer.describe().startswith(f"crl {site.url(LEAF_CRL)}: good (")
    assert f'for CA "{subject}"' in answer.detail()


def test_a_revoked_ca_is_named(site, pki, tmp_path: Path, checkers: list) -> None:
    root, intermediate, _ = pki
    publish(site, pki)
    revoked_at = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    site.crls[ROOT_CRL] = c.make_crl(
        root, [c.Entry(intermediate.cert.serial_number, revoked_at, "keyCompromise")]
    )
    answer = make_checker(tmp_path, checkers).check_path(path_of(pki))
    assert answer.status == "revoked"
    assert answer.revoked is not None
    assert answer.revoked.depth == 1
    subject = intermediate.cert.subject.rfc4514_string()
    assert answer.detail().startswith(f'CA certificate "{subject}" (serial ')


def test_a_method_asked_directly_names_the_certificate_by_its_ca_flag(
    site, pki, tmp_path: Path
) -> None:
    root, intermediate, leaf = pki
    publish(site, pki)
    config = cp.RevocationConfig(method="crl", cache_dir=tmp_path, timeout=2.0)
    crl = default_methods(config)["crl"]
    about_leaf = crl.check(leaf.der, intermediate.der, at=None)
    about_ca = crl.check(intermediate.der, root.der, at=None)
    assert (about_leaf.certificate, about_leaf.depth) == ("leaf", None)
    subject = intermediate.cert.subject.rfc4514_string()
    assert (about_ca.certificate, about_ca.depth) == (f'CA "{subject}"', None)
    assert f'for CA "{subject}": good' in about_ca.describe()
    # Constructors that predate the fields still work, and say nothing of a certificate.
    plain = MethodAnswer("crl", "good", "http://x/ca.crl", "")
    assert (plain.certificate, plain.depth) == ("", None)
    assert plain.describe() == "crl http://x/ca.crl: good"
