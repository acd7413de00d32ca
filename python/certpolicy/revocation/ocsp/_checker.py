"""The "ocsp" revocation method: :class:`OcspChecker` POSTs a request to the certificate's
AIA responder (``_fetch``), verifies the answer in the Rust core, and keeps it in memory and on
disk until nextUpdate (``_cache``); concurrent checks of one certificate share one fetch."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from certpolicy._util import CLOCK_SKEW, as_utc
from certpolicy.checks import cert_info
from certpolicy.errors import CertPolicyError
from certpolicy.revocation._answers import MethodAnswer
from certpolicy.revocation._config import RevocationConfig
from certpolicy.revocation._single_flight import FlightTimeout, SingleFlight
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


def _answer(status: OcspStatus, source: str, note: str = "") -> MethodAnswer:
    detail = status.describe() + (f"; {note}" if note else "")
    if status.status == "unknown":
        detail = f"the responder does not know the certificate; {detail}"
    return MethodAnswer(
        "ocsp", status.status, source, detail, revoked_at=status.revoked_at, reason=status.reason
    )


class OcspChecker:
    """The "ocsp" revocation method (the ``RevocationMethod`` protocol). Never raises for
    network or data problems: it answers "unavailable" (or "unknown" when the responder says
    so) with the reason."""

    name = "ocsp"

    def __init__(self, config: RevocationConfig) -> None:
        self.config = config
        self._fetcher = OcspFetcher(config)
        self._memory: OcspMemoryCache[OcspStatus] = OcspMemoryCache()
        self._disk = OcspDiskCache(config.cache_dir / "ocsp", config.max_ocsp_bytes)
        self._flights: SingleFlight[MethodAnswer] = SingleFlight()
        retry = config.retry
        # Longest a concurrent check waits for the fetch it shares (a bound, never reached
        # while urllib3's timeouts hold).
        self._flight_wait = retry.attempts * (2 * config.timeout + retry.max_backoff) + 5.0

    def check(self, cert: bytes, issuer: bytes, *, at: dt.datetime | None) -> MethodAnswer:
        try:
            urls = [
                url
                for url in cert_info(cert)["ocsp_urls"]
                if url.lower().startswith(("http://", "https://"))
            ]
            plain_request = ocsp_request(cert, issuer)
        except CertPolicyError as exc:
            return MethodAnswer("ocsp", "unavailable", "", f"cannot build a request: {exc}")
        if not urls:
            return MethodAnswer(
                "ocsp",
                "unavailable",
                "",
                "the certificate names no HTTP OCSP responder (authorityInfoAccess)",
            )
        # The request without nonce is deterministic: its hash identifies the CertID.
        key = hashlib.sha256(plain_request).hexdigest()
        when = dt.datetime.now(dt.UTC) if at is None else as_utc(at)
        cached = self._memory.get(key, when)
        if cached is not None:
            return _answer(cached.value, cached.source, "cached")
        from_disk = self._from_disk(key, cert, issuer, at, when, urls[0])
        if from_disk is not None:
            return from_disk
        try:
            answer, shared = self._flights.do(
                key,
                lambda: self._fetch(key, cert, issuer, plain_request, urls, at),
                wait=self._flight_wait,
            )
        except FlightTimeout as exc:
            return MethodAnswer("ocsp", "unavailable", ", ".join(urls), str(exc))
        if shared:
            # The fetch was made for another check's time; reuse its answer only if fresh
            # for ours.
            cached = self._memory.get(key, when)
            if cached is not None:
                return _answer(cached.value, cached.source)
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
        return _answer(status, source, "from the disk cache")

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
        return CachedAnswer(status, source, status.this_update - CLOCK_SKEW, not_after)

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
            try:
                request = (
                    plain_request if nonce is None else ocsp_request(cert, issuer, nonce=nonce)
                )
                response = self._fetcher.post(url, request)
                status = self._verify(response, cert, issuer, at, nonce)
            except (OcspFetchError, CertPolicyError) as exc:
                logger.debug("OCSP responder %s: %s", url, exc)
                reasons.append(f"{url}: {exc}" if len(urls) > 1 else str(exc))
                continue
            entry = self._entry(status, url)
            self._memory.put(key, entry)
            if entry.not_after > dt.datetime.now(dt.UTC) and not self._disk.store(key, response):
                logger.debug("OCSP disk cache %s is not writable", self._disk.directory)
            return _answer(status, url)
        source = urls[0] if len(urls) == 1 else ", ".join(urls)
        return MethodAnswer("ocsp", "unavailable", source, "; ".join(reasons))
