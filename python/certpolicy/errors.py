"""The exception hierarchy of certpolicy (DESIGN.md "Errors and messages").

Everything certpolicy raises on bad input or a failed check is a :class:`CertPolicyError`.
Failed certificate checks are :class:`CertificateCheckError`, which is also an
:class:`ssl.SSLCertVerificationError`, so code that already handles certificate errors from
``ssl``, ``requests`` or ``httpx`` keeps working.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Sequence
from typing import Any

__all__ = [
    "CertPolicyError",
    "CertificateCheckError",
    "CertificateRevokedError",
    "ChainError",
    "ConfigError",
    "CrlError",
    "HostnameMismatchError",
    "KeystoreError",
    "MalformedInputError",
    "OcspError",
    "PolicyError",
    "RevocationUnavailableError",
]


class CertPolicyError(Exception):
    """Base class of every certpolicy error."""


class CertificateCheckError(CertPolicyError, ssl.SSLCertVerificationError):
    """A certificate check failed; the connection must not be used.

    ``report`` is the engine's report when the failure came from an engine check, else None.
    """

    report: Any

    def __init__(self, message: str, *, report: Any = None) -> None:
        # Overriding __init__ makes OSError leave argument parsing to us: args == (message,).
        super().__init__(message)
        self.report = report
        self.verify_message = message
        self.verify_code = self.default_verify_code

    # OpenSSL's X509_V_ERR_UNSPECIFIED; subclasses name a closer code where one exists.
    default_verify_code = 1

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ChainError(CertificateCheckError):
    """The chain does not verify to a trust anchor (signature, validity, constraints...).

    ``kind`` says why, in one stable word from the Rust core: "untrusted" (no path to a trust
    anchor), "expired", "not_yet_valid", "bad_signature", "constraints" (EKU, basic or name
    constraints, path length, profile rules), "malformed" or "empty"; None when unknown."""

    kind: str | None

    def __init__(
        self,
        message: str,
        kind: str | None = None,
        verify_code: int | None = None,
        *,
        report: Any = None,
    ) -> None:
        super().__init__(message, report=report)
        self.kind = kind
        if verify_code is not None:
            self.verify_code = verify_code
        elif kind is not None:
            self.verify_code = _CHAIN_KIND_VERIFY_CODES.get(kind, self.default_verify_code)

    @property
    def code(self) -> str:
        """The stable reason code: ``chain.<kind>`` (``chain.untrusted`` when unknown)."""
        return f"chain.{self.kind or 'untrusted'}"


# OpenSSL's X509_V_ERR_* numbers for a chain error kind, when the Rust core gave no closer
# one: expired 10, not yet valid 9, unable to get local issuer 20, bad signature 7,
# invalid purpose 26 (the constraints kind's most common case), unspecified 1.
_CHAIN_KIND_VERIFY_CODES: dict[str, int] = {
    "untrusted": 20,
    "expired": 10,
    "not_yet_valid": 9,
    "bad_signature": 7,
    "constraints": 26,
    "malformed": 1,
    "empty": 1,
}


class HostnameMismatchError(CertificateCheckError):
    """The certificate is not valid for the host; ``presented`` lists the names it has."""

    host: str | None
    presented: list[str]
    default_verify_code = 62  # X509_V_ERR_HOSTNAME_MISMATCH

    def __init__(
        self,
        message: str,
        host: str | None = None,
        presented: Sequence[str] = (),
        *,
        report: Any = None,
    ) -> None:
        super().__init__(message, report=report)
        self.host = host
        self.presented = list(presented)
        if host is not None and _is_ip_literal(host):
            self.verify_code = 64  # X509_V_ERR_IP_ADDRESS_MISMATCH, as OpenSSL reports it


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


class CertificateRevokedError(CertificateCheckError):
    """A certificate of the verified path is revoked."""

    default_verify_code = 23  # X509_V_ERR_CERT_REVOKED


class RevocationUnavailableError(CertificateCheckError):
    """No revocation method gave a definitive answer and the policy fails closed."""

    default_verify_code = 3  # X509_V_ERR_UNABLE_TO_GET_CRL


class MalformedInputError(CertPolicyError, ValueError):
    """Input that is not a well-formed certificate, PEM document or argument."""


class KeystoreError(MalformedInputError):
    """A Java keystore (JKS, JCEKS, PKCS#12) that cannot be imported; nothing was added.

    ``keystore_error`` says why, in one stable word: "integrity" (wrong password or a
    tampered file), "password_required", "malformed", "unsupported", "too_costly" (over the
    key-derivation work budget) or "unreadable"."""

    keystore_error: str

    def __init__(self, message: str, keystore_error: str = "malformed") -> None:
        super().__init__(message)
        self.keystore_error = keystore_error


class CrlError(CertPolicyError):
    """A CRL is malformed, wrongly signed or otherwise unusable."""


class OcspError(CertPolicyError):
    """An OCSP request or response failed verification."""


class PolicyError(CertPolicyError, ValueError):
    """A policy or policy set is invalid."""


class ConfigError(CertPolicyError):
    """A configuration file is missing, unreadable or invalid."""
