"""Listing and clearing the revocation disk caches under ``RevocationConfig.cache_dir``
(``certpolicy cache show`` / ``cache clear``), by the caches' own file names and metadata
parser (:meth:`CrlDiskCache.disk_entries <certpolicy.revocation.crl.CrlDiskCache>`,
:meth:`OcspDiskCache.disk_entries <certpolicy.revocation.ocsp.OcspDiskCache>`).

Nothing is followed through a symlink: the cache directory is opened without following one,
and every file is read, stat'ed and deleted relative to it. Only the files whose names the
cache owns are listed or deleted. Listing changes nothing: it does not sweep, evict,
complete an interrupted store or mark an entry used."""

from __future__ import annotations

import os
from pathlib import Path

from certpolicy.errors import MalformedInputError
from certpolicy.revocation._disk_entry import DISK_CACHES, DiskCache, DiskCacheEntry
from certpolicy.revocation.crl import CrlDiskCache
from certpolicy.revocation.ocsp import OcspDiskCache

__all__ = ["clear_disk_cache", "disk_cache_directory", "disk_cache_entries"]


def _cache(method: object) -> type[CrlDiskCache] | type[OcspDiskCache]:
    if method == "crl":
        return CrlDiskCache
    if method == "ocsp":
        return OcspDiskCache
    raise MalformedInputError(f"disk cache {method!r} is not one of {DISK_CACHES}")


def disk_cache_directory(cache_dir: str | os.PathLike[str], method: DiskCache) -> Path:
    """Where the ``method`` ("crl" or "ocsp") disk cache under ``cache_dir`` keeps its
    files. Raises MalformedInputError for another ``method``."""
    return Path(cache_dir) / _cache(method).subdirectory


def disk_cache_entries(
    cache_dir: str | os.PathLike[str], method: DiskCache
) -> list[DiskCacheEntry]:
    """The entries of the ``method`` ("crl" or "ocsp") disk cache under ``cache_dir`` (a
    ``RevocationConfig.cache_dir``), by key; an empty list when there is no such cache yet.
    Raises NotADirectoryError when ``cache_dir/<method>`` is a symlink or a file (nothing is
    read through it), OSError when it cannot be listed, MalformedInputError for another
    ``method``."""
    return _cache(method).disk_entries(Path(cache_dir))


def clear_disk_cache(cache_dir: str | os.PathLike[str], method: DiskCache) -> tuple[int, int]:
    """Deletes the entries of the ``method`` ("crl" or "ocsp") disk cache under
    ``cache_dir``; returns how many entries and bytes were deleted. A CRL entry's metadata
    goes first, so a concurrent check never takes the CRL file left behind for a valid
    entry; a running checker keeps what it holds in memory and downloads again when it
    needs to. Raises as :func:`disk_cache_entries` does, and then deletes nothing."""
    return _cache(method).clear_disk(Path(cache_dir))
