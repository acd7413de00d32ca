"""Fetching what a caIssuers URL serves (RFC 5280 section 4.2.2.1): one plain HTTP GET.

Only ``http://`` URLs with a host are fetched: never ``https://`` (its certificate would
need checking in turn, by the very chain being completed), ``ldap:``, ``file:``, ``data:``
or anything else, never a URL that carries credentials, and none longer than
:data:`MAX_URL_CHARS`. A redirect is followed at most :data:`MAX_REDIRECTS` times and only to
another such URL.

Where the fetch connects: any server being checked names its caIssuers URLs, before its
chain or host name is judged, so a URL must not make the agent reach its own machine or its
cloud's metadata service. The host is resolved once (``getaddrinfo``); when it is, or
resolves to, a loopback, link-local, unspecified, multicast or reserved address (IPv4-mapped
and NAT64 IPv6 addresses judged by their IPv4 address), nothing is fetched. Otherwise the
fetch connects to exactly the addresses checked, sending the URL's own ``Host`` header: no
second lookup that a DNS answer with a short life could turn elsewhere. Private addresses
(10/8, 172.16/12, 192.168/16, fc00::/7) stay allowed: intranet CAs publish there. Each
redirect target is checked the same way before it is followed. ``allow_loopback`` (for
tests and development only) lets loopback addresses through, nothing else.

The request carries a fixed User-Agent and Accept header and nothing else (no cookies, no
credentials, no proxy, no compression); the body is read up to a size cap, never decoded (a
body with a Content-Encoding is refused); the whole fetch (resolution and redirects
included) runs under one deadline, past which its connection is closed
(``certpolicy._util.cancellable``). Nothing is retried: a URL that failed is remembered as
failed for a while by the caller instead. Why a fetch failed is said in a few words of our
own (an HTTP status, "connection refused", ...): nothing a server sent is repeated.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
from typing import Final
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util import Timeout

from certpolicy._util import (
    cancellable,
    closable,
    connection_failure,
    content_encoded,
    content_length,
)
from certpolicy._util import core as _core
from certpolicy.errors import CertPolicyError

__all__ = [
    "MAX_REDIRECTS",
    "MAX_URL_CHARS",
    "BodyFetcher",
    "IntermediateFetchError",
    "refused_address",
    "refused_url",
]

MAX_REDIRECTS: Final = 2
# A caIssuers URL is a few dozen characters; a longer one is refused (and never remembered).
MAX_URL_CHARS: Final = 2048
# The addresses of one host tried in turn when a connection cannot be made.
MAX_ADDRESSES: Final = 4
CHUNK_BYTES: Final = 64 * 1024
ACCEPT: Final = "application/pkix-cert, application/pkcs7-mime;q=0.9, */*;q=0.5"
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,15}")
# 0.0.0.0/8 ("this network"): 0.0.0.0 itself reaches the local machine.
_THIS_NETWORK: Final = ipaddress.IPv4Network("0.0.0.0/8")
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


class IntermediateFetchError(CertPolicyError):
    """A caIssuers URL gave nothing usable; the message says why. ``remembered`` is False
    when the fetch was cut short by the deadline of the whole chase rather than by its own
    time: that says nothing about the server, so the URL is not remembered as failed."""

    def __init__(self, message: str, *, remembered: bool = True) -> None:
        super().__init__(message)
        self.remembered = remembered


def refused_url(url: str) -> str | None:
    """Why ``url`` is not fetched, or None when it may be: an ``http://`` URL with a host,
    of at most :data:`MAX_URL_CHARS` ASCII characters, without credentials, spaces or
    control characters. (Where its host leads is checked when it is fetched.)"""
    # Prefix and length tests first: a hostile URL must not make the check raise.
    if len(url) > MAX_URL_CHARS:
        return f"it is longer than {MAX_URL_CHARS} characters"
    if url[:7].lower() != "http://":
        scheme = url.split(":", 1)[0] if ":" in url else ""
        named = scheme if _SCHEME.fullmatch(scheme) else "no"
        return f"{named} scheme: only http:// caIssuers URLs are fetched"
    if not url.isascii() or any(ch <= " " or ch == "\x7f" for ch in url):
        return "it has spaces, control or non-ASCII characters"
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError:
        return "it is no valid URL"
    if not host:
        return "it names no host"
    if "@" in parts.netloc:
        return "it carries credentials"
    return None


def _address_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What kind of address a caIssuers fetch never connects to ``address`` is, if any."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address in IPv6 clothing is what it carries.
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address in _NAT64:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.is_unspecified or address in _THIS_NETWORK:
        return "an unspecified"
    if address.is_loopback:
        return "a loopback"
    if address.is_link_local:
        return "a link-local"
    if address.is_multicast:
        return "a multicast"
    if address.is_reserved:
        return "a reserved"
    return None


def _refusal(address: str, allow_loopback: bool) -> tuple[str, str] | None:
    """``(the address, "a loopback address")`` when a fetch must not connect to
    ``address``; None when it may."""
    text = address.split("%", 1)[0]  # an IPv6 zone
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return text[:64], "no IP address"
    kind = _address_kind(parsed)
    if kind is None or (kind == "a loopback" and allow_loopback):
        return None
    return str(parsed), f"{kind} address"


def refused_address(address: str, *, allow_loopback: bool = False) -> str | None:
    """Why a caIssuers fetch does not connect to ``address`` (an IP address, as
    ``getaddrinfo`` gives it), or None when it may: "127.0.0.1 is a loopback address". A
    loopback, link-local (169.254.169.254: cloud metadata), unspecified, multicast or
    reserved address is refused; private ones are not (intranet CAs).
    ``allow_loopback``: loopback addresses are allowed (for tests and development only)."""
    refusal = _refusal(address, allow_loopback)
    return None if refusal is None else f"{refusal[0]} is {refusal[1]}"


def _failure(error: BaseException, seconds: float) -> str:
    """Why a request failed, in a few words of our own (nothing the server sent)."""
    connecting = connection_failure(error)
    if connecting is not None:
        return connecting
    if isinstance(error, ConnectTimeoutError):
        return f"no connection within {seconds:.3g} s"
    if isinstance(error, (ReadTimeoutError, Urllib3Timeout, TimeoutError)):
        return f"no answer within {seconds:.3g} s"
    cause: BaseException | None = error
    if isinstance(error, ProtocolError):
        inner = error.args[1] if len(error.args) > 1 else None
        cause = inner if isinstance(inner, BaseException) else error.__cause__
    if isinstance(cause, http.client.RemoteDisconnected):
        return "the server closed the connection without an answer"
    if isinstance(cause, http.client.IncompleteRead):
        return "the body broke off"
    if isinstance(cause, http.client.HTTPException):
        return "the answer is no valid HTTP response"
    if isinstance(cause, ConnectionResetError):
        return "the connection was reset"
    if isinstance(cause, OSError) and cause.strerror:
        return f"the connection broke ({cause.strerror})"
    if isinstance(error, ProtocolError):
        return "the connection broke"
    return f"the answer could not be read ({type(error).__name__})"


class BodyFetcher:
    """GETs caIssuers URLs: ``timeout`` bounds each connect and read, ``max_bytes`` the body.
    A given ``pool`` (a urllib3 PoolManager) is made closable. ``allow_loopback``: loopback
    addresses may be fetched from (for tests and development only; see the module
    documentation for what is refused)."""

    def __init__(
        self,
        *,
        timeout: float,
        max_bytes: int,
        pool: urllib3.PoolManager | None = None,
        allow_loopback: bool = False,
    ) -> None:
        self._seconds = timeout
        self._timeout = Timeout(connect=timeout, read=timeout)
        self._max_bytes = max_bytes
        self._allow_loopback = allow_loopback
        headers = {"User-Agent": f"certpolicy/{_core.__version__}", "Accept": ACCEPT}
        if pool is None:
            pool = urllib3.PoolManager(num_pools=16, maxsize=2, headers=headers)
        self._http = closable(pool)
        self._headers = headers

    def fetch(self, url: str, seconds: float, *, cut_short: bool = False) -> tuple[str, bytes]:
        """``(final URL, body)`` of ``url`` within ``seconds`` (redirects included); its
        connection is closed when the time runs out. ``cut_short``: ``seconds`` is less than
        a fetch's own time (the chase's deadline), so running out is not held against the
        URL. Raises :class:`IntermediateFetchError`, whatever went wrong."""
        try:
            return cancellable("caIssuers fetch", seconds, lambda: self._get(url))
        except TimeoutError:
            raise IntermediateFetchError(
                f"no answer within {seconds:.3g} s", remembered=not cut_short
            ) from None

    def _get(self, url: str) -> tuple[str, bytes]:
        current = url
        for hop in range(MAX_REDIRECTS + 1):
            response = self._request(current, redirected=hop > 0)
            try:
                if response.status in _REDIRECTS:
                    current = self._redirect_target(current, response.headers.get("Location"))
                    continue
                if response.status != 200:
                    raise IntermediateFetchError(f"the server answered HTTP {response.status}")
                return current, self._read(response)
            except IntermediateFetchError:
                raise
            except Exception as exc:  # a hostile answer fails the fetch, never the check
                raise IntermediateFetchError(_failure(exc, self._seconds)) from exc
            finally:
                # A body not read to its end is never left on a pooled connection.
                response.close()
                response.release_conn()
        raise IntermediateFetchError(f"more than {MAX_REDIRECTS} redirects")

    def _request(self, url: str, *, redirected: bool) -> urllib3.BaseHTTPResponse:
        """The answer to a GET of ``url`` from one of the addresses its host resolves to,
        all of them checked first (:func:`refused_address`)."""
        refused = "a redirect not followed" if redirected else "not fetched"
        reason = refused_url(url)
        if reason is not None:
            raise IntermediateFetchError(f"{refused}: {reason}")
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 80
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {**self._headers, "Host": parts.netloc}
        failure: Exception | None = None
        for address in self._addresses(host, port, refused):
            literal = f"[{address}]" if ":" in address else address
            try:
                return self._http.request(
                    "GET",
                    f"http://{literal}:{port}{target}",
                    headers=headers,
                    redirect=False,
                    retries=False,
                    timeout=self._timeout,
                    preload_content=False,
                    decode_content=False,
                )
            except (NewConnectionError, ConnectTimeoutError) as exc:
                failure = exc  # nothing was sent: the host's next address, if any
            except Exception as exc:
                raise IntermediateFetchError(_failure(exc, self._seconds)) from exc
        assert failure is not None  # _addresses returns at least one
        raise IntermediateFetchError(_failure(failure, self._seconds)) from failure

    def _addresses(self, host: str, port: int, refused: str) -> list[str]:
        """The addresses ``host`` resolves to (at most :data:`MAX_ADDRESSES`), every one of
        them allowed. Raises :class:`IntermediateFetchError`."""
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else None
            raise IntermediateFetchError(
                f"{refused}: the host name does not resolve" + (f" ({why})" if why else "")
            ) from None
        addresses = list(dict.fromkeys(str(entry[4][0]) for entry in found))
        if not addresses:
            raise IntermediateFetchError(f"{refused}: the host name resolves to no address")
        for address in addresses:
            refusal = _refusal(address, self._allow_loopback)
            if refusal is not None:
                shown, kind = refusal
                if address.split("%", 1)[0] == host:
                    raise IntermediateFetchError(f"{refused}: {shown} is {kind}")
                raise IntermediateFetchError(f"{refused}: its host resolves to {shown}, {kind}")
        return addresses[:MAX_ADDRESSES]

    @staticmethod
    def _redirect_target(current: str, location: str | None) -> str:
        """The URL a redirect leads to. Its address is checked when it is fetched."""
        if not location:
            raise IntermediateFetchError("a redirect without a Location")
        try:
            target = urljoin(current, location)
        except ValueError:
            target = location
        reason = refused_url(target)
        if reason is not None:
            raise IntermediateFetchError(f"a redirect not followed: {reason}")
        return target

    def _read(self, response: urllib3.BaseHTTPResponse) -> bytes:
        limit = self._max_bytes
        if content_encoded(response.headers.get("Content-Encoding")):
            raise IntermediateFetchError("the body has a Content-Encoding, which was not asked for")
        declared = content_length(response.headers.get("Content-Length"))
        if declared is not None and declared > limit:
            raise IntermediateFetchError(f"the body is {declared} bytes, over the cap of {limit}")
        body = bytearray()
        for chunk in response.stream(CHUNK_BYTES, decode_content=False):
            body += chunk
            if len(body) > limit:
                raise IntermediateFetchError(f"the body is over the cap of {limit} bytes")
        return bytes(body)
