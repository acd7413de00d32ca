"""OCSP revocation checking (work in progress: answers "unavailable")."""

from __future__ import annotations

import datetime as dt

from certpolicy.revocation import MethodAnswer, RevocationConfig

__all__ = ["OcspChecker"]


class OcspChecker:
    """OCSP revocation method."""

    name = "ocsp"

    def __init__(self, config: RevocationConfig) -> None:
        self.config = config

    def check(self, cert: bytes, issuer: bytes, *, at: dt.datetime | None) -> MethodAnswer:
        return MethodAnswer("ocsp", "unavailable", "", "not available in this version")
