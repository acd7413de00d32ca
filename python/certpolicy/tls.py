"""TLS plumbing: the peer chain of a handshake, and HTTPS requests whose connection is checked
by an engine before any request byte is sent."""

from __future__ import annotations

import _ssl
import http.client
import ipaddress
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from certpolicy._http import within
from certpolicy.errors import CertPolicyError, MalformedInputError

if TYPE_CHECKING:
    from certpolicy.engine import Engine

__all__ = ["checked_https_get", "parse_endpoint", "peer_chain", "unverified_client_context"]

MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# The most a whole request may take, in multiples of the per-wait timeout.
EXCHANGE_TIMEOUTS = 4


def peer_chain(sock: ssl.SSLSocket | ssl.SSLObject) -> list[bytes]:
    """The certificates the server presented (DER, leaf first), unverified.

    Python 3.13 has a public ``get_unverified_chain()``; on 3.11 and 3.12 it lives on the
    private ``_sslobj``.
    """
    getter = getattr(sock, "get_unverified_chain", None)
    if getter is None:
        inner = getattr(sock, "_sslobj", None)
        getter = getattr(inner, "get_unverified_chain", None)
    if getter is None:
        raise CertPolicyError("this Python's ssl module cannot expose the peer chain")
    certs: list[Any] = getter() or []
    return [c if isinstance(c, bytes) else c.public_bytes(_ssl.ENCODING_DER) for c in certs]


def unverified_client_context() -> ssl.SSLContext:
    """A client context that leaves every certificate decision to certpolicy."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def checked_https_get(
    engine: Engine,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    """GETs an https URL over a connection the engine has checked (and raises for) before
    the request is sent. Returns (status, body); the body is capped at 32 MiB."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise CertPolicyError(f"not an https URL: {url!r}")
    host, port = parts.hostname, parts.port or 443
    # The engine's context checks the connection inside connect(), before any request byte.
    connection = http.client.HTTPSConnection(
        host, port, context=engine.ssl_context(trust_peer_ip=True), timeout=timeout
    )

    def exchange() -> tuple[int, bytes]:
        connection.connect()
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers=headers or {})
        response = connection.getresponse()
        body = response.read(MAX_RESPONSE_BYTES + 1)
        if len(body) > MAX_RESPONSE_BYTES:
            raise CertPolicyError(f"response from {host} is larger than {MAX_RESPONSE_BYTES} bytes")
        return response.status, body

    try:
        # ``timeout`` bounds each socket wait; this bounds a server that trickles bytes.
        return within(EXCHANGE_TIMEOUTS * timeout, f"request to {host}", exchange)
    finally:
        # Also unblocks an abandoned exchange: its socket is gone.
        connection.close()


def parse_endpoint(url_or_host: str, port: int = 443) -> tuple[str, int]:
    """(host, port) of ``https://host[:port][/path]``, ``host[:port]``, ``[v6]:port`` or a
    bare IP literal; ``port`` is the default. Raises :class:`MalformedInputError`."""
    text = url_or_host.strip()
    if not text:
        raise MalformedInputError("empty endpoint")
    try:
        ipaddress.ip_address(text)
        return text, port
    except ValueError:
        pass
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        explicit = parts.port
    except ValueError as exc:
        raise MalformedInputError(f"not an endpoint: {url_or_host!r} ({exc})") from None
    if parts.scheme.lower() != "https":
        raise MalformedInputError(f"not an https URL: {url_or_host!r}")
    if not parts.hostname:
        raise MalformedInputError(f"no host in {url_or_host!r}")
    return parts.hostname, explicit if explicit is not None else port
