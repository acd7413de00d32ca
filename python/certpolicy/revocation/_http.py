"""The HTTP client side shared by the CRL and OCSP fetchers: urllib3 pools and a ``Retry``
with exponential backoff and jitter, configured from :class:`RevocationConfig`."""

from __future__ import annotations

import random
import ssl
from itertools import takewhile
from typing import Any

import certifi
import urllib3
from urllib3.util import Retry as Urllib3Retry
from urllib3.util import Timeout

from certpolicy._util import core as _core
from certpolicy.revocation._config import Retry, RevocationConfig

__all__ = ["RETRY_STATUSES", "BackoffRetry", "fetch_deadline", "revocation_pool"]

# The real ssl.SSLContext, captured before anything (certpolicy.inject_into_ssl) replaces it:
# revocation fetches must never be checked by the engine they serve (an https CRL or OCSP
# URL would otherwise need its own revocation check, and so on).
_PLAIN_SSL_CONTEXT = ssl.SSLContext

# Answers worth another try: the server is overloaded or briefly broken.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


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
    roots for https:// URLs, certpolicy's User-Agent; ``options`` go to the PoolManager."""
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
    return urllib3.PoolManager(**settings)


def fetch_deadline(config: RevocationConfig, timeouts_per_attempt: float) -> float:
    """The most a whole fetch may take, retries and backoff included: urllib3's timeouts
    bound each socket read, not a server that trickles one byte just inside each of them."""
    attempts = config.retry.attempts
    return (
        attempts * timeouts_per_attempt * config.timeout + (attempts - 1) * config.retry.max_backoff
    )
