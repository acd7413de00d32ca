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

Listing and clearing a cache directory (``certpolicy cache show`` / ``cache clear``) open it
once without following a symlink (:func:`opened_directory`) and read, stat and delete every
file relative to that descriptor (:func:`scan_entries`, :func:`read_capped`,
:func:`delete_entries`): a directory swapped for a link meanwhile is never entered.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "STALE_TEMP_SECONDS",
    "DiskEntry",
    "DiskLru",
    "delete_entries",
    "directory_is_ours",
    "is_leftover_temp",
    "opened_directory",
    "read_capped",
    "scan_entries",
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


def _refusal(directory: Path) -> str | None:
    """Why a cache may not use ``directory``: "a symlink" or "not a directory"; None when it
    is a real directory or does not exist yet. Raises OSError when it cannot be looked at."""
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(info.st_mode):
        return None
    return "a symlink" if stat.S_ISLNK(info.st_mode) else "not a directory"


def directory_is_ours(directory: Path) -> bool:
    """Whether the cache may read, write, sweep or evict in ``directory``: it does not exist
    yet, or it is a real directory. A symlink in its place (``cache_dir/crl`` pointing
    elsewhere) is refused, as sweeping and evicting through it would delete files outside
    the cache: the cache then works from memory only, and a WARNING says so once. The
    ``cache_dir`` itself may be a symlink (an administrator's choice of where it lives)."""
    try:
        kind = _refusal(directory)
    except OSError:
        return False
    if kind is None:
        return True
    with _warned_lock:
        first = str(directory) not in _warned_directories
        _warned_directories.add(str(directory))
    if first:
        logger.warning(
            "disk cache %s is %s: not used (nothing is read, written or deleted "
            "through it; the cache works from memory)",
            directory,
            kind,
        )
    return False


@contextmanager
def opened_directory(directory: Path) -> Iterator[int | None]:
    """A descriptor of the cache directory ``directory``, to read, stat and delete its files
    relative to (``dir_fd``), or None when it does not exist. It is opened without following
    a symlink (``O_NOFOLLOW``), so a directory swapped for a link is never entered. Raises
    NotADirectoryError for what :func:`directory_is_ours` refuses (a symlink or a file), and
    OSError when it cannot be opened."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(directory, flags)
    except FileNotFoundError:
        yield None
        return
    except OSError as exc:
        kind = _refusal(directory)
        if kind is not None:
            detail = "not a directory but a symlink" if kind == "a symlink" else kind
            raise NotADirectoryError(
                f"{directory} is {detail}: nothing is read or deleted through it"
            ) from exc
        raise
    try:
        yield fd
    finally:
        os.close(fd)


def read_capped(
    path: str | Path, limit: int, *, dir_fd: int | None = None
) -> tuple[bytes, os.stat_result]:
    """A cache file's bytes and status: never through a symlink (someone else's file), never
    blocked on a planted FIFO (a regular file only), never more than ``limit`` bytes (a huge
    file is refused, not read). Its access time is left alone where the system allows
    (``O_NOATIME``): reading is not using; the caches mark use themselves (:func:`touch`).
    ``path`` is relative to ``dir_fd`` when given. Raises OSError (missing, not a regular
    file, unreadable) or ValueError (larger than ``limit``)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_NOATIME", 0), dir_fd=dir_fd)
    except PermissionError:  # O_NOATIME needs the file's owner
        fd = os.open(path, flags, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{Path(path).name} is larger than {limit} bytes")
    return data, info


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
class DiskEntry:
    """The files of one cache entry: their sizes by name, and their newest access (when the
    entry was last used) and modification times (seconds since the epoch)."""

    key: str
    sizes: dict[str, int] = field(default_factory=dict)
    used: float = 0.0
    modified: float = 0.0

    @property
    def names(self) -> list[str]:
        return sorted(self.sizes)

    @property
    def size(self) -> int:
        return sum(self.sizes.values())

    def add(self, name: str, info: os.stat_result) -> None:
        self.sizes[name] = info.st_size
        self.used = max(self.used, info.st_atime)
        self.modified = max(self.modified, info.st_mtime)


def _owned_files(
    items: Iterable[os.DirEntry[str]], entry_of: Callable[[str], str | None]
) -> Iterator[tuple[os.DirEntry[str], str, os.stat_result]]:
    """(item, entry key, status) of the regular files among ``items`` whose names the cache
    owns; symlinks, directories, FIFOs and other names are left alone."""
    for item in items:
        key = entry_of(item.name)
        if key is None:
            continue
        try:
            info = item.stat(follow_symlinks=False)
        except OSError:
            continue  # deleted meanwhile
        if stat.S_ISREG(info.st_mode):
            yield item, key, info


def scan_entries(fd: int, entry_of: Callable[[str], str | None]) -> list[DiskEntry]:
    """The entries in the directory ``fd`` (:func:`opened_directory`), by key: the regular
    files whose names ``entry_of`` gives a key. Raises OSError when it cannot be listed."""
    entries: dict[str, DiskEntry] = {}
    with os.scandir(fd) as listing:
        items = list(listing)
    for item, key, info in _owned_files(items, entry_of):
        entries.setdefault(key, DiskEntry(key)).add(item.name, info)
    return [entries[key] for key in sorted(entries)]


def delete_entries(
    fd: int, entry_of: Callable[[str], str | None], order: Callable[[str], Any] = str
) -> tuple[int, int]:
    """Deletes every entry in the directory ``fd`` (:func:`opened_directory`), each entry's
    files in ``order`` (e.g. the file that makes the entry valid first, so a concurrent
    reader never takes what is left for a whole entry); returns the entries and bytes
    deleted. Only the regular files whose names ``entry_of`` recognises are deleted, relative
    to ``fd``: a planted symlink is left alone, nothing outside is touched. Raises OSError
    when the directory cannot be listed (then nothing was deleted)."""
    deleted_entries = deleted_bytes = 0
    for entry in scan_entries(fd, entry_of):
        gone = 0
        for name in sorted(entry.sizes, key=order):
            try:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISREG(info.st_mode):
                    continue
                os.unlink(name, dir_fd=fd)
            except FileNotFoundError:
                continue  # deleted meanwhile (an engine evicting)
            gone += info.st_size
        if gone:
            deleted_entries += 1
            deleted_bytes += gone
    return deleted_entries, deleted_bytes


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

    def _scan(self) -> dict[str, DiskEntry]:
        entries: dict[str, DiskEntry] = {}
        if not directory_is_ours(self.directory):
            return entries
        try:
            with os.scandir(self.directory) as listing:
                items = list(listing)
        except OSError:
            return entries
        for item, key, info in _owned_files(items, self._entry_of):
            if self._expired is not None and self._expired(item.name, info):
                with contextlib.suppress(OSError):
                    os.unlink(item.path)
                continue
            entries.setdefault(key, DiskEntry(key)).add(item.name, info)
        return entries

    def _delete(self, entry: DiskEntry) -> None:
        logger.debug("disk cache %s: evicting %s (least recently used)", self.directory, entry)
        for name in entry.names:
            with contextlib.suppress(OSError):
                os.unlink(self.directory / name)
