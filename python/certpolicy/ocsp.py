"""OCSP (RFC 6960; DESIGN.md "Revocation").

:func:`ocsp_request` builds a DER OCSPRequest and :func:`ocsp_check_response` verifies a
response completely, both in the Rust core. :class:`OcspChecker` is the "ocsp" revocation
method: it POSTs the request to the certificate's AIA responder (:mod:`certpolicy.ocsp_fetch`),
verifies the answer, and keeps it in memory and on disk until nextUpdate
(:mod:`certpolicy.ocsp_cache`); concurrent checks of one certificate share one fetch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from dataclasses import dataclass
from typing import Final, Literal, cast

from certpolicy import _core
from certpolicy.errors import CertPolicyError, MalformedInputError
from certpolicy.ocsp_cache import CachedAnswer, OcspDiskCache, OcspMemoryCache, SingleFlight
from certpolicy.ocsp_fetch import OcspFetcher, OcspFetchError
from certpolicy.revocation import MethodAnswer, RevocationConfig
from certpolicy.verify import _unix_seconds, cert_info

__all__ = ["CLOCK_SKEW", "OcspChecker", "OcspStatus", "ocsp_check_response", "ocsp_request"]

logger = logging.getLogger("certpolicy")

# The clock skew allowed on thisUpdate / nextUpdate (the Rust core's, so cache and
# verification agree).
CLOCK_SKEW: Final = dt.timedelta(seconds=_core.OCSP_CLOCK_SKEW_SECONDS)
_NONCE_BYTES: Final = 16

CertStatus = Literal["good", "revoked", "unknown"]


@dataclass(frozen=True, slots=True)
class OcspStatus:
    """A verified OCSP answer for one certificate (times are aware UTC datetimes)."""

    status: CertStatus
    this_update: dt.datetime
    next_update: dt.datetime | None
    revoked_at: dt.datetime | None
    # RFC 5280 reason name ("keyCompromise", ...) when revoked with a reason.
    reason: str | None
    produced_at: dt.datetime
    # The delegated responder certificate's subject; None when the issuer signed.
    responder: str | None

    def describe(self) -> str:
        """``signed by the issuer, thisUpdate ..., nextUpdate ...`` for messages."""
        signer = "the issuer" if self.responder is None else f'responder "{self.responder}"'
        next_update = self.next_update.isoformat() if self.next_update else "none"
        return (
            f"signed by {signer}, thisUpdate {self.this_update.isoformat()}, "
            f"nextUpdate {next_update}"
        )


def _utc(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def ocsp_request(cert: bytes, issuer: bytes, *, nonce: bytes | None = None) -> bytes:
    """A DER OCSPRequest (RFC 6960 section 4.1) for ``cert`` issued by ``issuer`` (DER): one
    CertID with SHA-1 name and key hashes, as responders expect, and a nonce extension when
    ``nonce`` (1 to 32 bytes) is given. Raises :class:`OcspError` or
    :class:`MalformedInputError`."""
    return _core.ocsp_request(cert, issuer, nonce=nonce)


def ocsp_check_response(
    response: bytes,
    cert: bytes,
    issuer: bytes,
    *,
    at: dt.datetime | None = None,
    nonce: bytes | None = None,
    max_age: float | None = None,
) -> OcspStatus:
    """Verifies a DER OCSPResponse for ``cert`` issued by ``issuer`` at ``at`` (aware; naive
    means UTC; default now) and returns the certificate's status.

    Checked (RFC 6960): responseStatus successful; a BasicOCSPResponse whose signature
    verifies with the issuer's key, or with the key of a delegated responder certificate
    included in the response that the issuer issued, that has id-kp-OCSPSigning and is valid
    at ``at``; a SingleResponse whose CertID (SHA-1 or SHA-256) matches the certificate;
    thisUpdate not in the future and nextUpdate not passed (with :data:`CLOCK_SKEW`); when
    there is no nextUpdate and ``max_age`` (seconds) is given, thisUpdate at most that old;
    the ``nonce`` echoed when one was sent. Raises :class:`OcspError` naming the rule that
    failed."""
    at_seconds = None if at is None else _unix_seconds(at)
    if max_age is not None and not max_age >= 0:
        raise MalformedInputError(f"max_age must be >= 0, not {max_age}")
    raw = _core.ocsp_check_response(
        response,
        cert,
        issuer,
        at=at_seconds,
        nonce=nonce,
        max_age=None if max_age is None else int(max_age),
    )
    return OcspStatus(
        status=cast(CertStatus, raw.status),
        this_update=_utc(raw.this_update),
        next_update=None if raw.next_update is None else _utc(raw.next_update),
        revoked_at=None if raw.revoked_at is None else _utc(raw.revoked_at),
        reason=raw.reason,
        produced_at=_utc(raw.produced_at),
        responder=raw.responder,
    )


def _answer(status: OcspStatus, source: str, note: str = "") -> MethodAnswer:
    detail = status.describe() + (f"; {note}" if note else "")
    if status.status == "unknown":
        detail = f"the responder does not know the certificate; {detail}"
    return MethodAnswer(
        "ocsp", status.status, source, detail, revoked_at=status.revoked_at, reason=status.reason
    )


class OcspChecker:
    """The "ocsp" revocation method (the :class:`certpolicy.revocation.RevocationMethod`
    protocol). Never raises for network or data problems: it answers "unavailable" (or
    "unknown" when the responder says so) with the reason."""

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
        when = dt.datetime.now(dt.UTC) if at is None else _aware(at)
        cached = self._memory.get(key, when)
        if cached is not None:
            return _answer(cached.value, cached.source, "cached")
        from_disk = self._from_disk(key, cert, issuer, at, when, urls[0])
        if from_disk is not None:
            return from_disk
        answer, shared = self._flights.do(
            key,
            lambda: self._fetch(key, cert, issuer, plain_request, urls, at),
            wait=self._flight_wait,
        )
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
            nonce = os.urandom(_NONCE_BYTES) if self.config.ocsp_nonce else None
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


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
