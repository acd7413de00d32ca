"""Downloading CRLs over HTTP(S) with urllib3: pooled connections, timeouts, conditional GET
(ETag / Last-Modified, RFC 9110 section 13), a size cap enforced while streaming, and
urllib3's ``Retry`` driving exponential backoff with jitter for every retryable failure —
connection errors, timeouts, 408/429/5xx answers and bodies cut short. Every download has an
overall deadline (and, inside a revocation decision, no more than the decision has left);
past it the download's connection is closed and its thread ends. A body is never decoded: a
CRL sent with a Content-Encoding (which is never asked for) is refused, and a Content-Length
that is no plain number is ignored (the size cap still applies while reading).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError
from urllib3.util import Retry as Urllib3Retry
from urllib3.util import Timeout

from certpolicy._util import connection_failure, content_encoded, content_length
from certpolicy.errors import CrlError
from certpolicy.revocation._config import RevocationConfig
from certpolicy.revocation._http import (
    BackoffRetry,
    DeadlinePassed,
    bounded,
    closable,
    fetch_deadline,
    revocation_pool,
)
from certpolicy.revocation._stats import (
    FetchCounters,
    FetchRecord,
    attempt_ended,
    body_received,
    last_status,
    log_fetch,
)

__all__ = ["ATTEMPT_TIMEOUTS", "CrlFetchError", "Fetched", "Fetcher", "Progress"]

# Told of each chunk received: (bytes in this chunk, Content-Length or None).
Progress = Callable[[int, int | None], None]

logger = logging.getLogger("certpolicy")

# One attempt may take at most this many times the (per-read) timeout in all: a server that
# trickles bytes just faster than the timeout cannot hold a check forever.
ATTEMPT_TIMEOUTS = 10
MAX_REDIRECTS = 3
CHUNK_BYTES = 256 * 1024
ACCEPT = "application/pkix-crl, application/x-pkcs7-crl;q=0.9, */*;q=0.5"


class CrlFetchError(CrlError):
    """A download failed after its retries; the message says why. ``status`` is the HTTP
    status of the last answer, if there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Fetched:
    """A download: ``body`` is None when the server answered 304 Not Modified."""

    url: str
    body: bytes | None
    etag: str | None
    last_modified: str | None
    attempts: int


def default_pool(config: RevocationConfig) -> urllib3.PoolManager:
    """The connection pool of a fetcher: certifi's roots for https:// distribution points."""
    return revocation_pool(config)


def _reason(error: BaseException) -> str:
    if isinstance(error, MaxRetryError):
        inner = error.reason
        if inner is None:
            return "gave up after retries"
        return f"gave up after retries: {connection_failure(inner) or inner}"
    return str(error) or type(error).__name__


class Fetcher:
    """GETs CRLs for one configuration. A given ``http`` pool is made :func:`closable`: its
    new connections can be closed by a download whose deadline passes. Every download is
    logged at INFO (logger ``certpolicy.revocation``) and its HTTP attempts are counted in
    ``counters``."""

    def __init__(self, config: RevocationConfig, http: urllib3.PoolManager | None = None) -> None:
        self._config = config
        self._http = closable(http) if http is not None else default_pool(config)
        self._timeout = Timeout(connect=config.timeout, read=config.timeout)
        self.counters = FetchCounters()

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        progress: Progress | None = None,
    ) -> Fetched:
        """Downloads ``url``; with validators, a conditional GET. Raises CrlFetchError,
        also when the whole download (retries included) outlives its deadline, or the
        revocation decision in progress its own; the download's connection is closed then.
        ``progress`` is called from the downloading thread for every chunk."""
        seconds = fetch_deadline(self._config, ATTEMPT_TIMEOUTS)
        record = FetchRecord(self.counters)

        def work() -> Fetched:
            with record.active():
                return self._fetch(url, etag, last_modified, progress)

        try:
            fetched = bounded("CRL download", seconds, work, timeout=self._config.timeout)
        except DeadlinePassed as exc:
            raise CrlFetchError(f"download failed: {exc}") from exc  # nothing was sent
        except TimeoutError as exc:
            record.abandon()
            error = CrlFetchError(f"download failed: {exc}", status=record.status)
            log_fetch("crl", url, record, "failed", str(error))
            raise error from exc
        except CrlFetchError as exc:
            log_fetch("crl", url, record, "failed", str(exc))
            raise
        log_fetch("crl", url, record, "ok" if fetched.body is not None else "not_modified")
        return fetched

    def _fetch(
        self, url: str, etag: str | None, last_modified: str | None, progress: Progress | None
    ) -> Fetched:
        headers = {"Accept": ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        retry: Urllib3Retry = BackoffRetry.from_config(
            self._config.retry, method="GET", redirects=MAX_REDIRECTS, raise_on_status=True
        )
        while True:
            try:
                response = self._http.request(
                    "GET",
                    url,
                    headers=headers,
                    retries=retry,
                    timeout=self._timeout,
                    preload_content=False,
                    decode_content=False,
                )
            except (HTTPError, OSError, ValueError) as exc:
                attempt_ended(failed=True)
                raise CrlFetchError(
                    f"download failed: {_reason(exc)}", status=last_status()
                ) from exc
            # Every earlier try (retried by urllib3 or below) is in the history.
            attempts = len(response.retries.history) + 1 if response.retries else 1
            try:
                return self._read(url, response, attempts, progress)
            except (HTTPError, OSError) as exc:
                # The body broke off (truncated, reset, timed out): the same retry budget
                # and backoff as a failed request.
                response.close()
                response.release_conn()
                try:
                    retry = (response.retries or retry).increment("GET", url, error=exc)
                except MaxRetryError as final:
                    raise CrlFetchError(
                        f"download failed: {_reason(final)}", status=response.status
                    ) from exc
                logger.debug("CRL download from %s broke off (%s); retrying", url, exc)
                retry.sleep()

    def _read(
        self,
        url: str,
        response: urllib3.BaseHTTPResponse,
        attempts: int,
        progress: Progress | None,
    ) -> Fetched:
        etag = response.headers.get("ETag")
        last_modified = response.headers.get("Last-Modified")
        if response.status == 304:
            response.drain_conn()
            attempt_ended(failed=False, status=304)
            return Fetched(url, None, etag, last_modified, attempts)
        if response.status != 200:
            response.close()
            attempt_ended(failed=True, status=response.status)
            raise CrlFetchError(
                f"the server answered HTTP {response.status}", status=response.status
            )
        if content_encoded(response.headers.get("Content-Encoding")):
            response.close()
            response.release_conn()
            attempt_ended(failed=True, status=200)
            raise CrlFetchError(
                "the server sent the CRL with a Content-Encoding, which was not asked for",
                status=200,
            )
        limit = self._config.max_crl_bytes
        total = content_length(response.headers.get("Content-Length"))
        if total is not None and total > limit:
            response.close()
            response.release_conn()
            attempt_ended(failed=True, status=200)
            raise CrlFetchError(
                f"the CRL is {total} bytes, over the size limit (max_crl_bytes {limit})"
            )
        body = bytearray()
        deadline = time.monotonic() + ATTEMPT_TIMEOUTS * self._config.timeout
        for chunk in response.stream(CHUNK_BYTES, decode_content=False):
            body += chunk
            body_received(len(chunk))
            if progress is not None:
                progress(len(chunk), total)
            if len(body) > limit:
                response.close()
                response.release_conn()
                attempt_ended(failed=True, status=200)
                raise CrlFetchError(
                    f"the CRL is larger than the size limit (max_crl_bytes {limit})"
                )
            if time.monotonic() > deadline:
                response.close()
                response.release_conn()
                attempt_ended(failed=True, status=200)
                raise CrlFetchError(
                    f"the download took longer than {ATTEMPT_TIMEOUTS} x timeout "
                    f"({ATTEMPT_TIMEOUTS * self._config.timeout:g} s)"
                )
        response.release_conn()
        attempt_ended(failed=False, status=200)
        return Fetched(url, bytes(body), etag, last_modified, attempts)
