"""Times: certpolicy takes aware datetimes and treats a naive one as UTC, everywhere."""

from __future__ import annotations

import datetime as dt
from typing import Final

from certpolicy.errors import MalformedInputError

__all__ = ["as_utc", "from_unix", "iso_z", "unix_seconds"]


def as_utc(at: dt.datetime) -> dt.datetime:
    """``at`` itself when aware; a naive datetime is taken to be UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def unix_seconds(at: dt.datetime) -> int:
    """Whole seconds since 1970 of ``at`` (naive means UTC), as the Rust core takes times.
    Raises ``TypeError`` for a non-datetime and :class:`MalformedInputError` before 1970."""
    if not isinstance(at, dt.datetime):
        raise TypeError(f"at must be a datetime, not {type(at).__name__}")
    aware = as_utc(at)
    seconds = int(aware.timestamp())
    if seconds < 0:
        raise MalformedInputError(f"validation time {aware.isoformat()} is before 1970")
    return seconds


# What Python can represent; certificates can say more (GeneralizedTime allows year 0000).
_EARLIEST: Final = dt.datetime.min.replace(tzinfo=dt.UTC)
_LATEST: Final = dt.datetime.max.replace(tzinfo=dt.UTC)


def from_unix(seconds: float) -> dt.datetime:
    """An aware UTC datetime from seconds since 1970, clamped to what ``datetime`` can
    hold (year 1 to 9999): a certificate dated year 0000 must not raise a bare
    ``ValueError`` from a summary or a check."""
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, ValueError, OSError):
        return _EARLIEST if seconds < 0 else _LATEST


def iso_z(seconds: float) -> str:
    """RFC 3339 text with a ``Z`` suffix, for messages."""
    return from_unix(seconds).isoformat().replace("+00:00", "Z")
