"""Where verified OCSP answers are kept until nextUpdate.

- :class:`OcspMemoryCache`: verified answers by CertID key, least recently used evicted first,
  within a number of answers and a number of bytes (``memory_cache_bytes``).
- :class:`OcspDiskCache`: the response DER under ``cache_dir/ocsp/``, written atomically,
  within ``disk_cache_bytes`` (least recently used first). Entries are verified again when
  loaded; the caller discards those that fail. A file's modification time is the end of its
  reuse (nextUpdate plus the clock skew, or thisUpdate plus ``ocsp_max_age``), set when it is
  written; its access time is when it was last used. Files past their end are deleted when
  the directory is swept (when a checker starts, and whenever it is counted again).
"""

from __future__ import annotations

from pathlib import Path

from certpolicy._util import DEFAULT_DISK_BYTES, BlobFiles, CachedValue, MemoryLru

__all__ = ["CachedAnswer", "OcspDiskCache", "OcspMemoryCache"]

# A verified answer and the time span it may be reused in.
CachedAnswer = CachedValue
# Verified answers by CertID key, least recently used evicted first.
OcspMemoryCache = MemoryLru


class OcspDiskCache(BlobFiles):
    """Response DER files ``<sha256 of the CertID request>.der`` in ``directory``, within
    ``disk_bytes``; ``max_bytes`` caps one response read back."""

    def __init__(
        self, directory: Path, max_bytes: int, *, disk_bytes: int = DEFAULT_DISK_BYTES
    ) -> None:
        super().__init__(directory, max_bytes, ".der", disk_bytes=disk_bytes)
