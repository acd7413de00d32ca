"""The disk cache of what caIssuers URLs served, ``cache_dir/intermediates`` (the
``RevocationConfig.cache_dir``): its format in one place, for the fetcher
(:class:`~certpolicy.intermediates.IntermediateFetcher`) and for ``certpolicy cache show`` /
``cache clear`` (:func:`intermediate_cache_entries`, :func:`clear_intermediate_cache`).

One file per URL, ``<SHA-256 of the URL, hex>.body``: the body as the URL served it (DER,
PKCS#7 or PEM), written atomically with mode 0600. Its modification time is the end of its
reuse (the first notAfter of its certificates, at most the fetcher's ``MAX_AGE``, 7 days,
after the fetch), its access time when a fetcher last used it. The URL itself is not stored:
an entry is known by its key. What is read back is checked again before use, as a fresh body
is.

Listing and clearing never go through a symlink: the directory is opened without following
one and every file is handled relative to it (:class:`certpolicy._util.BlobFiles`). Only the
files whose names the cache owns are listed or deleted. Listing changes nothing: nothing is
swept, evicted or marked used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from certpolicy._util import BlobFiles, core, from_unix

__all__ = [
    "DEFAULT_DISK_BYTES",
    "SUBDIRECTORY",
    "IntermediateCacheEntry",
    "IntermediateDiskCache",
    "cache_key",
    "clear_intermediate_cache",
    "intermediate_cache_directory",
    "intermediate_cache_entries",
]

# The directory under RevocationConfig.cache_dir, and the name ending of its files.
SUBDIRECTORY: Final = "intermediates"
_SUFFIX: Final = ".body"
# The disk cache's byte bound (least recently used entries go first).
DEFAULT_DISK_BYTES: Final = 16 * 1024 * 1024


class IntermediateDiskCache(BlobFiles):
    """Files ``<SHA-256 of the caIssuers URL>.body`` in ``directory`` (see the module
    documentation), within ``disk_bytes``; ``max_bytes`` caps one body read back."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int = core.MAX_AIA_BODY_BYTES,
        *,
        disk_bytes: int = DEFAULT_DISK_BYTES,
    ) -> None:
        super().__init__(directory, max_bytes, _SUFFIX, disk_bytes=disk_bytes)


def cache_key(url: str) -> str:
    """The key of what ``url`` served: the SHA-256 of the URL (UTF-8), in hex."""
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def intermediate_cache_directory(cache_dir: str | os.PathLike[str]) -> Path:
    """Where the missing-intermediates disk cache under ``cache_dir`` (a
    ``RevocationConfig.cache_dir``) keeps its files: ``cache_dir/intermediates``."""
    return Path(cache_dir) / SUBDIRECTORY


@dataclass(frozen=True, slots=True)
class IntermediateCacheEntry:
    """What one caIssuers URL served, as it is in the disk cache.

    ``key``: the SHA-256 of the URL, in hex (the URL itself is not stored); ``files``: its
    file names in ``cache_dir/intermediates``; ``size``: their bytes; ``last_used``: when a
    fetcher last used it; ``reuse_until``: the end of its reuse (the first notAfter of what
    the URL served, at most 7 days after the fetch), past which it is not used and the next
    sweep deletes it. Read from the file times only: the body is not read or checked here
    (a fetcher checks what it loads)."""

    key: str
    files: tuple[str, ...]
    size: int
    last_used: dt.datetime
    reuse_until: dt.datetime

    def expired(self, at: dt.datetime) -> bool:
        """Whether the entry is past its reuse at ``at`` (aware)."""
        return self.reuse_until < at


def intermediate_cache_entries(
    cache_dir: str | os.PathLike[str],
) -> list[IntermediateCacheEntry]:
    """The entries of the missing-intermediates disk cache under ``cache_dir`` (a
    ``RevocationConfig.cache_dir``), by key, expired ones included; an empty list when there
    is no such cache yet. Raises NotADirectoryError when ``cache_dir/intermediates`` is a
    symlink or a file (nothing is read through it), OSError when it cannot be listed."""
    cache = IntermediateDiskCache(intermediate_cache_directory(cache_dir))
    return [
        IntermediateCacheEntry(
            key=entry.key,
            files=tuple(entry.names),
            size=entry.size,
            last_used=from_unix(entry.used),
            reuse_until=from_unix(entry.modified),
        )
        for entry in cache.entries()
    ]


def clear_intermediate_cache(cache_dir: str | os.PathLike[str]) -> tuple[int, int]:
    """Deletes the entries of the missing-intermediates disk cache under ``cache_dir``;
    returns how many entries and bytes were deleted. A running fetcher keeps what it holds
    in memory and fetches again when it needs to. Raises as
    :func:`intermediate_cache_entries` does, and then deletes nothing."""
    return IntermediateDiskCache(intermediate_cache_directory(cache_dir)).clear()
