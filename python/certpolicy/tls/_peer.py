"""What a handshake tells about the server: the chain it presented, and endpoints parsed
from what users type."""

from __future__ import annotations

import _ssl
import ipaddress
import ssl
from typing import Any
from urllib.parse import urlsplit

from certpolicy.errors import CertPolicyError, MalformedInputError

__all__ = ["parse_endpoint", "peer_chain"]


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
