"""Housekeeping of the disk caches (``cache_dir/crl``, ``cache_dir/ocsp`` and
``cache_dir/intermediates``): sweeping the temporary files a crash left behind, and keeping a
cache directory within its byte bound (e.g. ``RevocationConfig.disk_cache_bytes``), least
recently used entries first.

An *entry* is the set of files of one cache key (a CRL's metadata and DER, an OCSP
response, what a caIssuers URL served). When it was last used is its files' newest access
time, which the caches set themselves (:func:`touch`) whenever they read or write an entry:
it does not depend on how the file system keeps access times. Only files whose names the
cache recognises are counted, evicted or swept; nothing is ever followed through a symlink,
nothing outside the directory is touched, and nothing here raises for an OS error (a cache
that cannot be kept tidy is still a cache).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "STALE_TEMP_SECONDS",
    "DiskLru",
    "directory_is_ours",
    "is_leftover_temp",
    "sweep_temps",
    "touch",
]

logger = logging.getLogger("certpolicy")

# The temporary files of certpolicy._util.atomic_write_bytes: ".<target>.<8 random>.tmp",
# the random part from tempfile's alphabet (see certpolicy/_util/_atomic.py).
_TEMP = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp")

# A temporary file is a crash's leftover only when it is this old: a younger one may be a
# write in progress, by this process or another sharing the cache directory.
STALE_TEMP_SECONDS = 300.0

# The directory is scanned again (other processes may write to it too) when the bound would
# be exceeded by our own count, or when the last scan is older than this.
RESCAN_SECONDS = 300.0


_warned_directories: set[str] = set()
_warned_lock = threading.Lock()


def directory_is_ours(directory: Path) -> bool:
    """Whether the cache may read, write, sweep or evict in ``directory``: it does not exist
    yet, or it is a real directory. A symlink in its place (``cache_dir/crl`` pointing
    elsewhere) is refused, as sweeping and evicting through it would delete files outside
    the cache: the cache then works from memory only, and a WARNING says so once. The
    ``cache_dir`` itself may be a symlink (an administrator's choice of where it lives)."""
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    if stat.S_ISDIR(info.st_mode):
        return True
    with _warned_lock:
        first = str(directory) not in _warned_directories
        _warned_directories.add(str(directory))
    if first:
        kind = "a symlink" if stat.S_ISLNK(info.st_mode) else "not a directory"
        logger.warning(
            "disk cache %s is %s: not used (nothing is read, written or deleted "
            "through it; the cache works from memory)",
            directory,
            kind,
        )
    return False


def is_leftover_temp(name: str, targets: re.Pattern[str]) -> bool:
    """Whether ``name`` is a temporary file of an atomic write of a file named as
    ``targets`` (fully) matches."""
    match = _TEMP.fullmatch(name)
    return match is not None and targets.fullmatch(match["target"]) is not None


def sweep_temps(
    directory: Path, targets: re.Pattern[str], *, older_than: float = STALE_TEMP_SECONDS
) -> int:
    """Deletes the temporary files a crash left in ``directory`` (not below it): regular
    files (never a symlink) that :func:`is_leftover_temp` recognises, last modified more than
    ``older_than`` seconds ago. Returns how many were deleted."""
    deleted = 0
    if not directory_is_ours(directory):
        return deleted
    limit = time.time() - older_than
    try:
        with os.scandir(directory) as listing:
            for item in listing:
                if not is_leftover_temp(item.name, targets):
                    continue
                try:
                    info = item.stat(follow_symlinks=False)
                    if stat.S_ISREG(info.st_mode) and info.st_mtime < limit:
                        os.unlink(item.path)
                        deleted += 1
                except OSError:
                    continue
    except OSError:
        return deleted
    if deleted:
        logger.info("swept %d leftover temporary file(s) from %s", deleted, directory)
    return deleted


def touch(path: Path) -> None:
    """Marks ``path`` used now: its access time is set, its modification time kept. Best
    effort: where ``utime`` cannot leave symlinks alone (NotImplementedError on some
    platforms) the entry just keeps its older use time."""
    with contextlib.suppress(OSError, NotImplementedError):
        info = os.stat(path, follow_symlinks=False)
        if stat.S_ISREG(info.st_mode):
            now = time.time_ns()
            os.utime(path, ns=(now, info.st_mtime_ns), follow_symlinks=False)


@dataclass
class _Entry:
    names: list[str] = field(default_factory=list)
    size: int = 0
    used: float = 0.0


class DiskLru:
    """Keeps the entries in ``directory`` within ``max_bytes``. ``entry_of(name)`` is the
    entry key of a file name (None: not a cache file, left alone); ``expired(name, stat)``,
    if given, tells files to delete whenever the directory is scanned."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        entry_of: Callable[[str], str | None],
        expired: Callable[[str, os.stat_result], bool] | None = None,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._entry_of = entry_of
        self._expired = expired
        self._lock = threading.Lock()
        self._sizes: dict[str, int] = {}
        self._total = 0
        self._scanned_at: float | None = None

    def scan(self) -> None:
        """Counts the directory again (deleting expired files) and evicts down to the
        bound."""
        with self._lock:
            self._make_room(None, 0, force_scan=True)

    def make_room(self, key: str, incoming: int) -> bool:
        """Before ``incoming`` bytes are written as entry ``key`` (replacing what it has):
        deletes the least recently used other entries until they fit. False when the entry
        alone is larger than the bound: it is not to be written."""
        if incoming > self.max_bytes:
            return False
        with self._lock:
            self._make_room(key, incoming, force_scan=False)
        return True

    def forget(self, key: str) -> None:
        """The entry ``key`` was deleted."""
        with self._lock:
            self._total -= self._sizes.pop(key, 0)

    def total(self) -> int:
        """The bytes counted (for tests)."""
        with self._lock:
            return self._total

    def _make_room(self, key: str | None, incoming: int, *, force_scan: bool) -> None:
        others = self._total - self._sizes.get(key, 0) if key is not None else self._total
        stale = self._scanned_at is None or time.monotonic() - self._scanned_at > RESCAN_SECONDS
        if force_scan or stale or others + incoming > self.max_bytes:
            entries = self._scan()
            self._sizes = {name: entry.size for name, entry in entries.items()}
            self._total = sum(self._sizes.values())
            self._scanned_at = time.monotonic()
            others = self._total - self._sizes.get(key, 0) if key is not None else self._total
            if others + incoming > self.max_bytes:
                oldest = sorted(entries.items(), key=lambda item: item[1].used)
                for name, entry in oldest:
                    if name == key:
                        continue
                    self._delete(entry)
                    others -= entry.size
                    self._total -= self._sizes.pop(name, 0)
                    if others + incoming <= self.max_bytes:
                        break
        if key is not None:
            self._total += incoming - self._sizes.get(key, 0)
            self._sizes[key] = incoming

    def _scan(self) -> dict[str, _Entry]:
        entries: dict[str, _Entry] = {}
        if not directory_is_ours(self.directory):
            return entries
        try:
            with os.scandir(self.directory) as listing:
                items = list(listing)
        except OSError:
            return entries
        for item in items:
            key = self._entry_of(item.name)
            if key is None:
                continue
            try:
                info = item.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue  # a planted symlink or directory is neither counted nor deleted
            if self._expired is not None and self._expired(item.name, info):
                with contextlib.suppress(OSError):
                    os.unlink(item.path)
                continue
            entry = entries.setdefault(key, _Entry())
            entry.names.append(item.name)
            entry.size += info.st_size
            entry.used = max(entry.used, info.st_atime)
        return entries

    def _delete(self, entry: _Entry) -> None:
        logger.debug("disk cache %s: evicting %s (least recently used)", self.directory, entry)
        for name in entry.names:
            with contextlib.suppress(OSError):
                os.unlink(self.directory / name)
