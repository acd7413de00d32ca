"""What revocation fetching costs and how well the caches serve: counters per method
(``RevocationChecker.stats()``), and the record of one fetch's HTTP attempts.

A *fetch* here is one HTTP request attempt to a CRL URL or an OCSP responder: retries and
redirects count one each. A *failure* is an attempt that gave no usable body (a network
error, a timeout, an HTTP error status, a body over the size limit); a 304 Not Modified is
not one. Each attempt's time goes into a latency histogram with the :data:`LATENCY_BUCKETS`
upper bounds (cumulative, as Prometheus histograms are).

How attempts are seen: a fetcher opens a :class:`FetchRecord` around one download or one
OCSP exchange (:meth:`FetchRecord.active` in the fetching thread); the retry logic
(``_http.BackoffRetry``) tells it of every attempt that failed or was redirected, the fetcher
of the last one. The caller's thread reads the outcome (status, bytes, seconds) for the log
line once the fetch is over, or :meth:`FetchRecord.abandon` s it when its deadline passes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, Final, Literal
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "LATENCY_BUCKETS",
    "CacheCounters",
    "FetchCounters",
    "FetchRecord",
    "attempt_ended",
    "body_received",
    "current_record",
    "last_status",
    "log_fetch",
    "loggable_url",
]

# Upper bounds (seconds) of the latency histogram's buckets; "+Inf" follows.
LATENCY_BUCKETS: Final[tuple[float, ...]] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def bucket_label(bound: float) -> str:
    """``0.05`` -> "0.05", ``1.0`` -> "1": the label Prometheus clients print."""
    return f"{bound:g}"


class FetchCounters:
    """Thread-safe totals of one method's HTTP attempts (see the module documentation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._failures = 0
        self._bytes = 0
        self._seconds = 0.0
        # Attempts per bucket, not cumulative; the last slot is "+Inf" only.
        self._buckets = [0] * (len(LATENCY_BUCKETS) + 1)

    def record(self, *, failed: bool, received: int, seconds: float) -> None:
        seconds = max(0.0, seconds)
        slot = next(
            (i for i, bound in enumerate(LATENCY_BUCKETS) if seconds <= bound),
            len(LATENCY_BUCKETS),
        )
        with self._lock:
            self._count += 1
            self._failures += failed
            self._bytes += max(0, received)
            self._seconds += seconds
            self._buckets[slot] += 1

    def snapshot(self) -> dict[str, Any]:
        """``{"count", "failures", "bytes", "seconds", "latency_buckets"}``; the buckets are
        cumulative and keyed by their upper bound ("0.05" ... "10", "+Inf")."""
        with self._lock:
            count, failures, received, seconds = (
                self._count,
                self._failures,
                self._bytes,
                self._seconds,
            )
            per_bucket = list(self._buckets)
        buckets: dict[str, int] = {}
        running = 0
        for bound, attempts in zip(LATENCY_BUCKETS, per_bucket, strict=False):
            running += attempts
            buckets[bucket_label(bound)] = running
        buckets["+Inf"] = running + per_bucket[-1]
        return {
            "count": count,
            "failures": failures,
            "bytes": received,
            "seconds": seconds,
            "latency_buckets": buckets,
        }


class CacheCounters:
    """Thread-safe hits and misses of one method's caches. A hit: an answer (a CRL, an OCSP
    response) served from memory or the disk cache without a fetch; a miss: nothing usable
    was cached (a fetch followed, or was not possible)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def hit(self) -> None:
        with self._lock:
            self._hits += 1

    def miss(self) -> None:
        with self._lock:
            self._misses += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"hits": self._hits, "misses": self._misses}


def zero_fetches() -> dict[str, Any]:
    """The snapshot of a method nothing was ever fetched for."""
    return FetchCounters().snapshot()


_local = threading.local()


def current_record() -> FetchRecord | None:
    """The record of the fetch running in this thread, if any."""
    record: FetchRecord | None = getattr(_local, "record", None)
    return record


class FetchRecord:
    """The HTTP attempts of one fetch (one CRL download, one OCSP exchange, retries
    included), counted into ``counters`` as each ends. Its summary (last status, bytes,
    attempts, failures, seconds) is what the fetch's log line says."""

    def __init__(self, counters: FetchCounters) -> None:
        self._counters = counters
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._attempt_started: float | None = None
        self._attempt_bytes = 0
        self._closed = False
        self.status: int | None = None
        self.received = 0
        self.attempts = 0
        self.failures = 0

    @property
    def seconds(self) -> float:
        """Since the fetch started (its retries and backoff included)."""
        return time.monotonic() - self._started

    @contextlib.contextmanager
    def active(self) -> Iterator[FetchRecord]:
        """Makes this the record of the current thread (the fetching one) and starts the
        first attempt."""
        previous = current_record()
        _local.record = self
        self.begin()
        try:
            yield self
        finally:
            _local.record = previous

    def begin(self) -> None:
        """An attempt starts now (the first, or the next after a retry's backoff)."""
        with self._lock:
            if not self._closed:
                self._attempt_started = time.monotonic()
                self._attempt_bytes = 0

    def body(self, received: int) -> None:
        """``received`` more body bytes of the attempt in progress."""
        with self._lock:
            if not self._closed:
                self._attempt_bytes += received

    def end(self, *, failed: bool, status: int | None = None) -> None:
        """The attempt in progress ended (a failure: no usable body). Nothing happens when
        no attempt is in progress: the retry logic counted it already."""
        with self._lock:
            if status is not None and not self._closed:
                self.status = status
            self._end(failed)

    def abandon(self) -> None:
        """The caller gave up (the deadline passed): the attempt in progress, if any, is
        counted as failed now, and nothing the fetching thread does afterwards counts."""
        with self._lock:
            self._end(True)
            self._closed = True

    def _end(self, failed: bool) -> None:
        # Called with the lock held.
        if self._closed or self._attempt_started is None:
            return
        seconds = time.monotonic() - self._attempt_started
        received = self._attempt_bytes
        self._attempt_started = None
        self._attempt_bytes = 0
        self.attempts += 1
        self.failures += failed
        self.received += received
        self._counters.record(failed=failed, received=received, seconds=seconds)


# --- what a fetcher tells the record of its thread (no-ops outside a fetch) ---------------


def attempt_ended(*, failed: bool, status: int | None = None) -> None:
    """The attempt in progress ended (see :meth:`FetchRecord.end`)."""
    record = current_record()
    if record is not None:
        record.end(failed=failed, status=status)


def body_received(size: int) -> None:
    """``size`` more body bytes of the attempt in progress."""
    record = current_record()
    if record is not None:
        record.body(size)


def last_status() -> int | None:
    """The HTTP status of the last answer of the fetch in progress, if any."""
    record = current_record()
    return None if record is None else record.status


# --- the log line of a fetch ---------------------------------------------------------------

fetch_logger = logging.getLogger("certpolicy.revocation")

_WHAT: Final[Mapping[str, str]] = {"crl": "CRL download from", "ocsp": "OCSP request to"}


def loggable_url(url: str) -> str:
    """``url`` without the user and password a URL may carry (never logged)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.rpartition("@")[2] if "@" in url else url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def log_fetch(
    method: Literal["crl", "ocsp"],
    url: str,
    record: FetchRecord,
    outcome: Literal["ok", "failed", "not_modified"],
    error: str | None = None,
) -> None:
    """The INFO line of one fetch, with the structured ``extra`` fields documented in
    docs/monitoring.md: method, url, status, bytes, seconds, outcome, error, attempts."""
    shown = loggable_url(url)
    seconds = round(record.seconds, 6)
    extra = {
        "method": method,
        "url": shown,
        "status": record.status,
        "bytes": record.received,
        "seconds": seconds,
        "outcome": outcome,
        "error": error,
        "attempts": record.attempts,
    }
    what = _WHAT[method]
    status = f"HTTP {record.status}" if record.status is not None else "no HTTP answer"
    tries = f", {record.attempts} attempts" if record.attempts > 1 else ""
    if outcome == "failed":
        fetch_logger.info(
            "%s %s failed in %.3f s (%s%s): %s",
            what,
            shown,
            seconds,
            status,
            tries,
            error,
            extra=extra,
        )
    elif outcome == "not_modified":
        fetch_logger.info(
            "%s %s: not modified (%s) in %.3f s%s",
            what,
            shown,
            status,
            seconds,
            tries,
            extra=extra,
        )
    else:
        fetch_logger.info(
            "%s %s: %s, %d bytes in %.3f s%s",
            what,
            shown,
            status,
            record.received,
            seconds,
            tries,
            extra=extra,
        )
