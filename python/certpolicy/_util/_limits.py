"""The limits that Python code shares with the Rust core, read from it (never re-typed), so
the two can never disagree."""

from __future__ import annotations

import datetime as dt
from typing import Final

from certpolicy._util._native import core as _core

__all__ = [
    "CLOCK_SKEW",
    "CLOCK_SKEW_SECONDS",
    "MAX_CRL_BYTES",
    "MAX_OCSP_NONCE_BYTES",
    "MAX_OCSP_RESPONSE_BYTES",
]

# Clock skew allowed against a CRL's thisUpdate and an OCSP response's thisUpdate/nextUpdate.
CLOCK_SKEW_SECONDS: Final[int] = _core.OCSP_CLOCK_SKEW_SECONDS
CLOCK_SKEW: Final = dt.timedelta(seconds=CLOCK_SKEW_SECONDS)
MAX_CRL_BYTES: Final[int] = _core.MAX_CRL_BYTES
MAX_OCSP_RESPONSE_BYTES: Final[int] = _core.MAX_OCSP_RESPONSE_BYTES
MAX_OCSP_NONCE_BYTES: Final[int] = _core.MAX_OCSP_NONCE_BYTES
