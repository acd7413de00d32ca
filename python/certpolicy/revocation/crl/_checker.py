"""CRL revocation (RFC 5280 section 5; DESIGN.md "Revocation").

:class:`Crl` and :class:`RevokedEntry` come from the Rust core: a CRL parsed, verified against
its issuer and indexed once, answering lookups by binary search.

:class:`CrlChecker` is the "crl" revocation method. For each certificate it takes the HTTP(S)
CRL distribution points and uses the first CRL that is available, verified against the
certificate's issuer, current, and in scope for the certificate. CRLs live in memory and in
the disk cache (``_cache``); they are downloaded (``_fetch``) when missing or expired, one
download per URL at a time however many checks wait for it, and refreshed in the background
before their nextUpdate (``_refresh``).

A valid CRL never replaces a valid one with a higher CRL number, and an expired CRL never
answers; but a CRL that is not valid now (expired, or not yet valid) never blocks a valid
one, whatever its number. The CRLs in memory stay within ``memory_cache_bytes`` (DER plus
index), least recently used first; a CRL nobody asked for since its last refresh is not
refreshed again but leaves memory (it stays on disk). A URL whose download just failed is
not downloaded again for ``crl_min_refresh_interval``. A check takes at most
``RevocationConfig.deadline`` in all (``_budget``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

import urllib3

from certpolicy._util import (
    CLOCK_SKEW_SECONDS,
    Crl,
    FlightTimeout,
    SingleFlight,
    as_utc,
    core,
    from_unix,
    iso_z,
)
from certpolicy.checks import CertSummary, cert_summary
from certpolicy.errors import CertPolicyError, CrlError
from certpolicy.revocation import _budget
from certpolicy.revocation._answers import MethodAnswer, certificate_label
from certpolicy.revocation._config import RevocationConfig
from certpolicy.revocation._http import held_against_url
from certpolicy.revocation._stats import CacheCounters
from certpolicy.revocation.crl._cache import CrlDiskCache, Metadata
from certpolicy.revocation.crl._fetch import ATTEMPT_TIMEOUTS, CrlFetchError, Fetcher
from certpolicy.revocation.crl._refresh import RefreshScheduler

__all__ = ["CrlChecker"]

logger = logging.getLogger("certpolicy")

# Failed URLs remembered at most (the oldest are forgotten first when more fail).
MAX_FAILURES = 4096
# Answers remembered by (CRL, certificate) at most (the memo is emptied when full), the DER
# bytes of the certificates they name at most, and the largest certificate remembered.
MAX_ANSWER_MEMO = 1024
MAX_ANSWER_MEMO_BYTES = 4 * 1024 * 1024
MAX_ANSWER_MEMO_DER = 16 * 1024
# URLs whose last installed CRL content is remembered at most (emptied when full).
MAX_INSTALLED = 4096


class _Unavailable(Exception):
    """No usable CRL from one URL; the message says why."""


@dataclass(frozen=True, slots=True, eq=False)
class _Loaded:
    """A CRL in memory, with what is needed to refresh it. Replaced whole, never mutated."""

    url: str
    crl: Crl
    issuer: bytes  # the certificate it was first verified with (for background refreshes)
    verified: frozenset[bytes]  # SHA-256 of every issuer certificate it verified with
    etag: str | None
    last_modified: str | None
    fetched_at: float
    this_update: float
    next_update: float | None
    number: int | None
    sha256: str  # of the DER, for the cache metadata
    size: int
    memory: int  # what it costs in memory: the DER and the index

    @classmethod
    def of(
        cls,
        url: str,
        der: bytes,
        crl: Crl,
        issuer: bytes,
        *,
        etag: str | None,
        last_modified: str | None,
        fetched_at: float,
    ) -> _Loaded:
        return cls(
            url=url,
            crl=crl,
            issuer=issuer,
            verified=frozenset({hashlib.sha256(issuer).digest()}),
            etag=etag,
            last_modified=last_modified,
            fetched_at=fetched_at,
            this_update=crl.this_update.timestamp(),
            next_update=None if crl.next_update is None else crl.next_update.timestamp(),
            number=crl.number,
            sha256=hashlib.sha256(der).hexdigest(),
            size=len(der),
            memory=len(der) + crl.index_bytes(),
        )

    def valid_at(self, when: float) -> bool:
        """thisUpdate <= when < nextUpdate (RFC 5280 section 6.3.3 (a)(1)), with skew."""
        if when < self.this_update - CLOCK_SKEW_SECONDS:
            return False
        return self.next_update is None or when < self.next_update

    def describe(self) -> str:
        return _describe(self.number, self.this_update, self.next_update)

    def metadata(self) -> Metadata:
        return Metadata(
            url=self.url,
            sha256=self.sha256,
            size=self.size,
            etag=self.etag,
            last_modified=self.last_modified,
            fetched_at=self.fetched_at,
            this_update=self.this_update,
            next_update=self.next_update,
            number=self.number,
        )


@functools.lru_cache(maxsize=256)
def _describe(number: int | None, this_update: float, next_update: float | None) -> str:
    """How messages name a CRL (cached: every answer from a CRL names it)."""
    shown_next = iso_z(next_update) if next_update is not None else "none"
    return f"CRL #{number} of {iso_z(this_update)} (next update {shown_next})"


def _older(candidate: _Loaded, current: _Loaded, now: float) -> bool:
    """True when ``candidate`` must not replace ``current``. Of two CRLs of which one is
    valid ``now`` and the other is not (expired, or not yet valid), the valid one wins,
    whatever their numbers: a held CRL that cannot answer must never block one that can.
    Otherwise: a lower CRL number, or the same number (or none) and an earlier thisUpdate
    (RFC 5280 section 5.2.3)."""
    candidate_valid, current_valid = candidate.valid_at(now), current.valid_at(now)
    if candidate_valid != current_valid:
        return current_valid
    new, held = candidate.number, current.number
    if new is not None and held is not None and new != held:
        return new < held
    return candidate.this_update < current.this_update


class CrlChecker:
    """The "crl" revocation method (see the module documentation). ``http`` replaces the
    default urllib3 pool (e.g. for other CA roots or a proxy). Call :meth:`close` (or use it
    as a context manager) to stop its background refresh thread; the thread is a daemon
    either way."""

    name = "crl"

    def __init__(
        self, config: RevocationConfig, *, http: urllib3.PoolManager | None = None
    ) -> None:
        self.config = config
        self._fetcher = Fetcher(config, http)
        self._disk = CrlDiskCache(
            config.cache_dir, config.max_crl_bytes, disk_bytes=config.disk_cache_bytes
        )
        self._disk.sweep()  # what a crash left, and the directory within its bound
        self._lock = threading.Lock()
        # In least recently used order; _memory is the sum of their .memory.
        self._loaded: OrderedDict[str, _Loaded] = OrderedDict()
        self._memory = 0
        # URLs asked for since their last refresh (the others are idle).
        self._asked: set[str] = set()
        # URLs whose CRL was too large for memory, warned about once.
        self._oversized: set[str] = set()
        # A flight's result: the CRL, and whether it came from a cache (no download).
        self._flights: SingleFlight[tuple[_Loaded, bool]] = SingleFlight()
        self._cache_counters = CacheCounters()
        self._failures: dict[str, tuple[float, str]] = {}
        # (SHA-256 of a CRL's DER, its URL, certificate DER) -> what that CRL says of the
        # certificate, which is in its scope; and the certificates' DER bytes.
        self._answers: dict[tuple[str, str, bytes], MethodAnswer] = {}
        self._answer_bytes = 0
        self._scheduler = RefreshScheduler(self._refresh_in_background)
        self._closed = False
        # Bumped whenever a URL gets a CRL of other content than the last one installed for
        # it: path verdicts remembered from an older count are not reused (the engine's
        # decision in Rust). A CRL leaving memory, or coming back unchanged (a 304, the disk
        # cache), changes no answer and bumps nothing.
        self.changes = core.ChangeCounter()
        self._installed: dict[str, str] = {}  # URL -> SHA-256 of the last CRL installed
        # Flags the engine sets when it reuses a verdict from a CRL (a connection then never
        # reaches this checker): such a CRL is in use, and refreshed like one asked for.
        self.usage = core.UsageFlags()
        retry = config.retry
        # How long a check waits for another thread's download of the same URL: as long as
        # that download may take.
        attempt = ATTEMPT_TIMEOUTS * config.timeout + retry.max_backoff
        self._flight_timeout = retry.attempts * attempt + 5.0

    def close(self) -> None:
        """Stops background refreshes. Checks still work (downloading when needed)."""
        self._closed = True
        self._scheduler.close()

    def __enter__(self) -> CrlChecker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def current(self, url: str) -> Crl | None:
        """The CRL of ``url`` in memory, if any (it may be expired)."""
        with self._lock:
            loaded = self._loaded.get(url)
        return None if loaded is None else loaded.crl

    def memory_bytes(self) -> int:
        """What the CRLs in memory take (DER and index), at most ``memory_cache_bytes``."""
        with self._lock:
            return self._memory

    def stats(self) -> dict[str, Any]:
        """``{"fetches": {...}, "cache": {"hits": n, "misses": n}}``: the HTTP attempts of
        the downloads (background refreshes included) and how often a check found a usable
        CRL in memory or on disk (a hit) or not (a miss: a download followed, or was not
        possible). One lookup per distribution point tried. See ``RevocationChecker.stats``."""
        return {
            "fetches": self._fetcher.counters.snapshot(),
            "cache": self._cache_counters.snapshot(),
        }

    def next_refresh(self, url: str) -> dt.datetime | None:
        """When the background refresh of ``url`` is due, if scheduled."""
        due = self._scheduler.due(url)
        return None if due is None else from_unix(due)

    # --- the method --------------------------------------------------------------------

    def check(self, cert: bytes, issuer: bytes, *, at: dt.datetime | None) -> MethodAnswer:
        """Looks ``cert`` (DER) up in the CRL of its issuer ``issuer`` (DER) valid at ``at``
        (default now). Never raises for network or data problems: answers "unavailable".
        Takes at most ``RevocationConfig.deadline`` (less inside a path check whose deadline
        ends earlier)."""
        with _budget.decision(self.config.deadline):
            return self._check(cert, issuer, at)

    def _check(self, cert: bytes, issuer: bytes, at: dt.datetime | None) -> MethodAnswer:
        try:
            info = cert_summary(cert)
        except CertPolicyError as exc:
            return MethodAnswer("crl", "unavailable", "", f"unreadable certificate: {exc}")
        answer = self._check_certificate(info, cert, issuer, at)
        return answer.about(certificate_label(info.subject, leaf=not info.is_ca))

    def _check_certificate(
        self, info: CertSummary, cert: bytes, issuer: bytes, at: dt.datetime | None
    ) -> MethodAnswer:
        # A prefix test, not urlsplit: a hostile URL must not make the check raise.
        urls = [u for u in info.crl_urls if u.lower().startswith(("http://", "https://"))]
        if not urls:
            others = f" (only {', '.join(info.crl_urls)})" if info.crl_urls else ""
            detail = f"the certificate names no HTTP(S) CRL distribution point{others}"
            return MethodAnswer("crl", "unavailable", "", detail)
        when = time.time() if at is None else as_utc(at).timestamp()
        failures = []
        for url in urls:
            try:
                loaded = self._usable(url, issuer, when)
                return self._answer_in_scope(loaded, cert, info.serial)
            except (_Unavailable, CrlError) as exc:
                failures.append((url, str(exc)))
        if len(failures) == 1:
            url, reason = failures[0]
            return MethodAnswer("crl", "unavailable", url, reason)
        return MethodAnswer("crl", "unavailable", "", "; ".join(f"{u}: {r}" for u, r in failures))

    def _answer_in_scope(self, loaded: _Loaded, cert: bytes, serial: int) -> MethodAnswer:
        """What the CRL says of ``cert`` (serial ``serial``); raises CrlError when it does not
        cover it. The answer is a function of the CRL's content, its URL and the certificate,
        so it is remembered by those (the SHA-256 of the CRL's DER: the memo holds no CRL),
        within a bound, and the next check of the certificate against that CRL skips the
        scope check's parsing and the lookup. Nothing is remembered of a certificate out of
        scope."""
        plain = type(cert) is bytes  # hashable as it is
        key = (loaded.sha256, loaded.url, cert)
        answer = self._answers.get(key) if plain else None
        if answer is not None:
            return answer
        loaded.crl.check_scope(cert)
        answer = self._answer(loaded, serial)
        if plain and len(cert) <= MAX_ANSWER_MEMO_DER:
            with self._lock:
                full = len(self._answers) >= MAX_ANSWER_MEMO
                if full or self._answer_bytes + len(cert) > MAX_ANSWER_MEMO_BYTES:
                    self._answers.clear()
                    self._answer_bytes = 0
                if key not in self._answers:
                    self._answers[key] = answer
                    self._answer_bytes += len(cert)
        return answer

    def _answer(self, loaded: _Loaded, serial: int) -> MethodAnswer:
        entry = loaded.crl.lookup(serial)
        until = None if loaded.next_update is None else from_unix(loaded.next_update)
        if entry is None:
            detail = f"not among the {len(loaded.crl)} entries of {loaded.describe()}"
            return MethodAnswer("crl", "good", loaded.url, detail, valid_until=until)
        return MethodAnswer(
            "crl",
            "revoked",
            loaded.url,
            f"listed in {loaded.describe()}",
            revoked_at=entry.revoked_at,
            reason=entry.reason,
            valid_until=until,
        )

    # --- getting a usable CRL ----------------------------------------------------------

    def _usable(self, url: str, issuer: bytes, when: float) -> _Loaded:
        with self._lock:
            self._asked.add(url)
            loaded = self._loaded.get(url)
            if loaded is not None:
                self._loaded.move_to_end(url)
        cached = loaded is not None and loaded.valid_at(time.time())
        if loaded is None or not cached:
            try:
                loaded, cached = self._single_flight(url, lambda: self._obtain(url, issuer))
            except _Unavailable:
                self._cache_counters.miss()
                raise
        if cached:
            self._cache_counters.hit()
            logger.debug("CRL cache hit for %s", url)
        else:
            self._cache_counters.miss()
        loaded = self._with_issuer(loaded, issuer)
        if not loaded.valid_at(when):
            early = when < loaded.this_update - CLOCK_SKEW_SECONDS
            state = "not yet valid" if early else "expired"
            raise _Unavailable(f"the newest {loaded.describe()} is {state} at {iso_z(when)}")
        return loaded

    def _single_flight(
        self, url: str, work: Callable[[], tuple[_Loaded, bool]]
    ) -> tuple[_Loaded, bool]:
        """Runs ``work`` for ``url`` unless a run is in progress, whose result is shared
        (waited for at most as long as the decision in progress has left)."""
        wait, budget = self._flight_timeout, _budget.current()
        if budget is not None and budget.remaining() < wait:
            wait = max(0.0, budget.remaining())
        else:
            budget = None
        try:
            outcome, _shared = self._flights.do(url, work, wait=wait)
        except FlightTimeout as exc:
            if budget is not None:
                raise _Unavailable(
                    f"{_budget.passed_reason(budget)} while another check was downloading it"
                ) from None
            raise _Unavailable(str(exc)) from None
        return outcome

    def _obtain(self, url: str, issuer: bytes) -> tuple[_Loaded, bool]:
        """The current CRL of ``url``: from memory, the disk cache, or a download; and
        whether it came from a cache."""
        now = time.time()
        with self._lock:
            current = self._loaded.get(url)
        if current is not None and current.valid_at(now):
            return current, True  # refreshed by the flight that just ended
        if current is None:
            current = self._from_disk(url, issuer)
            if current is not None and current.valid_at(now):
                return current, True
        with self._lock:
            failure = self._failures.get(url)
        if failure is not None and now - failure[0] < self.config.crl_min_refresh_interval:
            wait = failure[0] + self.config.crl_min_refresh_interval - now
            raise _Unavailable(f"{failure[1]} (not downloading again for {wait:.0f} s)")
        return self._download(url, issuer, current), False

    def _from_disk(self, url: str, issuer: bytes) -> _Loaded | None:
        """The disk cache's CRL of ``url``, verified, now in memory. One that is not valid
        now is held only for the conditional GET that follows: it is not refreshed, and it
        cannot block the CRL downloaded next (:func:`_older`)."""
        entry = self._disk.load(url)
        if entry is None:
            return None
        try:
            crl = Crl.from_der(entry.der, issuer)
        except CrlError as exc:
            self._disk.discard(url, f"it does not verify: {exc}")
            return None
        meta = entry.metadata
        loaded = _Loaded.of(
            url,
            entry.der,
            crl,
            issuer,
            etag=meta.etag,
            last_modified=meta.last_modified,
            fetched_at=meta.fetched_at,
        )
        logger.debug("loaded %s for %s from the disk cache", loaded.describe(), url)
        self._install(loaded, schedule=loaded.valid_at(time.time()))
        return loaded

    def _download(self, url: str, issuer: bytes, current: _Loaded | None) -> _Loaded:
        """Downloads ``url`` (conditionally when a copy is held) and installs the result."""
        started = time.time()
        try:
            fetched = self._fetcher.fetch(
                url,
                etag=current.etag if current else None,
                last_modified=current.last_modified if current else None,
            )
        except CrlFetchError as exc:
            raise self._failed(url, str(exc), current, remember=held_against_url(exc)) from None
        if fetched.body is None:
            if current is None:
                raise self._failed(url, "the server answered 304 to an unconditional GET", None)
            touched = replace(current, fetched_at=started)
            self._disk.store_metadata(touched.metadata())
            self._install(touched)
            logger.debug("%s for %s is unchanged (304)", current.describe(), url)
            return touched
        try:
            crl = Crl.from_der(fetched.body, issuer)
        except CrlError as exc:
            raise self._failed(url, f"the downloaded CRL is unusable: {exc}", current) from None
        loaded = _Loaded.of(
            url,
            fetched.body,
            crl,
            issuer,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            fetched_at=started,
        )
        now = time.time()
        if current is not None and _older(loaded, current, now):
            if loaded.valid_at(now):
                reason = (
                    f"the server sent {loaded.describe()}, older than the "
                    f"{current.describe()} held; keeping the newer one"
                )
            else:
                reason = (
                    f"the server sent {loaded.describe()}, which is not valid now; keeping "
                    f"the {current.describe()} held"
                )
            logger.warning("CRL %s: %s", url, reason)
            if not current.valid_at(now):
                raise self._failed(url, reason, current)
            self._schedule(current, now)
            return current
        self._disk.store(fetched.body, loaded.metadata())
        self._install(loaded)
        with self._lock:
            self._failures.pop(url, None)
        logger.debug(
            "downloaded %s from %s (%d entries, %d bytes, %d attempt(s))",
            loaded.describe(),
            url,
            len(crl),
            len(fetched.body),
            fetched.attempts,
        )
        return loaded

    def _failed(
        self, url: str, reason: str, current: _Loaded | None, *, remember: bool = True
    ) -> _Unavailable:
        """Records a failed download (unless the revocation deadline stopped it before it
        had a fair chance: ``remember=False``); a held CRL gets its next background try."""
        now = time.time()
        if remember:
            with self._lock:
                self._failures.pop(url, None)
                self._failures[url] = (now, reason)
                self._forget_old_failures(now)
            logger.warning("CRL download from %s failed: %s", url, reason)
        else:
            logger.debug("CRL download from %s stopped: %s", url, reason)
        if current is not None and not self._closed:
            self._scheduler.schedule(url, now + self.config.crl_min_refresh_interval)
        return _Unavailable(reason)

    def _forget_old_failures(self, now: float) -> None:
        """Keeps the failures remembered few: those past the interval go, and the oldest
        beyond MAX_FAILURES (called with the lock held)."""
        interval = self.config.crl_min_refresh_interval
        while self._failures:
            url, (when, _) = next(iter(self._failures.items()))
            if now - when < interval and len(self._failures) <= MAX_FAILURES:
                break
            del self._failures[url]

    def _with_issuer(self, loaded: _Loaded, issuer: bytes) -> _Loaded:
        """``loaded``, verified against ``issuer`` (once per issuer certificate)."""
        if issuer == loaded.issuer:
            return loaded  # verified with it when loaded (no hash on the path of every check)
        key = hashlib.sha256(issuer).digest()
        if key in loaded.verified:
            return loaded
        try:
            loaded.crl.verify(issuer)
        except CrlError as exc:
            raise _Unavailable(f"the CRL is not one of this certificate's issuer: {exc}") from None
        updated = replace(loaded, verified=loaded.verified | {key})
        with self._lock:
            if self._loaded.get(loaded.url) is loaded:
                self._loaded[loaded.url] = updated
        return updated

    # --- memory, refresh ---------------------------------------------------------------

    def _install(self, loaded: _Loaded, *, schedule: bool = True) -> None:
        """Makes ``loaded`` the CRL of its URL (one dict store: checks see the old CRL or
        the new one, never a mix) and schedules its refresh. The least recently used CRLs
        leave memory until the rest fit in ``memory_cache_bytes``; a CRL larger than that
        alone is used by the check that obtained it but not kept (it is read from the disk
        cache again when asked for)."""
        bound = self.config.memory_cache_bytes
        evicted: list[str] = []
        with self._lock:
            changed = self._installed.get(loaded.url) != loaded.sha256
            if changed:
                if len(self._installed) >= MAX_INSTALLED:
                    self._installed.clear()
                self._installed[loaded.url] = loaded.sha256
            replaced = self._loaded.pop(loaded.url, None)
            if replaced is not None:
                self._memory -= replaced.memory
            kept = loaded.memory <= bound
            if kept:
                self._loaded[loaded.url] = loaded
                self._memory += loaded.memory
                while self._memory > bound:
                    oldest = next(iter(self._loaded))
                    self._drop(oldest)
                    evicted.append(oldest)
        if changed:
            self.changes.bump()  # after the store: see RevocationChecker.change_counters
        for url in evicted:
            self._scheduler.cancel(url)
            logger.debug("the CRL of %s left memory (memory_cache_bytes %d)", url, bound)
        if not kept:
            self._scheduler.cancel(loaded.url)
            with self._lock:
                first = loaded.url not in self._oversized
                if first and len(self._oversized) < 1024:
                    self._oversized.add(loaded.url)
            logger.log(
                logging.WARNING if first else logging.DEBUG,
                "the CRL of %s takes %d bytes, more than memory_cache_bytes (%d): not kept in "
                "memory, read from the disk cache whenever it is needed",
                loaded.url,
                loaded.memory,
                bound,
            )
        elif schedule:
            self._schedule(loaded, loaded.fetched_at)

    def _drop(self, url: str) -> None:
        """Takes the CRL of ``url`` out of memory (called with the lock held)."""
        gone = self._loaded.pop(url, None)
        if gone is not None:
            self._memory -= gone.memory
        self._asked.discard(url)

    def _schedule(self, loaded: _Loaded, last_attempt: float) -> None:
        config = self.config
        if loaded.next_update is None:
            due = last_attempt + config.crl_refresh_margin
        else:
            validity = max(0.0, loaded.next_update - loaded.this_update)
            due = loaded.next_update - min(config.crl_refresh_margin, validity / 2)
        due = max(due, last_attempt + config.crl_min_refresh_interval)
        if not self._closed:
            self._scheduler.schedule(loaded.url, due)

    def _refresh_in_background(self, url: str) -> None:
        """Refreshes the CRL of ``url`` if it was asked for since its last refresh; an idle
        one leaves memory instead (the disk cache keeps it)."""
        if self._closed:
            return
        reused = self.usage.take(url)
        with self._lock:
            current = self._loaded.get(url)
            asked = url in self._asked or reused
            self._asked.discard(url)
            if current is not None and not asked:
                self._drop(url)
        if current is None:
            return
        if not asked:
            logger.debug("the CRL of %s was not asked for since its last refresh: dropped", url)
            return
        # A failure is logged and rescheduled by _failed.
        with contextlib.suppress(_Unavailable):
            self._single_flight(url, lambda: (self._download(url, current.issuer, current), False))
