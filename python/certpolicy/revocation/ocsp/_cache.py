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
from typing import ClassVar

from certpolicy._util import (
    DEFAULT_DISK_BYTES,
    MAX_OCSP_RESPONSE_BYTES,
    BlobFiles,
    CachedValue,
    MemoryLru,
    from_unix,
)
from certpolicy.revocation._disk_entry import DiskCacheEntry

__all__ = ["CachedAnswer", "OcspDiskCache", "OcspMemoryCache"]

# A verified answer and the time span it may be reused in.
CachedAnswer = CachedValue
# Verified answers by CertID key, least recently used evicted first.
OcspMemoryCache = MemoryLru


class OcspDiskCache(BlobFiles):
    """Response DER files ``<sha256 of the CertID request>.der`` in ``directory``, within
    ``disk_bytes``; ``max_bytes`` caps one response read back."""

    # The directory under RevocationConfig.cache_dir.
    subdirectory: ClassVar[str] = "ocsp"

    def __init__(
        self, directory: Path, max_bytes: int, *, disk_bytes: int = DEFAULT_DISK_BYTES
    ) -> None:
        super().__init__(directory, max_bytes, ".der", disk_bytes=disk_bytes)

    @classmethod
    def disk_entries(cls, cache_dir: Path) -> list[DiskCacheEntry]:
        """The responses in ``cache_dir/ocsp`` as they are (expired ones included: nothing
        is swept, marked used or deleted). Raises NotADirectoryError when a symlink or a file
        stands in place of the directory, OSError when it cannot be listed."""
        cache = cls(Path(cache_dir) / cls.subdirectory, MAX_OCSP_RESPONSE_BYTES)
        return [
            DiskCacheEntry(
                method="ocsp",
                key=entry.key,
                files=tuple(entry.names),
                size=entry.size,
                last_used=from_unix(entry.used),
                reuse_until=from_unix(entry.modified),
            )
            for entry in cache.entries()
        ]

    @classmethod
    def clear_disk(cls, cache_dir: Path) -> tuple[int, int]:
        """Deletes the responses in ``cache_dir/ocsp``; returns the entries and bytes
        deleted. Raises as :meth:`disk_entries` does, and then deletes nothing."""
        return cls(Path(cache_dir) / cls.subdirectory, MAX_OCSP_RESPONSE_BYTES).clear()
