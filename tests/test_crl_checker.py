"""certpolicy.revocation.crl.CrlChecker against a real CRL server on loopback (tests/crl_server.py):
downloads, retries, failures, the size cap, single-flight, the disk cache, background refresh
with conditional GET, CRL number ordering, and checks running during a refresh."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import urllib3

from certpolicy import Retry, RevocationConfig
from certpolicy.revocation import MethodAnswer
from certpolicy.revocation._http import BackoffRetry
from certpolicy.revocation.crl import Crl, CrlChecker

import crl_pki as c
from crl_server import CrlSite
from pki import Cert, Issuer, make_root
from servers import Request, Response, serve

INT_CRL = "/int.crl"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
REVOKED = NOW - dt.timedelta(days=2)


# A loopback CRL server for the module (tests/conftest.py), emptied before each test.
pytestmark = pytest.mark.usefixtures("fresh_site")


@pytest.fixture(scope="module")
def ca(site: CrlSite) -> tuple[Issuer, Issuer]:
    root = make_root("CRL checker test root")
    intermediate = c.issue_ca_with_crl(
        root, "CRL checker test intermediate", [site.url("/root.crl")]
    )
    return root, intermediate


@pytest.fixture(scope="module")
def leaf(ca: tuple[Issuer, Issuer], site: CrlSite) -> Cert:
    return ca[1].issue_leaf(["leaf.example"], crl_urls=[site.url(INT_CRL)])


@pytest.fixture
def checkers() -> Iterator[list[CrlChecker]]:
    made: list[CrlChecker] = []
    yield made
    for checker in made:
        checker.close()


@pytest.fixture
def make_checker(tmp_path: Path, checkers: list[CrlChecker]) -> Callable[..., CrlChecker]:
    def make(cache_dir: Path | None = None, **options: object) -> CrlChecker:
        settings: dict[str, object] = {
            "method": "crl",
            "cache_dir": cache_dir or tmp_path,
            "timeout": 0.5,
            "retry": Retry(attempts=3, backoff=0.01, max_backoff=0.05),
        }
        settings.update(options)
        http = settings.pop("http", None)
        checker = CrlChecker(RevocationConfig(**settings), http=http)  # type: ignore[arg-type]
        checkers.append(checker)
        return checker

    return make


def publish(site: CrlSite, issuer: Issuer, serials: Sequence[int] = (), **options: Any) -> bytes:
    der = c.make_crl(issuer, [c.Entry(s, REVOKED, "keyCompromise") for s in serials], **options)
    site.crls[INT_CRL] = der
    return der


def serial(cert: Cert) -> int:
    return cert.cert.serial_number


def check(checker: CrlChecker, leaf: Cert, issuer: Issuer) -> MethodAnswer:
    return checker.check(leaf.der, issuer.der, at=None)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# --- answers ---------------------------------------------------------------------------


def test_good_then_served_from_memory(site, ca, leaf, make_checker) -> None:
    publish(site, ca[1], [12345], number=3)
    checker = make_checker()
    answer = check(checker, leaf, ca[1])
    assert (answer.method, answer.status, answer.source) == ("crl", "good", site.url(INT_CRL))
    assert "CRL #3" in answer.detail
    assert check(checker, leaf, ca[1]).status == "good"
    assert site.count(INT_CRL) == 1


def test_revoked(site, ca, leaf, make_checker) -> None:
    publish(site, ca[1], [1, serial(leaf), 2])
    answer = check(make_checker(), leaf, ca[1])
    assert answer.status == "revoked"
    assert answer.revoked_at == REVOKED
    assert answer.reason == "keyCompromise"


def test_no_distribution_point(ca, make_checker) -> None:
    bare = ca[1].issue_leaf(["bare.example"])
    ldap = ca[1].issue_leaf(["ldap.example"], crl_urls=["ldap://ldap.example/cn=crl"])
    checker = make_checker()
    assert "no HTTP(S) CRL distribution point" in check(checker, bare, ca[1]).detail
    answer = check(checker, ldap, ca[1])
    assert answer.status == "unavailable"
    assert "ldap://" in answer.detail


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/refused.crl",  # nothing listens on port 1
        "http://127.0.0.1:99999/bad-port.crl",
        "http://a b/space.crl",
        "http://127.0.0.1/\r\nX-Injected: 1",
        "http://[::1/broken.crl",
        "http://%zz/percent.crl",
        "HTTP://127.0.0.1:1/UPPER-CASE-SCHEME.crl",
    ],
)
def test_hostile_distribution_points_are_unavailable(ca, make_checker, url) -> None:
    leaf = ca[1].issue_leaf(["hostile.example"], crl_urls=[url])
    answer = check(make_checker(), leaf, ca[1])
    assert answer.status == "unavailable"
    assert answer.detail


def test_second_distribution_point_is_used(site, ca, make_checker) -> None:
    two = ca[1].issue_leaf(["two.example"], crl_urls=[site.url("/missing.crl"), site.url(INT_CRL)])
    publish(site, ca[1], [serial(two)])
    answer = check(make_checker(), two, ca[1])
    assert answer.status == "revoked"
    assert answer.source == site.url(INT_CRL)
    assert site.count("/missing.crl") == 1


# --- failures and retries --------------------------------------------------------------


@pytest.mark.parametrize("failure", ["500", "503", "stall", "truncate", "drop"])
def test_transient_failure_is_retried(site, ca, leaf, make_checker, failure) -> None:
    publish(site, ca[1])
    site.fail(INT_CRL, failure)
    assert check(make_checker(), leaf, ca[1]).status == "good"
    assert site.count(INT_CRL) == 2


def test_redirects_are_followed(site, ca, make_checker) -> None:
    moved = ca[1].issue_leaf(["moved.example"], crl_urls=[site.url("/old.crl")])
    publish(site, ca[1], [serial(moved)])
    site.redirects["/old.crl"] = INT_CRL
    answer = check(make_checker(), moved, ca[1])
    assert answer.status == "revoked"
    assert (site.count("/old.crl"), site.count(INT_CRL)) == (1, 1)


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    retry = BackoffRetry.from_config(
        Retry(attempts=8, backoff=0.1, max_backoff=0.5),
        method="GET",
        redirects=3,
        raise_on_status=True,
    )
    assert retry.get_backoff_time() == 0.0
    waits = []
    for _ in range(5):
        retry = retry.increment("GET", "/x.crl", error=urllib3.exceptions.ProtocolError("cut"))
        waits.append(retry.get_backoff_time())
    for n, wait in enumerate(waits, start=1):
        base = min(0.5, 0.1 * 2 ** (n - 1))
        assert base / 2 <= wait <= base, (n, wait)
    samples = {BackoffRetry.get_backoff_time(retry) for _ in range(20)}
    assert len(samples) > 1  # jitter


def test_retries_run_out(site, ca, leaf, make_checker) -> None:
    publish(site, ca[1])
    site.fail(INT_CRL, "503", "503", "503", "503")
    answer = check(make_checker(), leaf, ca[1])
    assert answer.status == "unavailable"
    assert "503" in answer.detail
    assert site.count(INT_CRL) == 3  # Retry(attempts=3)


def test_truncated_bodies_use_the_same_budget(site, ca, leaf, make_checker) -> None:
    publish(site, ca[1])
    site.fail(INT_CRL, "truncate", "truncate", "truncate")
    answer = check(make_checker(), leaf, ca[1])
    assert answer.status == "unavailable"
    assert site.count(INT_CRL) == 3


@pytest.mark.parametrize(("failure", "message"), [("404", "HTTP 404"), ("garbage", "unusable")])
def test_definitive_failures_are_not_retried(
    site, ca, leaf, make_checker, failure, message
) -> None:
    publish(site, ca[1])
    site.fail(INT_CRL, failure)  # type: ignore[arg-type]
    answer = check(make_checker(), leaf, ca[1])
    assert answer.status == "unavailable"
    assert message in answer.detail
    assert site.count(INT_CRL) == 1


def test_wrong_signer(site, ca, leaf, make_checker) -> None:
    publish(site, ca[1], signer=make_root("impostor").key)
    answer = check(make_checker(), leaf, ca[1])
    assert answer.status == "unavailable"
    assert "does not verify" in answer.detail


def test_crl_of_another_issuer(site, ca, leaf, make_checker) -> None:
    site.crls[INT_CRL] = c.make_crl(ca[0], [c.Entry(serial(leaf))])
    answer = check(make_checker(), leaf, ca[1])
    assert answer.status == "unavailable"
    assert "not by" in answer.detail


def test_expired_crl_is_not_used(site, ca, leaf, make_checker) -> None:
    publish(
        site,
        ca[1],
        this_update=NOW - dt.timedelta(days=9),
        next_update=NOW - dt.timedelta(days=2),
    )
    answer = check(make_checker(), leaf, ca[1])
    assert answer.status == "unavailable"
    assert "expired" in answer.detail


def test_validation_time_outside_the_crl(site, ca, leaf, make_checker) -> None:
    publish(site, ca[1])
    checker = make_checker()
    answer = checker.check(leaf.der, ca[1].der, at=NOW - dt.timedelta(days=30))
    assert answer.status == "unavailable"
    assert "not yet valid" in answer.detail
    answer = checker.check(leaf.der, ca[1].der, at=NOW + dt.timedelta(days=30))
    assert answer.status == "unavailable"
    assert "expired" in answer.detail


def test_size_cap(site, ca, leaf, make_checker, tmp_path) -> None:
    der = publish(site, ca[1], list(range(1, 200)))
    answer = check(make_checker(max_crl_bytes=len(der) - 1), leaf, ca[1])
    assert answer.status == "unavailable"
    assert "max_crl_bytes" in answer.detail
    enough = make_checker(max_crl_bytes=len(der), cache_dir=tmp_path / "enough")
    assert check(enough, leaf, ca[1]).status == "good"


def test_a_failing_server_is_not_hammered(site, ca, leaf, make_checker) -> None:
    site.fail(INT_CRL, "404", "404")
    checker = make_checker(crl_min_refresh_interval=3600.0)
    assert check(checker, leaf, ca[1]).status == "unavailable"
    answer = check(checker, leaf, ca[1])
    assert answer.status == "unavailable"
    assert "not downloading again" in answer.detail
    assert site.count(INT_CRL) == 1


def test_failures_are_logged(site, ca, leaf, make_checker, caplog) -> None:
    site.fail(INT_CRL, "404")
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        check(make_checker(), leaf, ca[1])
    assert any("HTTP 404" in record.getMessage() for record in caplog.records)


# --- single-flight ---------------------------------------------------------------------


def test_concurrent_checks_share_one_download(site, ca, leaf, make_checker) -> None:
    publish(site, ca[1], [serial(leaf)])
    site.delay = 0.3
    checker = make_checker()
    barrier = threading.Barrier(8)
    answers: list[str] = []

    def run() -> None:
        barrier.wait(timeout=10)
        answers.append(check(checker, leaf, ca[1]).status)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == ["revoked"] * 8
    assert site.count(INT_CRL) == 1


# --- disk cache ------------------------------------------------------------------------


def test_restart_starts_from_the_disk_cache(site, ca, leaf, make_checker, tmp_path) -> None:
    der = publish(site, ca[1], [serial(leaf)], number=9)
    first = make_checker()
    assert check(first, leaf, ca[1]).status == "revoked"
    first.close()
    cached = sorted(p.name for p in (tmp_path / "crl").iterdir())
    assert len(cached) == 2
    assert cached[0].endswith(".der")
    assert cached[1].endswith(".json")
    assert (tmp_path / "crl" / cached[0]).read_bytes() == der
    metadata = json.loads((tmp_path / "crl" / cached[1]).read_text())
    assert metadata["url"] == site.url(INT_CRL)
    assert metadata["number"] == 9
    assert metadata["etag"]
    assert metadata["size"] == len(der)
    site.crls.clear()  # the server is gone: only the cache can answer
    second = make_checker()
    assert check(second, leaf, ca[1]).status == "revoked"
    assert second.current(site.url(INT_CRL)).number == 9  # type: ignore[union-attr]
    assert site.count(INT_CRL) == 1


def _cache_files(tmp_path: Path) -> tuple[Path, Path]:
    ders = list((tmp_path / "crl").glob("*.der"))
    assert len(ders) == 1
    return ders[0], ders[0].with_suffix(".json")


@pytest.mark.parametrize(
    "damage",
    ["flip", "truncate", "metadata", "infinity", "nested", "swap", "forged", "symlink", "huge"],
)
def test_a_damaged_cache_is_discarded(site, ca, leaf, make_checker, tmp_path, damage) -> None:
    publish(site, ca[1], [serial(leaf)])
    check(make_checker(), leaf, ca[1])
    der_path, meta_path = _cache_files(tmp_path)
    if damage == "flip":
        data = bytearray(der_path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        der_path.write_bytes(bytes(data))
    elif damage == "truncate":
        der_path.write_bytes(der_path.read_bytes()[:100])
    elif damage == "metadata":
        meta_path.write_text("{not json")
    elif damage == "infinity":
        metadata = json.loads(meta_path.read_text())
        meta_path.write_text(
            json.dumps(metadata).replace(f'"size": {metadata["size"]}', '"size": Infinity')
        )
    elif damage == "nested":
        meta_path.write_text("[" * 100_000 + "]" * 100_000)
    elif damage == "symlink":
        # A link planted in the cache (to /dev/zero, endless) is never followed.
        der_path.unlink()
        der_path.symlink_to("/dev/zero")
    elif damage == "huge":
        with der_path.open("ab") as handle:
            handle.truncate(200 * 1024 * 1024)  # sparse: larger than max_crl_bytes
    elif damage == "swap":
        der_path.write_bytes(c.make_crl(ca[1], []))  # valid, but not what the metadata says
    else:
        # Bytes and metadata consistent, but not signed by the issuer: never trusted.
        import hashlib

        forged = c.make_crl(ca[1], [], signer=make_root("forger").key)
        der_path.write_bytes(forged)
        metadata = json.loads(meta_path.read_text())
        metadata.update(sha256=hashlib.sha256(forged).hexdigest(), size=len(forged))
        meta_path.write_text(json.dumps(metadata))
    answer = check(make_checker(), leaf, ca[1])
    assert answer.status == "revoked"
    assert site.count(INT_CRL) == 2  # downloaded again
    assert not der_path.is_symlink()
    assert der_path.read_bytes() == site.crls[INT_CRL]


def test_cache_write_failure_is_not_fatal(site, ca, leaf, make_checker, tmp_path) -> None:
    publish(site, ca[1])
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the cache directory should be")
    assert check(make_checker(cache_dir=blocker), leaf, ca[1]).status == "good"


# --- refresh ---------------------------------------------------------------------------


def refreshing(make_checker: Callable[..., CrlChecker]) -> CrlChecker:
    """A checker whose CRLs (published with ``LATE``) fall due for refresh 0.2 s after each
    download: a margin beyond the CRLs' validity puts the refresh at their midpoint, which is
    past, so the minimum interval decides."""
    return make_checker(crl_refresh_margin=30 * 86400.0, crl_min_refresh_interval=0.2)


# Valid from two days ago for another hour: past the midpoint of its validity.
LATE = {"this_update": NOW - dt.timedelta(days=2), "next_update": NOW + dt.timedelta(hours=1)}


def while_asked(
    checker: CrlChecker, leaf: Cert, issuer: Issuer, condition: Callable[[], bool]
) -> Callable[[], bool]:
    """``condition``, checking ``leaf`` first each time: a CRL nobody asks for is refreshed
    once more at most, then it leaves memory (see test_idle_crls_are_not_refreshed)."""

    def asked() -> bool:
        check(checker, leaf, issuer)
        return condition()

    return asked


def test_refresh_uses_conditional_get(site, ca, leaf, make_checker) -> None:
    publish(site, ca[1], **LATE)
    checker = refreshing(make_checker)
    check(checker, leaf, ca[1])
    wait_for(while_asked(checker, leaf, ca[1], lambda: site.not_modified >= 2), "two 304 answers")
    assert site.headers[-1].get("If-None-Match")
    assert site.headers[-1].get("If-Modified-Since")
    assert check(checker, leaf, ca[1]).status == "good"


def test_refresh_swaps_in_a_newer_crl(site, ca, leaf, make_checker) -> None:
    publish(site, ca[1], [], number=1, **LATE)
    checker = refreshing(make_checker)
    url = site.url(INT_CRL)
    assert check(checker, leaf, ca[1]).status == "good"
    assert checker.next_refresh(url) is not None
    publish(site, ca[1], [serial(leaf)], number=2, **LATE)
    wait_for(
        while_asked(checker, leaf, ca[1], lambda: checker.current(url).number == 2),  # type: ignore[union-attr]
        "the refresh",
    )
    answer = check(checker, leaf, ca[1])
    assert answer.status == "revoked"
    assert "CRL #2" in answer.detail


def test_an_older_crl_never_replaces_a_newer_one(site, ca, leaf, make_checker, caplog) -> None:
    publish(site, ca[1], [serial(leaf)], number=5, **LATE)
    checker = refreshing(make_checker)
    url = site.url(INT_CRL)
    assert check(checker, leaf, ca[1]).status == "revoked"
    publish(site, ca[1], [], number=4, **LATE)  # a stale mirror: the leaf is not on it
    before = site.count(INT_CRL)
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        wait_for(
            while_asked(checker, leaf, ca[1], lambda: site.count(INT_CRL) >= before + 2),
            "two refresh attempts",
        )
    assert checker.current(url).number == 5  # type: ignore[union-attr]
    assert check(checker, leaf, ca[1]).status == "revoked"
    assert any("older" in record.getMessage() for record in caplog.records)


# A CRL that cannot answer now, with a higher number than the valid one the server has.
UNUSABLE = {
    "expired": {
        "this_update": NOW - dt.timedelta(days=9),
        "next_update": NOW - dt.timedelta(days=2),
    },
    "not yet valid": {
        "this_update": NOW + dt.timedelta(days=2),
        "next_update": NOW + dt.timedelta(days=9),
    },
}


@pytest.mark.parametrize("state", list(UNUSABLE))
def test_an_unusable_crl_never_blocks_a_valid_one(site, ca, leaf, make_checker, state) -> None:
    """A held CRL that is expired or not yet valid, whatever its number (here #9), never
    makes a valid CRL (#5) be refused as "older"."""
    publish(site, ca[1], [], number=9, **UNUSABLE[state])
    checker = make_checker()
    answer = check(checker, leaf, ca[1])
    assert answer.status == "unavailable"
    assert state in answer.detail
    publish(site, ca[1], [serial(leaf)], number=5)
    answer = check(checker, leaf, ca[1])
    assert answer.status == "revoked", answer.detail
    assert "CRL #5" in answer.detail
    assert checker.current(site.url(INT_CRL)).number == 5  # type: ignore[union-attr]


@pytest.mark.parametrize("state", list(UNUSABLE))
def test_an_unusable_crl_on_disk_never_blocks_a_valid_one(
    site, ca, leaf, make_checker, state
) -> None:
    """The same across a restart: the disk cache holds #9, not valid now; the new process
    takes the valid #5 the server has, and keeps it on disk."""
    publish(site, ca[1], [], number=9, **UNUSABLE[state])
    first = make_checker()
    assert check(first, leaf, ca[1]).status == "unavailable"
    first.close()
    publish(site, ca[1], [serial(leaf)], number=5)
    answer = check(make_checker(), leaf, ca[1])
    assert answer.status == "revoked", answer.detail
    assert "CRL #5" in answer.detail
    site.crls.clear()  # the server is gone: the disk cache answers, with #5
    answer = check(make_checker(), leaf, ca[1])
    assert answer.status == "revoked", answer.detail
    assert "CRL #5" in answer.detail
    assert site.count(INT_CRL) == 2


def test_an_unusable_crl_never_replaces_a_valid_one(site, ca, leaf, make_checker) -> None:
    """The other way round: a valid #5 held is not replaced by an expired #9."""
    publish(site, ca[1], [serial(leaf)], number=5, **LATE)
    checker = refreshing(make_checker)
    url = site.url(INT_CRL)
    assert check(checker, leaf, ca[1]).status == "revoked"
    due = checker.next_refresh(url)
    publish(site, ca[1], [], number=9, **UNUSABLE["expired"])
    before = site.count(INT_CRL)

    def refreshed() -> bool:  # downloaded, and the next refresh scheduled
        return site.count(INT_CRL) > before and checker.next_refresh(url) not in (None, due)

    wait_for(while_asked(checker, leaf, ca[1], refreshed), "a refresh")
    assert checker.current(url).number == 5  # type: ignore[union-attr]
    assert check(checker, leaf, ca[1]).status == "revoked"


def test_checks_during_refreshes_always_get_an_answer(site, ca, leaf, make_checker) -> None:
    publish(site, ca[1], [], number=1, **LATE)
    checker = refreshing(make_checker)
    assert check(checker, leaf, ca[1]).status == "good"
    stop = threading.Event()
    results: list[list[str]] = [[] for _ in range(6)]

    def run(out: list[str]) -> None:
        while not stop.is_set():
            out.append(check(checker, leaf, ca[1]).status)

    threads = [threading.Thread(target=run, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    try:
        # Several refreshes land while the threads check: unchanged, then the leaf revoked.
        wait_for(lambda: site.not_modified >= 2, "refreshes of the unchanged CRL")
        publish(site, ca[1], [serial(leaf)], number=2, **LATE)
        wait_for(lambda: all("revoked" in out for out in results), "every thread to see #2")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    for out in results:
        assert set(out) <= {"good", "revoked"}, set(out)
        first_revoked = out.index("revoked")
        # The swap is atomic and #1 never comes back: once revoked, always revoked.
        assert all(status == "revoked" for status in out[first_revoked:])
    assert site.count(INT_CRL) >= 3


def test_idle_crls_are_not_refreshed(site, ca, leaf, make_checker) -> None:
    """Asked for once, a CRL is refreshed once more at most; at its next refresh nobody
    has asked for it since, so it leaves memory instead of being refreshed for ever. The
    disk cache still has it."""
    publish(site, ca[1], **LATE)
    checker = refreshing(make_checker)
    url = site.url(INT_CRL)
    assert check(checker, leaf, ca[1]).status == "good"
    wait_for(lambda: checker.current(url) is None, "the idle CRL to leave memory")
    assert checker.next_refresh(url) is None
    assert checker.memory_bytes() == 0
    count = site.count(INT_CRL)
    assert count <= 2  # the download, and at most one refresh
    assert check(checker, leaf, ca[1]).status == "good"  # from the disk cache
    assert site.count(INT_CRL) == count
    assert checker.next_refresh(url) is not None  # asked for again: refreshed again


def test_close_stops_refreshing(site, ca, leaf, make_checker) -> None:
    publish(site, ca[1], **LATE)
    checker = refreshing(make_checker)
    check(checker, leaf, ca[1])
    checker.close()
    assert checker.next_refresh(site.url(INT_CRL)) is None
    count = site.count(INT_CRL)
    time.sleep(0.6)  # three refresh periods
    assert site.count(INT_CRL) == count
    assert check(checker, leaf, ca[1]).status == "good"  # still answers from memory


# --- HTTPS distribution points ---------------------------------------------------------


def test_https_distribution_point(ca, make_checker, tmp_path) -> None:
    root, intermediate = ca
    server_cert = root.issue_leaf(["127.0.0.1"])
    crl = c.make_crl(intermediate, [])

    def handler(request: Request) -> Response:
        return Response(200, crl, {"Content-Type": "application/pkix-crl"})

    with serve(handler, tls=(server_cert, []), tmp_path=tmp_path) as server:
        leaf = intermediate.issue_leaf(["tls.example"], crl_urls=[f"{server.url}/int.crl"])
        root_file = tmp_path / "root.pem"
        root_file.write_bytes(root.pem)
        http = urllib3.PoolManager(ca_certs=str(root_file))
        checker = make_checker(http=http, cache_dir=tmp_path / "cache")
        answer = check(checker, leaf, intermediate)
        assert answer.status == "good", answer.detail
        assert len(server.requests) == 1
        # Without the test root the server's certificate is not trusted.
        answer = check(make_checker(cache_dir=tmp_path / "other"), leaf, intermediate)
        assert answer.status == "unavailable"


def test_crl_class_is_the_core_one() -> None:
    from certpolicy import _core

    assert Crl is _core.Crl
