"""OCSP requests and responses (RFC 6960), both handled in the Rust core:
:func:`ocsp_request` builds a DER OCSPRequest, :func:`ocsp_check_response` verifies a
response completely and returns an :class:`OcspStatus`."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Final, Literal, cast

from certpolicy._util import core as _core
from certpolicy._util import from_unix, unix_seconds
from certpolicy.errors import MalformedInputError

__all__ = ["CertStatus", "OcspStatus", "new_nonce", "ocsp_check_response", "ocsp_request"]

# Random nonce length: RFC 8954 section 2.1 recommends 32 at most; 16 is what clients send.
NONCE_BYTES: Final = 16


def new_nonce() -> bytes:
    """A fresh random nonce for an OCSP request (RFC 6960 section 4.4.1)."""
    return os.urandom(NONCE_BYTES)


CertStatus = Literal["good", "revoked", "unknown"]


@dataclass(frozen=True, slots=True)
class OcspStatus:
    """A verified OCSP answer for one certificate (times are aware UTC datetimes)."""

    status: CertStatus
    this_update: dt.datetime
    next_update: dt.datetime | None
    revoked_at: dt.datetime | None
    # RFC 5280 reason name ("keyCompromise", ...) when revoked with a reason.
    reason: str | None
    produced_at: dt.datetime
    # The delegated responder certificate's subject; None when the issuer signed.
    responder: str | None

    def describe(self) -> str:
        """``signed by the issuer, thisUpdate ..., nextUpdate ...`` for messages."""
        signer = "the issuer" if self.responder is None else f'responder "{self.responder}"'
        next_update = self.next_update.isoformat() if self.next_update else "none"
        return (
            f"signed by {signer}, thisUpdate {self.this_update.isoformat()}, "
            f"nextUpdate {next_update}"
        )


def ocsp_request(cert: bytes, issuer: bytes, *, nonce: bytes | None = None) -> bytes:
    """A DER OCSPRequest (RFC 6960 section 4.1) for ``cert`` issued by ``issuer`` (DER): one
    CertID with SHA-1 name and key hashes, as responders expect, and a nonce extension when
    ``nonce`` (1 to 32 bytes) is given. Raises :class:`OcspError` or
    :class:`MalformedInputError`."""
    return _core.ocsp_request(cert, issuer, nonce=nonce)


def ocsp_check_response(
    response: bytes,
    cert: bytes,
    issuer: bytes,
    *,
    at: dt.datetime | None = None,
    nonce: bytes | None = None,
    max_age: float | None = None,
) -> OcspStatus:
    """Verifies a DER OCSPResponse for ``cert`` issued by ``issuer`` at ``at`` (aware; naive
    means UTC; default now) and returns the certificate's status.

    Checked (RFC 6960): responseStatus successful; a BasicOCSPResponse whose signature
    verifies with the issuer's key, or with the key of a delegated responder certificate
    included in the response that the issuer issued, that has id-kp-OCSPSigning and is valid
    at ``at``; a SingleResponse whose CertID (SHA-1 or SHA-256) matches the certificate;
    thisUpdate not in the future and nextUpdate not passed (with the Rust core's
    ``OCSP_CLOCK_SKEW_SECONDS`` of clock skew); when there is no nextUpdate and ``max_age``
    (seconds) is given, thisUpdate at most that old; the ``nonce`` echoed when one was sent.
    Raises :class:`OcspError` naming the rule that failed."""
    at_seconds = None if at is None else unix_seconds(at)
    if max_age is not None and not max_age >= 0:
        raise MalformedInputError(f"max_age must be >= 0, not {max_age}")
    raw = _core.ocsp_check_response(
        response,
        cert,
        issuer,
        at=at_seconds,
        nonce=nonce,
        max_age=None if max_age is None else int(max_age),
    )
    return OcspStatus(
        status=cast(CertStatus, raw.status),
        this_update=from_unix(raw.this_update),
        next_update=None if raw.next_update is None else from_unix(raw.next_update),
        revoked_at=None if raw.revoked_at is None else from_unix(raw.revoked_at),
        reason=raw.reason,
        produced_at=from_unix(raw.produced_at),
        responder=raw.responder,
    )
