"""What the TLS layer needs from whoever decides connections (the engine): it calls back into
this protocol and never imports the engine, so the layers point one way."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import Protocol

from certpolicy.checks import TrustStore
from certpolicy.policy import PolicySet
from certpolicy.report import Report

__all__ = ["ConnectionChecker"]


class ConnectionChecker(Protocol):
    """Decides a connection after its handshake (:class:`certpolicy.Engine` is one)."""

    @property
    def policies(self) -> PolicySet:
        """The policies in force."""
        ...

    @property
    def trust(self) -> TrustStore:
        """The trust anchors (loaded into OpenSSL when a client certificate is used)."""
        ...

    def enforce(
        self,
        chain: Sequence[bytes],
        host: str,
        *,
        ip: str | None = None,
        port: int | None = 443,
        trust_peer_ip: bool = False,
        allow_audit: bool = True,
    ) -> Report:
        """Checks a presented chain; raises :class:`CertificateCheckError` on a failure the
        policy enforces (``allow_audit=False``: audit-mode failures too)."""
        ...

    def ssl_context(self, *, trust_peer_ip: bool = False) -> ssl.SSLContext:
        """An enforcing client context (for adapters that need their own)."""
        ...
