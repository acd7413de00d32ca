"""Bounded caches of values that are good for a time span: in memory (:class:`MemoryLru`) and
on disk (:class:`BlobFiles`). The OCSP answers and what caIssuers URLs served are kept in
them.

- :class:`MemoryLru`: values by key, least recently used evicted first, within a number of
  entries and a number of bytes (each value's ``size``, an estimate).
- :class:`BlobFiles`: bytes under ``<directory>/<sha256 hex key><suffix>``, written
  atomically, within a byte bound (least recently used first, :class:`~._disk.DiskLru`). A
  file's modification time is the end of its reuse, set when it is written; its access time
  is when it was last used. Files past their end are deleted when the directory is swept
  (:meth:`BlobFiles.sweep`, and whenever it is counted again). What is read back is only
  bytes: the caller checks them again before use. :meth:`BlobFiles.entries` and
  :meth:`BlobFiles.clear` list and empty the directory (``certpolicy cache show`` / ``clear``).
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

from certpolicy._util._atomic import atomic_write_bytes
from certpolicy._util._disk import (
    DiskEntry,
    DiskLru,
    delete_entries,
    directory_is_ours,
    opened_directory,
    read_capped,
    scan_entries,
    sweep_temps,
    touch,
)

__all__ = ["DEFAULT_DISK_BYTES", "DEFAULT_MEMORY_BYTES", "BlobFiles", "CachedValue", "MemoryLru"]

T = TypeVar("T")
_KEY = re.compile(r"[0-9a-f]{64}")

# Default bounds, as RevocationConfig's.
DEFAULT_MEMORY_BYTES = 64 * 1024 * 1024
DEFAULT_DISK_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CachedValue(Generic[T]):
    """A checked value and the time span it may be reused in (``not_before`` ..
    ``not_after``, both inclusive; any clock-skew allowance already applied)."""

    value: T
    source: str
    not_before: dt.datetime
    not_after: dt.datetime
    size: int = 0  # what it takes in memory (an estimate), for the cache's byte bound

    def fresh_at(self, when: dt.datetime) -> bool:
        return self.not_before <= when <= self.not_after


class MemoryLru(Generic[T]):
    """Values in memory, at most ``max_entries`` of them and ``max_bytes`` in all (by their
    ``size``): the least recently used go first."""

    def __init__(self, max_entries: int = 4096, max_bytes: int = DEFAULT_MEMORY_BYTES) -> None:
        self._entries: OrderedDict[str, CachedValue[T]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0

    def get(self, key: str, when: dt.datetime) -> CachedValue[T] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        return entry if entry is not None and entry.fresh_at(when) else None

    def put(self, key: str, entry: CachedValue[T]) -> None:
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
        """The sum of the sizes of the values held."""
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


def _expired(name: str, info: os.stat_result) -> bool:
    return info.st_mtime < time.time()


class BlobFiles:
    """Files ``<sha256 hex key><suffix>`` in ``directory``, within ``disk_bytes``;
    ``max_bytes`` caps one file read back."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        suffix: str,
        *,
        disk_bytes: int = DEFAULT_DISK_BYTES,
    ) -> None:
        self.directory = directory
        self._max_bytes = max_bytes
        self._suffix = suffix
        self._file = re.compile(r"(?P<key>[0-9a-f]{64})" + re.escape(suffix))
        self._lru = DiskLru(directory, disk_bytes, self._entry_of, _expired)

    def _entry_of(self, name: str) -> str | None:
        match = self._file.fullmatch(name)
        return None if match is None else match["key"]

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.directory / f"{key}{self._suffix}"

    def sweep(self) -> None:
        """At start: temporary files a crash left, and files past their reuse; then the
        directory is counted and brought within its bound."""
        sweep_temps(self.directory, self._file)
        self._lru.scan()

    def load(self, key: str) -> bytes | None:
        """The stored bytes, or None (missing, unreadable or oversized: discarded)."""
        loaded = self._read(key)
        return None if loaded is None else loaded[0]

    def load_fresh(self, key: str) -> tuple[bytes, dt.datetime] | None:
        """The stored bytes and the end of their reuse, or None: also when that end has
        passed (the file is discarded then)."""
        loaded = self._read(key)
        if loaded is None:
            return None
        data, end = loaded
        if end < time.time():
            self.discard(key)
            return None
        return data, dt.datetime.fromtimestamp(end, dt.UTC)

    def _read(self, key: str) -> tuple[bytes, float] | None:
        path = self._path(key)
        if not directory_is_ours(self.directory):
            return None
        try:
            data, info = read_capped(path, self._max_bytes)
        except OSError:
            return None
        except ValueError:  # oversized
            self.discard(key)
            return None
        touch(path)
        return data, info.st_mtime

    def store(self, key: str, data: bytes, not_after: dt.datetime | None = None) -> bool:
        """Writes atomically, to be reused until ``not_after``; False when the cache
        directory is not writable or the data alone is over the bound."""
        path = self._path(key)
        if not self._lru.make_room(key, len(data)):
            return False
        end = time.time() if not_after is None else not_after.timestamp()
        if not directory_is_ours(self.directory):
            return False
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write_bytes(path, data, mode=0o600, times=(time.time(), end))
        except OSError:
            return False
        return True

    def discard(self, key: str) -> None:
        self._lru.forget(key)
        if not directory_is_ours(self.directory):
            return
        with contextlib.suppress(OSError):
            os.unlink(self._path(key))

    def entries(self) -> list[DiskEntry]:
        """The entries in the directory as they are: nothing is swept, marked used or
        deleted. Raises NotADirectoryError when a symlink or a file stands in its place,
        OSError when it cannot be listed."""
        with opened_directory(self.directory) as fd:
            return [] if fd is None else scan_entries(fd, self._entry_of)

    def clear(self) -> tuple[int, int]:
        """Deletes every entry; returns the entries and bytes deleted. Raises as
        :meth:`entries` does, and then deletes nothing."""
        with opened_directory(self.directory) as fd:
            return (0, 0) if fd is None else delete_entries(fd, self._entry_of)

    def bytes_used(self) -> int:
        """The bytes of the files counted (for tests)."""
        return self._lru.total()
