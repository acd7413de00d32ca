"""Completing a chain whose server left out an intermediate (AIA chasing, RFC 5280 section
4.2.2.1): :class:`IntermediateFetcher`.

When path building fails for want of an issuer (OpenSSL's verify code 20, "unable to get
local issuer certificate", or 2), the certificate where the presented chain stops is found
by following issuer names from the leaf through the presented certificates; its caIssuers
``http://`` URLs are fetched (``_fetch``); of what they serve, only CA certificates whose
subject is the issuer name wanted are kept, and the chain is verified again with them added
as untrusted intermediates, never as trust anchors. When the fetched CA's own issuer is
missing too, its caIssuers URLs are next, up to ``max_fetched`` certificates in all.

Bounds: one deadline for the whole chase, each fetch within ``timeout``, a body cap, at most
two URLs per certificate, none longer than ``MAX_URL_CHARS``. What a URL served is cached in
memory (least recently used first, within a number of entries and bytes, the URL counted)
and on disk (``cache_dir``, within a byte bound) until the first of its certificates
expires, and at most :data:`MAX_AGE` after the fetch; a URL that failed is remembered as
failed for :data:`FAILURE_SECONDS` (within a number of URLs and bytes). Fetches of one URL
are single-flight, and no lock is held while one runs. Where a fetch may connect (no
loopback, link-local or other special address): ``_fetch``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from certpolicy._util import (
    CachedValue,
    FlightTimeout,
    MemoryLru,
    SingleFlight,
    core,
)
from certpolicy.checks import CertInfo, cert_info
from certpolicy.errors import CertPolicyError, ChainError, ConfigError
from certpolicy.intermediates._cache import DEFAULT_DISK_BYTES, IntermediateDiskCache, cache_key
from certpolicy.intermediates._fetch import BodyFetcher, IntermediateFetchError, refused_url

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "FAILURE_SECONDS",
    "MAX_AGE",
    "Completion",
    "FetchedIntermediate",
    "IntermediateFetcher",
    "wants_issuer",
]

logger = logging.getLogger("certpolicy.intermediates")

# OpenSSL's X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT (2) and ..._LOCALLY (20): no issuer found.
_MISSING_ISSUER: Final = frozenset({2, 20})
# What a URL served is reused at most this long, whatever its certificates' notAfter.
MAX_AGE: Final = dt.timedelta(days=7)
# A URL that failed is not asked again for this long (seconds).
FAILURE_SECONDS: Final = 60.0
MAX_REMEMBERED_FAILURES: Final = 1024
# ... and at most this many bytes of URLs and reasons (with an estimate of each entry's cost).
MAX_REMEMBERED_FAILURE_BYTES: Final = 1024 * 1024
_FAILURE_OVERHEAD: Final = 200
# A URL and a reason in a report or log line are cut to this many characters.
_SHOWN_CHARS: Final = 200
DEFAULT_MAX_BODY_BYTES: Final = 256 * 1024
DEFAULT_MAX_FETCHED: Final = 4
MAX_URLS_PER_CERTIFICATE: Final = 2
DEFAULT_MEMORY_ENTRIES: Final = 256
DEFAULT_MEMORY_BYTES: Final = 4 * 1024 * 1024
# What a memory entry costs beyond its certificates' bytes (an estimate).
_ENTRY_OVERHEAD: Final = 256

Verify = Callable[[list[bytes]], list[bytes]]


def _shown(text: str) -> str:
    """``text`` (a URL, a reason) cut for a report or log line, printable characters only."""
    printable = "".join(ch if ch.isprintable() else "?" for ch in text[: _SHOWN_CHARS + 1])
    return printable if len(printable) <= _SHOWN_CHARS else printable[:_SHOWN_CHARS] + "..."


def wants_issuer(error: ChainError) -> bool:
    """Whether ``error`` says only that an issuer is missing (what a fetch may cure)."""
    return error.kind == "untrusted" and error.verify_code in _MISSING_ISSUER


@dataclass(frozen=True, slots=True)
class FetchedIntermediate:
    """A certificate fetched from a caIssuers URL that the verified path uses."""

    url: str
    subject: str
    der: bytes = field(repr=False)

    def describe(self) -> str:
        return f'intermediate "{self.subject}" fetched from {self.url}'


@dataclass(frozen=True, slots=True)
class Completion:
    """A chain completed: the verified path (leaf to anchor) and what was fetched for it."""

    path: tuple[bytes, ...] = field(repr=False)
    fetched: tuple[FetchedIntermediate, ...]

    def describe(self) -> str:
        return "; ".join(item.describe() for item in self.fetched)


def _info(cert: bytes) -> CertInfo | None:
    try:
        return cert_info(cert)
    except CertPolicyError:
        return None


def _chain_end(chain: Sequence[bytes], infos: list[CertInfo | None]) -> int | None:
    """The index of the certificate where the chain stops: issuer names followed from the
    leaf through the other certificates until no certificate has the name wanted. None when
    it stops at a self-issued certificate (a root: nothing to fetch) or cannot be read."""
    current, used = 0, {0}
    for _ in range(len(chain)):
        info = infos[current]
        if info is None or info["subject"] == info["issuer"]:
            return None
        wanted = info["issuer"]
        following = next(
            (
                index
                for index, other in enumerate(infos)
                if index not in used and other is not None and other["subject"] == wanted
            ),
            None,
        )
        if following is None:
            return current
        used.add(following)
        current = following
    return None


class _Failures:
    """URLs that failed recently, and why; bounded in number and bytes, the URLs counted
    (the oldest go first)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._bytes = 0

    @staticmethod
    def _cost(url: str, reason: str) -> int:
        return len(url) + len(reason) + _FAILURE_OVERHEAD

    def _drop(self, url: str) -> None:
        entry = self._entries.pop(url, None)
        if entry is not None:
            self._bytes -= self._cost(url, entry[1])

    def get(self, url: str) -> str | None:
        with self._lock:
            entry = self._entries.get(url)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                self._drop(url)
                return None
            return entry[1]

    def remember(self, url: str, reason: str) -> None:
        reason = _shown(reason)
        with self._lock:
            self._drop(url)
            self._entries[url] = (time.monotonic() + FAILURE_SECONDS, reason)
            self._bytes += self._cost(url, reason)
            while self._entries and (
                len(self._entries) > MAX_REMEMBERED_FAILURES
                or self._bytes > MAX_REMEMBERED_FAILURE_BYTES
            ):
                self._drop(next(iter(self._entries)))

    def size(self) -> tuple[int, int]:
        """How many URLs are remembered, and their bytes as counted against the bound."""
        with self._lock:
            return len(self._entries), self._bytes


class IntermediateFetcher:
    """Completes chains that lack an intermediate (see the module documentation).

    ``cache_dir``: the disk cache's directory, ``intermediate_cache_directory`` of a
    ``RevocationConfig.cache_dir`` (None: memory only; its format: ``_cache``). ``timeout``:
    each fetch's connect and read timeout, and the most one fetch takes in all.
    ``deadline``: the most one chase takes (every URL, every certificate).
    ``max_body_bytes`` caps what one URL may serve (at most the core's
    ``MAX_AIA_BODY_BYTES``); ``max_fetched`` is how many fetched certificates one chain may
    gain. ``allow_loopback`` (default False): caIssuers URLs may lead to loopback addresses
    (127.0.0.0/8, ::1), for tests and development only; link-local, unspecified, multicast
    and reserved addresses stay refused whatever it says (see ``_fetch``). Thread-safe.
    """

    def __init__(
        self,
        cache_dir: Path | None,
        *,
        timeout: float = 10.0,
        deadline: float = 20.0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_fetched: int = DEFAULT_MAX_FETCHED,
        memory_entries: int = DEFAULT_MEMORY_ENTRIES,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
        disk_bytes: int = DEFAULT_DISK_BYTES,
        allow_loopback: bool = False,
    ) -> None:
        if not isinstance(allow_loopback, bool):
            raise ConfigError("allow_loopback must be True or False")
        self._timeout = timeout
        self._deadline = deadline
        self._max_fetched = max_fetched
        self._max_body_bytes = min(max_body_bytes, core.MAX_AIA_BODY_BYTES)
        self._http = BodyFetcher(
            timeout=timeout, max_bytes=self._max_body_bytes, allow_loopback=allow_loopback
        )
        self._memory: MemoryLru[tuple[bytes, ...]] = MemoryLru(memory_entries, memory_bytes)
        self._disk = (
            None
            if cache_dir is None
            else IntermediateDiskCache(Path(cache_dir), self._max_body_bytes, disk_bytes=disk_bytes)
        )
        self._swept = False
        self._failures = _Failures()
        self._flights: SingleFlight[tuple[bytes, ...]] = SingleFlight()
        self._lock = threading.Lock()
        self._counts = {"fetches": 0, "failures": 0, "cache_hits": 0}

    def stats(self) -> dict[str, int]:
        """``{"fetches", "failures", "cache_hits"}``: HTTP fetches made, those that gave
        nothing usable, and URLs answered from the memory or disk cache."""
        with self._lock:
            return dict(self._counts)

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def complete(
        self, presented: Sequence[bytes], error: ChainError, verify: Verify
    ) -> Completion | ChainError:
        """Completes ``presented`` (leaf first), which failed with ``error``, from caIssuers
        URLs and verifies it again with ``verify``. Returns the :class:`Completion`, or the
        error to report: ``error`` itself (its kind and verify code: the server's chain
        lacks an issuer, whatever a caIssuers URL served), with why nothing completed it
        added to its message."""
        if not wants_issuer(error) or not presented:
            return error
        ends = time.monotonic() + self._deadline
        chain = [bytes(cert) for cert in presented]
        infos = [_info(cert) for cert in chain]
        added: list[FetchedIntermediate] = []
        tried: set[str] = set()
        notes: list[str] = []
        last: CertPolicyError | None = None
        while len(added) < self._max_fetched and len(chain) < core.MAX_PRESENTED_CERTS:
            end = _chain_end(chain, infos)
            if end is None:
                break
            end_info = infos[end]
            if end_info is None:  # pragma: no cover - _chain_end stops at unreadable ones
                break
            found = self._issuers(end_info, ends, tried, notes)
            room = min(self._max_fetched - len(added), core.MAX_PRESENTED_CERTS - len(chain))
            found = [(url, der, info) for url, der, info in found if der not in chain][:room]
            if not found:
                break
            for url, der, info in found:
                chain.append(der)
                infos.append(info)
                added.append(FetchedIntermediate(url, info["subject"], der))
            try:
                path = verify(chain)
            except CertPolicyError as exc:
                last = exc
                if isinstance(exc, ChainError) and wants_issuer(exc):
                    continue
                break
            used = set(path)
            return Completion(tuple(path), tuple(item for item in added if item.der in used))
        if added:
            with_fetched = "; ".join(item.describe() for item in added)
            notes.append(f"verified again with {with_fetched}: {last}")
        if not notes:
            return error
        return ChainError(
            f"{error} (missing intermediate: {'; '.join(notes)})", error.kind, error.verify_code
        )

    def _issuers(
        self, info: CertInfo, ends: float, tried: set[str], notes: list[str]
    ) -> list[tuple[str, bytes, CertInfo]]:
        """The CA certificates named ``info["issuer"]`` that the caIssuers URLs of ``info``
        serve (the first URL that serves any), noting why others gave none."""
        urls = info["ca_issuers_urls"]
        subject = info["subject"]
        if not urls:
            notes.append(f'"{subject}" names no caIssuers URL')
            return []
        for url in urls[:MAX_URLS_PER_CERTIFICATE]:
            if url in tried:
                continue
            tried.add(url)
            refused = refused_url(url)
            if refused is not None:
                notes.append(f"{_shown(url)!r} not fetched: {refused}")
                continue
            try:
                certificates = self._certificates(url, ends)
            except IntermediateFetchError as exc:
                notes.append(f"{_shown(url)}: {exc}")
                continue
            found = []
            for der in certificates:
                candidate = _info(der)
                if (
                    candidate is not None
                    and candidate["is_ca"]
                    and candidate["subject"] == info["issuer"]
                ):
                    found.append((url, der, candidate))
            if found:
                return found
            # What it serves instead is not repeated: the server chose it.
            notes.append(
                f"{_shown(url)} serves no CA certificate for {info['issuer']!r} (it serves "
                f"{len(certificates)} other certificate{'' if len(certificates) == 1 else 's'})"
            )
        return []

    def _certificates(self, url: str, ends: float) -> tuple[bytes, ...]:
        """What ``url`` serves: from memory, disk or the network (single-flight)."""
        cached = self._memory.get(url, dt.datetime.now(dt.UTC))
        if cached is not None:
            self._count("cache_hits")
            return cached.value
        failed = self._failures.get(url)
        if failed is not None:
            raise IntermediateFetchError(f"{failed} (failed less than {FAILURE_SECONDS:g} s ago)")
        left = ends - time.monotonic()
        if left <= 0:
            raise IntermediateFetchError(
                f"not fetched: the deadline ({self._deadline:g} s) passed", remembered=False
            )
        try:
            certificates, _shared = self._flights.do(
                url, lambda: self._obtain(url, ends), wait=left
            )
        except FlightTimeout as exc:
            raise IntermediateFetchError(str(exc), remembered=False) from None
        return certificates

    def _obtain(self, url: str, ends: float) -> tuple[bytes, ...]:
        """In the single flight for ``url``: the disk cache, else one fetch."""
        now = dt.datetime.now(dt.UTC)
        stored = self._from_disk(url, now)
        if stored is not None:
            self._count("cache_hits")
            return stored
        left = ends - time.monotonic()
        if left <= 0:
            raise IntermediateFetchError(
                f"not fetched: the deadline ({self._deadline:g} s) passed", remembered=False
            )
        self._count("fetches")
        started = time.monotonic()
        try:
            final, body = self._http.fetch(
                url, min(self._timeout, left), cut_short=left < self._timeout
            )
            certificates, first_expiry = _read_body(body)
        except IntermediateFetchError as exc:
            self._count("failures")
            if exc.remembered:
                self._failures.remember(url, str(exc))
            logger.info(
                "caIssuers fetch %s failed: %s",
                _shown(url),
                exc,
                extra={
                    "method": "aia",
                    "url": url,
                    "bytes": 0,
                    "seconds": time.monotonic() - started,
                    "outcome": "failed",
                    "error": str(exc),
                },
            )
            raise
        seconds = time.monotonic() - started
        logger.info(
            "caIssuers fetch %s: %d certificate(s), %d bytes in %.3f s%s",
            _shown(url),
            len(certificates),
            len(body),
            seconds,
            "" if final == url else " (redirected)",
            extra={
                "method": "aia",
                "url": url,
                "bytes": len(body),
                "seconds": seconds,
                "outcome": "ok",
                "error": None,
            },
        )
        until = min(first_expiry, now + MAX_AGE)
        # Expired certificates are kept a short while too (the URL is not asked again for
        # every connection), but never written to disk.
        self._keep(url, certificates, now, max(until, now + dt.timedelta(seconds=FAILURE_SECONDS)))
        if self._disk is not None and until > now:
            self._disk.store(cache_key(url), body, until)
        return certificates

    def _from_disk(self, url: str, now: dt.datetime) -> tuple[bytes, ...] | None:
        if self._disk is None:
            return None
        if not self._swept:
            self._swept = True
            self._disk.sweep()
        stored = self._disk.load_fresh(cache_key(url))
        if stored is None:
            return None
        body, end = stored
        try:
            certificates, first_expiry = _read_body(body)
        except IntermediateFetchError:
            self._disk.discard(cache_key(url))
            return None
        # The file's end of reuse was set when it was written; a file planted or touched
        # since gains nothing: the certificates' own notAfter and MAX_AGE still apply.
        until = min(first_expiry, end, now + MAX_AGE)
        if until <= now:
            self._disk.discard(cache_key(url))
            return None
        self._keep(url, certificates, now, until)
        return certificates

    def _keep(
        self, url: str, certificates: tuple[bytes, ...], now: dt.datetime, until: dt.datetime
    ) -> None:
        # The URL (up to MAX_URL_CHARS) is held as the entry's key: it counts too.
        size = sum(len(der) for der in certificates) + len(url) + _ENTRY_OVERHEAD
        self._memory.put(url, CachedValue(certificates, url, now, until, size))


def _read_body(body: bytes) -> tuple[tuple[bytes, ...], dt.datetime]:
    """The certificates of a body and the first notAfter among them (until then what the
    URL served may be reused). Raises :class:`IntermediateFetchError`."""
    try:
        _format, certificates = core.parse_ca_issuers(body)
    except CertPolicyError as exc:
        raise IntermediateFetchError(_shown(str(exc))) from None
    except Exception as exc:  # never a crash of the check, whatever the body
        raise IntermediateFetchError(f"caIssuers body: unreadable ({type(exc).__name__})") from None
    expiry = dt.datetime.max.replace(tzinfo=dt.UTC)
    for der in certificates:
        info = _info(der)
        if info is not None:
            expiry = min(expiry, info["not_after"])
    return tuple(certificates), expiry
