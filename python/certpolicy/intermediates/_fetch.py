"""Fetching what a caIssuers URL serves (RFC 5280 section 4.2.2.1): one plain HTTP GET.

Only ``http://`` URLs with a host are fetched: never ``https://`` (its certificate would
need checking in turn, by the very chain being completed), ``ldap:``, ``file:``, ``data:``
or anything else, and never a URL that carries credentials. A redirect is followed at most
:data:`MAX_REDIRECTS` times and only to another such URL. The request carries a fixed
User-Agent and Accept header and nothing else (no cookies, no credentials, no proxy); the
body is read up to a size cap; the whole fetch (redirects included) runs under one deadline,
past which its connection is closed (``certpolicy._util.cancellable``). Nothing is retried:
a URL that failed is remembered as failed for a while by the caller instead.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util import Timeout

from certpolicy._util import cancellable, closable
from certpolicy._util import core as _core
from certpolicy.errors import CertPolicyError

__all__ = ["MAX_REDIRECTS", "BodyFetcher", "IntermediateFetchError", "refused_url"]

MAX_REDIRECTS: Final = 2
CHUNK_BYTES: Final = 64 * 1024
ACCEPT: Final = "application/pkix-cert, application/pkcs7-mime;q=0.9, */*;q=0.5"
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})


class IntermediateFetchError(CertPolicyError):
    """A caIssuers URL gave nothing usable; the message says why. ``remembered`` is False
    when the fetch was cut short by the deadline of the whole chase rather than by its own
    time: that says nothing about the server, so the URL is not remembered as failed."""

    def __init__(self, message: str, *, remembered: bool = True) -> None:
        super().__init__(message)
        self.remembered = remembered


def refused_url(url: str) -> str | None:
    """Why ``url`` is not fetched, or None when it may be: an ``http://`` URL with a host,
    without credentials, spaces or control characters."""
    # A prefix test first: a hostile URL must not make the check raise.
    if url[:7].lower() != "http://":
        scheme = url.split(":", 1)[0][:16] if ":" in url else "no"
        return f"{scheme} scheme: only http:// caIssuers URLs are fetched"
    if any(ch <= " " or ch == "\x7f" for ch in url):
        return "it has spaces or control characters"
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError as exc:
        return f"it is no valid URL ({exc})"
    if not host:
        return "it names no host"
    if "@" in parts.netloc:
        return "it carries credentials"
    return None


class BodyFetcher:
    """GETs caIssuers URLs: ``timeout`` bounds each connect and read, ``max_bytes`` the body.
    A given ``pool`` (a urllib3 PoolManager) is made closable."""

    def __init__(
        self, *, timeout: float, max_bytes: int, pool: urllib3.PoolManager | None = None
    ) -> None:
        self._seconds = timeout
        self._timeout = Timeout(connect=timeout, read=timeout)
        self._max_bytes = max_bytes
        headers = {"User-Agent": f"certpolicy/{_core.__version__}", "Accept": ACCEPT}
        if pool is None:
            pool = urllib3.PoolManager(num_pools=16, maxsize=2, headers=headers)
        self._http = closable(pool)
        self._headers = headers

    def fetch(self, url: str, seconds: float, *, cut_short: bool = False) -> tuple[str, bytes]:
        """``(final URL, body)`` of ``url`` within ``seconds`` (redirects included); its
        connection is closed when the time runs out. ``cut_short``: ``seconds`` is less than
        a fetch's own time (the chase's deadline), so running out is not held against the
        URL. Raises :class:`IntermediateFetchError`."""
        try:
            return cancellable("caIssuers fetch", seconds, lambda: self._get(url))
        except TimeoutError:
            raise IntermediateFetchError(
                f"no answer within {seconds:.3g} s", remembered=not cut_short
            ) from None

    def _get(self, url: str) -> tuple[str, bytes]:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = self._http.request(
                    "GET",
                    current,
                    headers=self._headers,
                    redirect=False,
                    retries=False,
                    timeout=self._timeout,
                    preload_content=False,
                )
            except Urllib3Timeout as exc:
                raise IntermediateFetchError(self._no_answer()) from exc
            except (HTTPError, OSError, ValueError) as exc:
                raise IntermediateFetchError(f"the request failed: {exc}") from exc
            try:
                if response.status in _REDIRECTS:
                    current = self._redirect_target(current, response.headers.get("Location"))
                    continue
                if response.status != 200:
                    raise IntermediateFetchError(f"the server answered HTTP {response.status}")
                return current, self._read(response)
            except Urllib3Timeout as exc:
                raise IntermediateFetchError(self._no_answer()) from exc
            except (HTTPError, OSError) as exc:
                raise IntermediateFetchError(f"the body broke off: {exc}") from exc
            finally:
                # A body not read to its end is never left on a pooled connection.
                response.close()
                response.release_conn()
        raise IntermediateFetchError(f"more than {MAX_REDIRECTS} redirects")

    def _no_answer(self) -> str:
        return f"no answer within {self._seconds:.3g} s"

    @staticmethod
    def _redirect_target(current: str, location: str | None) -> str:
        if not location:
            raise IntermediateFetchError("a redirect without a Location")
        try:
            target = urljoin(current, location)
        except ValueError:
            target = location
        reason = refused_url(target)
        if reason is not None:
            raise IntermediateFetchError(f"redirected to {target[:200]!r}, not followed: {reason}")
        return target

    def _read(self, response: urllib3.BaseHTTPResponse) -> bytes:
        limit = self._max_bytes
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise IntermediateFetchError(f"the body is {declared} bytes, over the cap of {limit}")
        body = bytearray()
        for chunk in response.stream(CHUNK_BYTES):
            body += chunk
            if len(body) > limit:
                raise IntermediateFetchError(f"the body is over the cap of {limit} bytes")
        return bytes(body)
