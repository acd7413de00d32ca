"""What :func:`~certpolicy.revocation.disk_cache_entries` lists: one entry of a revocation
disk cache, as the cache's own code reads it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["DISK_CACHES", "DiskCache", "DiskCacheEntry"]

# The disk caches under RevocationConfig.cache_dir, by method (also their directory names).
DiskCache = Literal["crl", "ocsp"]
DISK_CACHES: Final[tuple[DiskCache, ...]] = ("crl", "ocsp")


@dataclass(frozen=True, slots=True)
class DiskCacheEntry:
    """One entry of the CRL or OCSP disk cache (``method``), as it is on disk.

    ``key``: the entry's name in the cache (a CRL's: 32 hex digits of SHA-256 of its URL; an
    OCSP response's: SHA-256 of the request). ``files``: its file names in
    ``cache_dir/<method>``; ``size``: their bytes; ``last_used``: when a check last used it.

    A CRL entry carries what its metadata says: ``url``, ``this_update``, ``next_update``,
    the CRL ``number`` and ``fetched_at``; an OCSP entry its ``reuse_until`` (nextUpdate plus
    the clock skew, or thisUpdate plus ``ocsp_max_age``: after it the response is not used
    and the next sweep deletes it). ``problem`` says why an entry is not used as it is (its
    metadata missing, unreadable, or not matching its files: the next check downloads
    again); its metadata fields are then None where they could not be read. Listing checks
    names, sizes and metadata, not signatures: a check verifies what it loads."""

    method: DiskCache
    key: str
    files: tuple[str, ...]
    size: int
    last_used: dt.datetime
    url: str | None = None
    this_update: dt.datetime | None = None
    next_update: dt.datetime | None = None
    number: int | None = None
    fetched_at: dt.datetime | None = None
    reuse_until: dt.datetime | None = None
    problem: str | None = None
