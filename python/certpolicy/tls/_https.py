"""HTTPS requests whose connection is checked before any request byte is sent."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

from certpolicy._util import within
from certpolicy.errors import CertPolicyError

__all__ = ["checked_https_get"]

MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# The most a whole request may take, in multiples of the per-wait timeout.
EXCHANGE_TIMEOUTS = 4


def checked_https_get(
    context: ssl.SSLContext,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    """GETs an https URL over a connection made with ``context``: with an enforcing context
    (``engine.ssl_context()``) the connection is checked, and rejected with a
    :class:`CertificateCheckError`, before any request byte is sent. Returns (status, body);
    the body is capped at 32 MiB; the whole exchange has an overall deadline."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise CertPolicyError(f"not an https URL: {url!r}")
    host, port = parts.hostname, parts.port or 443
    # The engine's context checks the connection inside connect(), before any request byte.
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=timeout)

    def exchange() -> tuple[int, bytes]:
        connection.connect()
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers=dict(headers or {}))
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
