"""TLS plumbing: the peer chain of a handshake, and HTTPS requests whose connection is checked
by an engine before any request byte is sent."""

from __future__ import annotations

import _ssl
import http.client
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from certpolicy.errors import CertPolicyError

if TYPE_CHECKING:
    from certpolicy.engine import Engine

__all__ = ["checked_https_get", "peer_chain", "unverified_client_context"]

MAX_RESPONSE_BYTES = 32 * 1024 * 1024


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
    connection = http.client.HTTPSConnection(
        host, port, context=unverified_client_context(), timeout=timeout
    )
    try:
        connection.connect()
        sock = connection.sock
        if not isinstance(sock, ssl.SSLSocket):
            raise CertPolicyError("the connection is not TLS")
        engine.enforce(peer_chain(sock), host, ip=sock.getpeername()[0], port=port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers=headers or {})
        response = connection.getresponse()
        body = response.read(MAX_RESPONSE_BYTES + 1)
        if len(body) > MAX_RESPONSE_BYTES:
            raise CertPolicyError(f"response from {host} is larger than {MAX_RESPONSE_BYTES} bytes")
        return response.status, body
    finally:
        connection.close()
