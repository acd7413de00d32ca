"""The HTTP client side shared by the CRL and OCSP fetchers: urllib3 pools and a ``Retry``
with exponential backoff and jitter, configured from :class:`RevocationConfig`, and
:func:`bounded`, which runs one fetch under a deadline (and, inside a revocation decision, no
later than the decision's own), closing the fetch's sockets when it passes (the mechanics are
in ``certpolicy/_util/_http.py``).
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Callable
from itertools import takewhile
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import certifi
import urllib3
from urllib3.util import Retry as Urllib3Retry
from urllib3.util import Timeout

from certpolicy._util import FetchCancelled, cancellable, closable, current_fetch
from certpolicy._util import core as _core
from certpolicy.revocation import _budget, _stats
from certpolicy.revocation._config import Retry, RevocationConfig

if TYPE_CHECKING:
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

__all__ = [
    "RETRY_STATUSES",
    "BackoffRetry",
    "DeadlinePassed",
    "FetchCancelled",
    "FetchTimeout",
    "bounded",
    "closable",
    "fetch_deadline",
    "held_against_url",
    "revocation_pool",
]

T = TypeVar("T")

# The real ssl.SSLContext, captured before anything (certpolicy.inject_into_ssl) replaces it:
# revocation fetches must never be checked by the engine they serve (an https CRL or OCSP
# URL would otherwise need its own revocation check, and so on).
_PLAIN_SSL_CONTEXT = ssl.SSLContext

# Answers worth another try: the server is overloaded or briefly broken.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class FetchTimeout(TimeoutError):
    """A fetch outlived its time and was cancelled (its sockets are closed).
    ``remembered`` is False when the revocation deadline cut it short before it had one
    whole ``timeout``: that says nothing about the server."""

    def __init__(self, message: str, *, remembered: bool) -> None:
        super().__init__(message)
        self.remembered = remembered


class DeadlinePassed(TimeoutError):
    """The revocation deadline had passed before the fetch started: nothing was sent."""


def bounded(what: str, seconds: float, work: Callable[[], T], *, timeout: float) -> T:
    """Runs ``work`` (a fetch) in a thread of its own (named ``certpolicy <what>``) for at
    most ``seconds``, or less when the revocation decision in progress ends earlier. Raises
    :class:`DeadlinePassed` when that decision has ended already, and :class:`FetchTimeout`
    when the time runs out; the fetch's sockets are shut down then and its thread ends.
    ``timeout`` is the per-read timeout: a fetch the decision's deadline left less than
    that is not held against its URL."""
    budget = _budget.current()
    cut_by_decision = False
    if budget is not None:
        left = budget.remaining()
        if left <= 0:
            raise DeadlinePassed(f"{_budget.passed_reason(budget)}; not asked")
        if left < seconds:
            seconds, cut_by_decision = left, True
    try:
        return cancellable(what, seconds, work)
    except TimeoutError as exc:
        if cut_by_decision and budget is not None:
            message = f"{what} did not finish within the revocation deadline ({budget.seconds:g} s)"
            raise FetchTimeout(message, remembered=seconds >= timeout) from None
        raise FetchTimeout(str(exc), remembered=True) from None


def held_against_url(error: BaseException) -> bool:
    """Whether a failed fetch counts as a failure of its URL (to be remembered): not when
    the revocation deadline stopped it before it had a fair chance."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, DeadlinePassed):
            return False
        if isinstance(seen, FetchTimeout):
            return seen.remembered
        seen = seen.__cause__
    return True


class BackoffRetry(Urllib3Retry):
    """urllib3's ``Retry`` with "equal jitter" exponential backoff from the first retry on:
    retry n waits a uniformly random time in [b/2, b], b = min(max_backoff, backoff * 2**(n-1)).
    (urllib3's own formula waits nothing before the first retry.)"""

    def get_backoff_time(self) -> float:
        errors = len(list(takewhile(lambda h: h.redirect_location is None, reversed(self.history))))
        if errors == 0:
            return 0.0
        base = min(self.backoff_max, self.backoff_factor * 2 ** (errors - 1))
        return random.uniform(base / 2, base)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        """As urllib3's, but no further try once the fetch has been cancelled. Called when an
        attempt failed or was redirected: the fetch's :class:`~._stats.FetchRecord` counts
        it, and the next attempt's time starts."""
        record = _stats.current_record()
        status = None if response is None else response.status
        # A redirect followed is an attempt but no failure, unless it is one too many.
        redirected = response is not None and bool(response.get_redirect_location())
        if record is not None and not redirected:
            record.end(failed=True, status=status)
        fetch = current_fetch()
        if fetch is not None and fetch.cancelled:
            if record is not None:
                record.end(failed=True, status=status)
            raise FetchCancelled("the fetch was cancelled: its deadline has passed")
        # Below, ending the attempt again is a no-op unless it was a redirect.
        try:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        except BaseException:
            if record is not None:
                record.end(failed=True, status=status)  # one redirect too many
            raise
        if record is not None:
            record.end(failed=False, status=status)  # a redirect followed
            record.begin()
        return retry

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        """The backoff wait, cut short when the fetch is cancelled meanwhile. (Retry-After
        is never respected, see :meth:`from_config`.)"""
        fetch = current_fetch()
        if fetch is None:
            super().sleep(response)
        else:
            backoff = self.get_backoff_time()
            if backoff > 0:
                fetch.wait(backoff)
        record = _stats.current_record()
        if record is not None:
            record.begin()  # the backoff is no attempt's time

    @classmethod
    def from_config(
        cls, retry: Retry, *, method: str, redirects: int, raise_on_status: bool
    ) -> BackoffRetry:
        """``retry.attempts`` tries in all for connection errors, timeouts and the
        :data:`RETRY_STATUSES`; ``method`` is the one (idempotent) method retried."""
        retries = retry.attempts - 1
        return cls(
            total=None,
            connect=retries,
            read=retries,
            status=retries,
            other=retries,
            redirect=redirects,
            allowed_methods=frozenset({method}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=retry.backoff,
            backoff_max=retry.max_backoff,
            # A hostile Retry-After would hold the connection being checked for hours.
            respect_retry_after_header=False,
            raise_on_status=raise_on_status,
            raise_on_redirect=raise_on_status,
        )


def revocation_pool(config: RevocationConfig, **options: Any) -> urllib3.PoolManager:
    """A pool for fetching revocation data: ``config.timeout`` per connect and read, certifi's
    roots for https:// URLs, certpolicy's User-Agent, connections a fetch can close
    (:func:`closable`); ``options`` go to the PoolManager."""
    context = _PLAIN_SSL_CONTEXT(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=certifi.where())
    settings: dict[str, Any] = {
        "num_pools": 32,
        "maxsize": 4,
        "ssl_context": context,
        "timeout": Timeout(connect=config.timeout, read=config.timeout),
        "headers": {"User-Agent": f"certpolicy/{_core.__version__}"},
    }
    settings.update(options)
    return closable(urllib3.PoolManager(**settings))


def fetch_deadline(config: RevocationConfig, timeouts_per_attempt: float) -> float:
    """The most a whole fetch may take, retries and backoff included: urllib3's timeouts
    bound each socket read, not a server that trickles one byte just inside each of them.
    Inside a revocation decision the decision's deadline may end it earlier (:func:`bounded`)."""
    attempts = config.retry.attempts
    return (
        attempts * timeouts_per_attempt * config.timeout + (attempts - 1) * config.retry.max_backoff
    )
