"""The "ocsp" revocation method: :class:`OcspChecker` POSTs a request to the certificate's
AIA responder (``_fetch``), verifies the answer in the Rust core, and keeps it in memory and on
disk until nextUpdate (``_cache``, each within its byte bound); concurrent checks of one
certificate share one fetch. A responder that just failed (unreachable, timed out, an HTTP
error) is not asked again for ``crl_min_refresh_interval``, for any certificate; a check
takes at most ``RevocationConfig.deadline`` in all (``_budget``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from typing import Any

from certpolicy._util import CLOCK_SKEW, FlightTimeout, SingleFlight, as_utc, core
from certpolicy.checks import cert_summary
from certpolicy.errors import CertPolicyError
from certpolicy.revocation import _budget
from certpolicy.revocation._answers import MethodAnswer, certificate_label
from certpolicy.revocation._config import RevocationConfig
from certpolicy.revocation._http import held_against_url
from certpolicy.revocation._stats import CacheCounters
from certpolicy.revocation.ocsp._cache import CachedAnswer, OcspDiskCache, OcspMemoryCache
from certpolicy.revocation.ocsp._fetch import OcspFetcher, OcspFetchError
from certpolicy.revocation.ocsp._status import (
    OcspStatus,
    new_nonce,
    ocsp_check_response,
    ocsp_request,
)

__all__ = ["OcspChecker"]

logger = logging.getLogger("certpolicy")

# What one answer in memory takes besides its strings (the objects, four datetimes, the key
# and the dictionary slot; measured with sys.getsizeof, rounded up).
ANSWER_BYTES = 768

# Failed responders remembered at most (the oldest are forgotten first when more fail).
MAX_FAILURES = 4096
# Requests (and cache keys) remembered for (certificate, issuer) pairs at most (emptied when
# full), and the largest pair remembered (DER bytes of both).
MAX_REQUEST_MEMO = 1024
MAX_REQUEST_MEMO_DER = 32 * 1024


def _answer(
    status: OcspStatus,
    source: str,
    note: str = "",
    valid_until: dt.datetime | None = None,
) -> MethodAnswer:
    detail = status.describe() + (f"; {note}" if note else "")
    if status.status == "unknown":
        detail = f"the responder does not know the certificate; {detail}"
    return MethodAnswer(
        "ocsp",
        status.status,
        source,
        detail,
        revoked_at=status.revoked_at,
        reason=status.reason,
        valid_until=valid_until if status.status in ("good", "revoked") else None,
    )


class OcspChecker:
    """The "ocsp" revocation method (the ``RevocationMethod`` protocol). Never raises for
    network or data problems: it answers "unavailable" (or "unknown" when the responder says
    so) with the reason."""

    name = "ocsp"

    def __init__(self, config: RevocationConfig) -> None:
        self.config = config
        self._fetcher = OcspFetcher(config)
        self._memory: OcspMemoryCache[OcspStatus] = OcspMemoryCache(
            max_bytes=config.memory_cache_bytes
        )
        self._disk = OcspDiskCache(
            config.cache_dir / OcspDiskCache.subdirectory,
            config.max_ocsp_bytes,
            disk_bytes=config.disk_cache_bytes,
        )
        self._disk.sweep()  # what a crash left, expired responses, the bound
        self._flights: SingleFlight[MethodAnswer] = SingleFlight()
        # Responder URL -> (when it failed, why): not asked again for a while.
        self._failures: dict[str, tuple[float, str]] = {}
        self._failures_lock = threading.Lock()
        self._cache_counters = CacheCounters()
        self._requests: dict[tuple[bytes, bytes], tuple[bytes, str]] = {}
        # Bumped whenever an answer other than "good" is stored: path verdicts (all good)
        # remembered from an older count are not reused (the engine's decision in Rust). A
        # good answer stored cannot make a remembered good verdict wrong.
        self.changes = core.ChangeCounter()
        retry = config.retry
        # Longest a concurrent check waits for the fetch it shares (a bound, never reached
        # while urllib3's timeouts hold).
        self._flight_wait = retry.attempts * (2 * config.timeout + retry.max_backoff) + 5.0

    def stats(self) -> dict[str, Any]:
        """``{"fetches": {...}, "cache": {"hits": n, "misses": n}}``: the HTTP attempts of
        the requests, and how often a check found a usable verified answer in memory or on
        disk (a hit) or not (a miss: the responders were asked, or could not be). See
        ``RevocationChecker.stats``."""
        return {
            "fetches": self._fetcher.counters.snapshot(),
            "cache": self._cache_counters.snapshot(),
        }

    def check(self, cert: bytes, issuer: bytes, *, at: dt.datetime | None) -> MethodAnswer:
        """The status of ``cert`` (DER) issued by ``issuer`` (DER) at ``at`` (default now),
        from the caches or the responders. Takes at most ``RevocationConfig.deadline`` (less
        inside a path check whose deadline ends earlier)."""
        with _budget.decision(self.config.deadline):
            return self._check(cert, issuer, at)

    def _check(self, cert: bytes, issuer: bytes, at: dt.datetime | None) -> MethodAnswer:
        try:
            info = cert_summary(cert)
            urls = [
                url for url in info.ocsp_urls if url.lower().startswith(("http://", "https://"))
            ]
            plain_request, key = self._plain_request(cert, issuer)
        except CertPolicyError as exc:
            return MethodAnswer("ocsp", "unavailable", "", f"cannot build a request: {exc}")
        answer = self._check_certificate(cert, issuer, at, urls, plain_request, key)
        return answer.about(certificate_label(info.subject, leaf=not info.is_ca))

    def _plain_request(self, cert: bytes, issuer: bytes) -> tuple[bytes, str]:
        """The request without nonce for (cert, issuer) and its SHA-256 (hex), the cache key
        of the CertID; remembered for certificates checked before (bounded)."""
        plain = type(cert) is bytes and type(issuer) is bytes  # hashable as they are
        memo_key = (cert, issuer)
        known = self._requests.get(memo_key) if plain else None
        if known is not None:
            return known
        plain_request = ocsp_request(cert, issuer)
        # The request without nonce is deterministic: its hash identifies the CertID.
        known = (plain_request, hashlib.sha256(plain_request).hexdigest())
        if plain and len(cert) + len(issuer) <= MAX_REQUEST_MEMO_DER:
            if len(self._requests) >= MAX_REQUEST_MEMO:
                self._requests.clear()
            self._requests[memo_key] = known
        return known

    def _check_certificate(
        self,
        cert: bytes,
        issuer: bytes,
        at: dt.datetime | None,
        urls: list[str],
        plain_request: bytes,
        key: str,
    ) -> MethodAnswer:
        if not urls:
            return MethodAnswer(
                "ocsp",
                "unavailable",
                "",
                "the certificate names no HTTP OCSP responder (authorityInfoAccess)",
            )
        when = dt.datetime.now(dt.UTC) if at is None else as_utc(at)
        cached = self._memory.get(key, when)
        if cached is not None:
            self._cache_counters.hit()
            logger.debug("OCSP cache hit (memory) for %s", cached.source)
            return _answer(cached.value, cached.source, "cached", cached.not_after)
        from_disk = self._from_disk(key, cert, issuer, at, when, urls[0])
        if from_disk is not None:
            self._cache_counters.hit()
            logger.debug("OCSP cache hit (disk) for %s", from_disk.source)
            return from_disk
        self._cache_counters.miss()
        wait, budget = self._flight_wait, _budget.current()
        if budget is not None and budget.remaining() < wait:
            wait = max(0.0, budget.remaining())
        else:
            budget = None
        try:
            answer, shared = self._flights.do(
                key,
                lambda: self._fetch(key, cert, issuer, plain_request, urls, at),
                wait=wait,
            )
        except FlightTimeout as exc:
            reason = str(exc)
            if budget is not None:
                reason = f"{_budget.passed_reason(budget)} while another check was asking"
            return MethodAnswer("ocsp", "unavailable", ", ".join(urls), reason)
        if shared:
            # The fetch was made for another check's time; reuse its answer only if fresh
            # for ours.
            cached = self._memory.get(key, when)
            if cached is not None:
                return _answer(cached.value, cached.source, valid_until=cached.not_after)
            if answer.status in ("good", "revoked"):
                # Verified for another time and not fresh for ours: ask for ourselves.
                return self._fetch(key, cert, issuer, plain_request, urls, at)
        return answer

    def _from_disk(
        self,
        key: str,
        cert: bytes,
        issuer: bytes,
        at: dt.datetime | None,
        when: dt.datetime,
        source: str,
    ) -> MethodAnswer | None:
        data = self._disk.load(key)
        if data is None:
            return None
        try:
            status = self._verify(data, cert, issuer, at, None)
        except CertPolicyError as exc:
            # Corrupt, tampered or stale at the present time: never used again.
            if at is None:
                self._disk.discard(key)
            logger.debug("OCSP disk cache entry %s not usable: %s", key, exc)
            return None
        entry = self._entry(status, source)
        if entry.fresh_at(when):
            self._memory.put(key, entry)
            if status.status != "good":
                self.changes.bump()  # after the store: see RevocationChecker.change_counters
        return _answer(status, source, "from the disk cache", entry.not_after)

    def _verify(
        self,
        response: bytes,
        cert: bytes,
        issuer: bytes,
        at: dt.datetime | None,
        nonce: bytes | None,
    ) -> OcspStatus:
        return ocsp_check_response(
            response, cert, issuer, at=at, nonce=nonce, max_age=self.config.ocsp_max_age
        )

    def _entry(self, status: OcspStatus, source: str) -> CachedAnswer[OcspStatus]:
        if status.next_update is not None:
            not_after = status.next_update + CLOCK_SKEW
        else:
            not_after = status.this_update + dt.timedelta(seconds=self.config.ocsp_max_age)
        size = ANSWER_BYTES + len(source) + len(status.responder or "") + len(status.reason or "")
        return CachedAnswer(status, source, status.this_update - CLOCK_SKEW, not_after, size)

    # --- responders that just failed ----------------------------------------------------

    def _recent_failure(self, url: str) -> str | None:
        """Why ``url`` is not asked now, if it failed less than crl_min_refresh_interval
        ago."""
        interval = self.config.crl_min_refresh_interval
        with self._failures_lock:
            failure = self._failures.get(url)
        if failure is None:
            return None
        wait = failure[0] + interval - time.monotonic()
        if wait <= 0:
            return None
        return f"{failure[1]} (not asked again for {wait:.0f} s)"

    def _remember_failure(self, url: str, reason: str) -> None:
        now = time.monotonic()
        interval = self.config.crl_min_refresh_interval
        with self._failures_lock:
            self._failures.pop(url, None)
            self._failures[url] = (now, reason)
            while self._failures:
                oldest, (when, _) = next(iter(self._failures.items()))
                if now - when < interval and len(self._failures) <= MAX_FAILURES:
                    break
                del self._failures[oldest]

    def _fetch(
        self,
        key: str,
        cert: bytes,
        issuer: bytes,
        plain_request: bytes,
        urls: list[str],
        at: dt.datetime | None,
    ) -> MethodAnswer:
        """Asks each responder in turn; the first verified answer counts and is cached."""
        reasons: list[str] = []
        for url in urls:
            nonce = new_nonce() if self.config.ocsp_nonce else None
            failed = self._recent_failure(url)
            if failed is not None:
                reasons.append(f"{url}: {failed}" if len(urls) > 1 else failed)
                continue
            try:
                request = (
                    plain_request if nonce is None else ocsp_request(cert, issuer, nonce=nonce)
                )
                response = self._fetcher.post(url, request)
                status = self._verify(response, cert, issuer, at, nonce)
            except OcspFetchError as exc:
                # The responder failed (not this certificate's answer): remembered, unless
                # the revocation deadline stopped the request before it had a fair chance.
                if held_against_url(exc):
                    self._remember_failure(url, str(exc))
                    logger.warning("OCSP responder %s failed: %s", url, exc)
                else:
                    logger.debug("OCSP responder %s: %s", url, exc)
                reasons.append(f"{url}: {exc}" if len(urls) > 1 else str(exc))
                continue
            except CertPolicyError as exc:
                logger.debug("OCSP responder %s: %s", url, exc)
                reasons.append(f"{url}: {exc}" if len(urls) > 1 else str(exc))
                continue
            entry = self._entry(status, url)
            self._memory.put(key, entry)
            if status.status != "good":
                self.changes.bump()  # after the store: see RevocationChecker.change_counters
            if entry.not_after > dt.datetime.now(dt.UTC) and not self._disk.store(
                key, response, entry.not_after
            ):
                logger.debug(
                    "OCSP disk cache %s: the response was not stored", self._disk.directory
                )
            return _answer(status, url, valid_until=entry.not_after)
        source = urls[0] if len(urls) == 1 else ", ".join(urls)
        return MethodAnswer("ocsp", "unavailable", source, "; ".join(reasons))
