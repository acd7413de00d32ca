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

import contextlib
import datetime as dt
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from certpolicy._util import atomic_write_bytes
from certpolicy.revocation._disk import DiskLru, directory_is_ours, sweep_temps, touch

__all__ = ["CachedAnswer", "OcspDiskCache", "OcspMemoryCache"]

T = TypeVar("T")
_KEY = re.compile(r"[0-9a-f]{64}")
_FILE = re.compile(r"(?P<key>[0-9a-f]{64})\.der")

# Default bounds, as RevocationConfig's.
DEFAULT_MEMORY_BYTES = 64 * 1024 * 1024
DEFAULT_DISK_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CachedAnswer(Generic[T]):
    """A verified answer and the time span it may be reused in (``not_before`` ..
    ``not_after``, both inclusive; the clock-skew allowance already applied)."""

    value: T
    source: str
    not_before: dt.datetime
    not_after: dt.datetime
    size: int = 0  # what it takes in memory (an estimate), for the cache's byte bound

    def fresh_at(self, when: dt.datetime) -> bool:
        return self.not_before <= when <= self.not_after


class OcspMemoryCache(Generic[T]):
    """Verified answers in memory, at most ``max_entries`` of them and ``max_bytes`` in all
    (by their ``size``): the least recently used go first."""

    def __init__(self, max_entries: int = 4096, max_bytes: int = DEFAULT_MEMORY_BYTES) -> None:
        self._entries: OrderedDict[str, CachedAnswer[T]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0

    def get(self, key: str, when: dt.datetime) -> CachedAnswer[T] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        return entry if entry is not None and entry.fresh_at(when) else None

    def put(self, key: str, entry: CachedAnswer[T]) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            if entry.size > self._max_bytes:
                return  # larger than the whole cache: not kept
            self._entries[key] = entry
            self._bytes += entry.size
            while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
                _, gone = self._entries.popitem(last=False)
                self._bytes -= gone.size

    def bytes(self) -> int:
        """The sum of the sizes of the answers held."""
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


def _entry_of(name: str) -> str | None:
    match = _FILE.fullmatch(name)
    return None if match is None else match["key"]


def _expired(name: str, info: os.stat_result) -> bool:
    return info.st_mtime < time.time()


class OcspDiskCache:
    """Response DER files ``<sha256 of the CertID request>.der`` in ``directory``, within
    ``disk_bytes``; ``max_bytes`` caps one response read back."""

    def __init__(
        self, directory: Path, max_bytes: int, *, disk_bytes: int = DEFAULT_DISK_BYTES
    ) -> None:
        self.directory = directory
        self._max_bytes = max_bytes
        self._lru = DiskLru(directory, disk_bytes, _entry_of, _expired)

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.directory / f"{key}.der"

    def sweep(self) -> None:
        """At start: temporary files a crash left, and responses past their reuse; then
        the directory is counted and brought within its bound."""
        sweep_temps(self.directory, _FILE)
        self._lru.scan()

    def load(self, key: str) -> bytes | None:
        """The stored response, or None (missing, unreadable or oversized: discarded)."""
        path = self._path(key)
        if not directory_is_ours(self.directory):
            return None
        try:
            # Never through a symlink: the cache directory's files are ours alone.
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as handle:
                data = handle.read(self._max_bytes + 1)
        except OSError:
            return None
        if len(data) > self._max_bytes:
            self.discard(key)
            return None
        touch(path)
        return data

    def store(self, key: str, response: bytes, not_after: dt.datetime | None = None) -> bool:
        """Writes atomically, to be reused until ``not_after``; False when the cache
        directory is not writable or the response alone is over the bound."""
        path = self._path(key)
        if not self._lru.make_room(key, len(response)):
            return False
        end = time.time() if not_after is None else not_after.timestamp()
        if not directory_is_ours(self.directory):
            return False
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write_bytes(path, response, mode=0o600, times=(time.time(), end))
        except OSError:
            return False
        return True

    def discard(self, key: str) -> None:
        self._lru.forget(key)
        if not directory_is_ours(self.directory):
            return
        with contextlib.suppress(OSError):
            os.unlink(self._path(key))

    def bytes_used(self) -> int:
        """The bytes of the responses counted (for tests)."""
        return self._lru.total()
