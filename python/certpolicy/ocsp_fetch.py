"""Sending OCSP requests over HTTP (RFC 6960 appendix A.1) with urllib3: a pooled POST of
``application/ocsp-request``, the timeout and retries of :class:`RevocationConfig` (exponential
backoff with jitter), no redirects, and a response size cap enforced while reading.
"""

from __future__ import annotations

import random
from itertools import takewhile

import certifi
import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError
from urllib3.util import Retry as Urllib3Retry
from urllib3.util import Timeout

from certpolicy._core import __version__
from certpolicy.revocation import Retry, RevocationConfig

__all__ = ["OcspFetchError", "OcspFetcher"]

# Answers worth another try: the responder is overloaded or briefly broken.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class OcspFetchError(Exception):
    """No response body from the responder; the message says why."""


class _BackoffRetry(Urllib3Retry):
    """urllib3's ``Retry`` with "equal jitter" exponential backoff from the first retry on:
    retry n waits a uniformly random time in [b/2, b], b = min(max_backoff, backoff * 2**(n-1)).
    (urllib3's own formula waits nothing before the first retry.)"""

    def get_backoff_time(self) -> float:
        errors = len(list(takewhile(lambda h: h.redirect_location is None, reversed(self.history))))
        if errors == 0:
            return 0.0
        base = min(self.backoff_max, self.backoff_factor * 2 ** (errors - 1))
        return random.uniform(base / 2, base)


def _retry(retry: Retry) -> _BackoffRetry:
    retries = retry.attempts - 1
    return _BackoffRetry(
        total=None,
        connect=retries,
        read=retries,
        status=retries,
        other=retries,
        redirect=0,
        # An OCSP POST has no side effect: retrying it is safe.
        allowed_methods=frozenset({"POST"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=retry.backoff,
        backoff_max=retry.max_backoff,
        # A hostile Retry-After would hold the connection being checked for hours.
        respect_retry_after_header=False,
        raise_on_status=False,
        raise_on_redirect=False,
    )


class OcspFetcher:
    """POSTs DER requests to responders; thread-safe (one urllib3 pool per responder)."""

    def __init__(self, config: RevocationConfig) -> None:
        self._max_bytes = config.max_ocsp_bytes
        self._pool = urllib3.PoolManager(
            num_pools=64,
            maxsize=4,
            block=False,
            retries=_retry(config.retry),
            timeout=Timeout(connect=config.timeout, read=config.timeout),
            headers={"User-Agent": f"certpolicy/{__version__}"},
            ca_certs=certifi.where(),
        )

    def post(self, url: str, request: bytes) -> bytes:
        """The body of the responder's 200 answer to ``request``. Raises
        :class:`OcspFetchError` when there is none: unreachable, timed out, HTTP error,
        redirect, or a body over the size cap."""
        try:
            response = self._pool.request(
                "POST",
                url,
                body=request,
                headers={
                    "Content-Type": "application/ocsp-request",
                    "Accept": "application/ocsp-response",
                },
                preload_content=False,
                redirect=False,
            )
        except MaxRetryError as exc:
            raise OcspFetchError(f"unreachable: {exc.reason}") from exc
        except (HTTPError, OSError, ValueError) as exc:
            raise OcspFetchError(f"request failed: {exc}") from exc
        complete = False
        try:
            if response.status != 200:
                raise OcspFetchError(f"HTTP {response.status} {response.reason or ''}".rstrip())
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise OcspFetchError(
                    f"the response is {declared} bytes; at most {self._max_bytes} are accepted"
                )
            body = response.read(self._max_bytes + 1)
            if len(body) > self._max_bytes:
                raise OcspFetchError(
                    f"the response exceeds {self._max_bytes} bytes; it was not read further"
                )
            complete = True
            return bytes(body)
        except (HTTPError, OSError) as exc:
            raise OcspFetchError(f"reading the response failed: {exc}") from exc
        finally:
            if complete:
                response.release_conn()
            else:
                # Unread bytes would corrupt the next exchange on this connection.
                response.close()
