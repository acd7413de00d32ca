"""Sending OCSP requests over HTTP (RFC 6960 appendix A.1) with urllib3: a pooled POST of
``application/ocsp-request``, the timeout and retries of :class:`RevocationConfig` (exponential
backoff with jitter), no redirects, and a response size cap enforced while reading. Every
exchange has an overall deadline (and, inside a revocation decision, no more than the
decision has left); past it the exchange's connection is closed and its thread ends. A
response is never decoded: one sent with a Content-Encoding (never asked for) is refused, and
a Content-Length that is no plain number is ignored (the size cap still applies).
"""

from __future__ import annotations

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError

from certpolicy._util import connection_failure, content_encoded, content_length
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

__all__ = ["OcspFetchError", "OcspFetcher"]

# At most this much of an HTTP reason phrase (the server's words) goes into a message.
_REASON_CHARS = 64


def _reason_phrase(response: urllib3.BaseHTTPResponse) -> str:
    """The answer's reason phrase, printable and short, or nothing."""
    text = "".join(ch for ch in (response.reason or "")[:_REASON_CHARS] if ch.isprintable())
    return f" {text}" if text.strip() else ""


class OcspFetchError(Exception):
    """No response body from the responder; the message says why. ``status`` is the HTTP
    status of the last answer, if there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OcspFetcher:
    """POSTs DER requests to responders; thread-safe (one urllib3 pool per responder).
    ``http`` replaces the default pool (e.g. one whose https connections an engine checks); it
    is made :func:`closable`, so that an exchange past its deadline can close its connection.
    Every exchange is logged at INFO (logger ``certpolicy.revocation``) and its HTTP attempts
    are counted in ``counters``."""

    def __init__(self, config: RevocationConfig, http: urllib3.PoolManager | None = None) -> None:
        self._max_bytes = config.max_ocsp_bytes
        self._timeout = config.timeout
        # Connect + headers + a small body per attempt.
        self._deadline = fetch_deadline(config, 3)
        # An OCSP POST has no side effect: retrying it is safe. No redirects (RFC 6960 A.1).
        self._retries = BackoffRetry.from_config(
            config.retry, method="POST", redirects=0, raise_on_status=False
        )
        self._pool = (
            closable(http)
            if http is not None
            else revocation_pool(config, num_pools=64, block=False)
        )
        self.counters = FetchCounters()

    def post(self, url: str, request: bytes) -> bytes:
        """The body of the responder's 200 answer to ``request``. Raises
        :class:`OcspFetchError` when there is none: unreachable, timed out (also when the
        whole exchange, retries included, outlives its deadline, or the revocation decision in
        progress its own; the connection is closed then), HTTP error, redirect, or a body
        over the size cap."""
        record = FetchRecord(self.counters)

        def work() -> bytes:
            with record.active():
                return self._post(url, request)

        try:
            body = bounded("OCSP request", self._deadline, work, timeout=self._timeout)
        except DeadlinePassed as exc:
            raise OcspFetchError(str(exc)) from exc  # nothing was sent
        except TimeoutError as exc:
            record.abandon()
            log_fetch("ocsp", url, record, "failed", str(exc))
            raise OcspFetchError(str(exc), status=record.status) from exc
        except OcspFetchError as exc:
            log_fetch("ocsp", url, record, "failed", str(exc))
            raise
        log_fetch("ocsp", url, record, "ok")
        return body

    def _post(self, url: str, request: bytes) -> bytes:
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
                decode_content=False,
                redirect=False,
                retries=self._retries,
            )
        except MaxRetryError as exc:
            attempt_ended(failed=True)
            why = exc.reason if exc.reason is None else connection_failure(exc.reason) or exc.reason
            raise OcspFetchError(f"unreachable: {why}", status=last_status()) from exc
        except (HTTPError, OSError, ValueError) as exc:
            attempt_ended(failed=True)
            raise OcspFetchError(f"request failed: {exc}", status=last_status()) from exc
        complete = False
        status = response.status
        try:
            if status != 200:
                raise OcspFetchError(f"HTTP {status}{_reason_phrase(response)}", status=status)
            if content_encoded(response.headers.get("Content-Encoding")):
                raise OcspFetchError(
                    "the response has a Content-Encoding, which was not asked for", status=status
                )
            declared = content_length(response.headers.get("Content-Length"))
            if declared is not None and declared > self._max_bytes:
                raise OcspFetchError(
                    f"the response is {declared} bytes; at most {self._max_bytes} are accepted",
                    status=status,
                )
            body = response.read(self._max_bytes + 1, decode_content=False)
            body_received(len(body))
            if len(body) > self._max_bytes:
                raise OcspFetchError(
                    f"the response exceeds {self._max_bytes} bytes; it was not read further",
                    status=status,
                )
            complete = True
            return bytes(body)
        except (HTTPError, OSError) as exc:
            raise OcspFetchError(f"reading the response failed: {exc}", status=status) from exc
        finally:
            attempt_ended(failed=not complete, status=status)
            if complete:
                response.release_conn()
            else:
                # Unread bytes would corrupt the next exchange on this connection.
                response.close()
