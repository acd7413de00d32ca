"""Where verified OCSP answers are kept until nextUpdate.

- :class:`OcspMemoryCache`: verified answers by CertID key, bounded (oldest evicted first).
- :class:`OcspDiskCache`: the response DER under ``cache_dir/ocsp/``, written atomically.
  Entries are verified again when loaded; the caller discards those that fail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from certpolicy._util import atomic_write_bytes

__all__ = ["CachedAnswer", "OcspDiskCache", "OcspMemoryCache"]

T = TypeVar("T")
_KEY = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class CachedAnswer(Generic[T]):
    """A verified answer and the time span it may be reused in (``not_before`` ..
    ``not_after``, both inclusive; the clock-skew allowance already applied)."""

    value: T
    source: str
    not_before: dt.datetime
    not_after: dt.datetime

    def fresh_at(self, when: dt.datetime) -> bool:
        return self.not_before <= when <= self.not_after


class OcspMemoryCache(Generic[T]):
    """Verified answers in memory, at most ``max_entries`` (the oldest stored go first)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._entries: OrderedDict[str, CachedAnswer[T]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def get(self, key: str, when: dt.datetime) -> CachedAnswer[T] | None:
        with self._lock:
            entry = self._entries.get(key)
        return entry if entry is not None and entry.fresh_at(when) else None

    def put(self, key: str, entry: CachedAnswer[T]) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = entry
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class OcspDiskCache:
    """Response DER files ``<sha256 of the CertID request>.der`` in ``directory``."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self._max_bytes = max_bytes

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.directory / f"{key}.der"

    def load(self, key: str) -> bytes | None:
        """The stored response, or None (missing, unreadable or oversized: discarded)."""
        path = self._path(key)
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
        return data

    def store(self, key: str, response: bytes) -> bool:
        """Writes atomically; False when the cache directory is not writable."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write_bytes(self._path(key), response, mode=0o600)
        except OSError:
            return False
        return True

    def discard(self, key: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self._path(key))
