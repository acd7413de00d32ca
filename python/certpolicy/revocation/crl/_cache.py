"""The on-disk CRL cache: per distribution point URL, the CRL as downloaded (DER) and a small
JSON metadata file, replaced together as one unit.

Layout under ``RevocationConfig.cache_dir``::

    crl/<key>.json         {"url", "sha256", "size", "etag", "last_modified", "fetched_at",
                            "this_update", "next_update", "number"}
    crl/<key>.der          the CRL exactly as served, the one the metadata names
    crl/<key>.<sha>.der    a new CRL on its way in (<sha>: 16 hex digits of its SHA-256)

``<key>`` is the first 32 hex digits of SHA-256(url). A new CRL is written under its own name
first, then the metadata naming it replaces the old metadata (the commit point), then it is
renamed over ``<key>.der``. A crash before the commit leaves the old metadata and the old DER,
consistent: the last good CRL stays usable. A crash after it leaves metadata that names the
new file, which loading (or the sweep at start) renames into place. Every write is atomic
(``atomic_write_bytes``) and the metadata names the DER's SHA-256, so a truncated or edited
file, or a file of another URL, is noticed: such an entry is deleted and the CRL is
downloaded again. What the cache returns is still only bytes: the caller parses it and
verifies its signature against the issuer before use.

The directory stays within ``disk_cache_bytes`` (:class:`~certpolicy._util.DiskLru`):
least recently used entries go first; an entry is used when it is loaded or written.
:meth:`CrlDiskCache.disk_entries` and :meth:`CrlDiskCache.clear_disk` list and empty the
directory (``certpolicy cache show`` / ``cache clear``) by the same names and metadata.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Final

from certpolicy._util import (
    STALE_TEMP_SECONDS,
    DiskEntry,
    DiskLru,
    atomic_write_bytes,
    delete_entries,
    directory_is_ours,
    from_unix,
    opened_directory,
    read_capped,
    scan_entries,
    sweep_temps,
    touch,
)
from certpolicy.revocation._disk_entry import DiskCacheEntry

__all__ = ["CacheEntry", "CrlDiskCache", "Metadata"]

logger = logging.getLogger("certpolicy")


@dataclass(frozen=True, slots=True)
class Metadata:
    """What is known about a cached CRL besides its bytes (times: seconds since the epoch)."""

    url: str
    sha256: str
    size: int
    etag: str | None
    last_modified: str | None
    fetched_at: float
    this_update: float
    next_update: float | None
    number: int | None


@dataclass(frozen=True, slots=True)
class CacheEntry:
    der: bytes
    metadata: Metadata


def _key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


# The files of an entry: <key>.json, <key>.der and <key>.<sha>.der (a new CRL on its way in).
_FILE = re.compile(r"(?P<key>[0-9a-f]{32})\.(?:json|der|(?P<sha>[0-9a-f]{16})\.der)")

# Default bound of the directory, as RevocationConfig.disk_cache_bytes.
DEFAULT_DISK_BYTES = 256 * 1024 * 1024

# The largest metadata file read.
MAX_METADATA_BYTES: Final = 64 * 1024


def _entry_of(name: str) -> str | None:
    match = _FILE.fullmatch(name)
    return None if match is None else match["key"]


def _metadata_from(document: Any) -> Metadata:
    """Validates the JSON document field by field (it is read from disk: untrusted)."""
    if not isinstance(document, dict):
        raise ValueError("metadata is not an object")

    def text(name: str, optional: bool = False) -> Any:
        value = document.get(name)
        if not (isinstance(value, str) or (optional and value is None)):
            raise ValueError(f"metadata field {name!r} is not a string")
        return value

    def number(name: str, optional: bool = False) -> Any:
        value = document.get(name)
        if optional and value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"metadata field {name!r} is not a number")
        return value

    return Metadata(
        url=text("url"),
        sha256=text("sha256"),
        size=int(number("size")),
        etag=text("etag", optional=True),
        last_modified=text("last_modified", optional=True),
        fetched_at=float(number("fetched_at")),
        this_update=float(number("this_update")),
        next_update=None if document.get("next_update") is None else float(number("next_update")),
        number=None if document.get("number") is None else int(number("number")),
    )


def _read_document(path: str | Path, *, dir_fd: int | None = None) -> Any:
    """The JSON document of a metadata file (``path`` relative to ``dir_fd`` when given).
    Raises OSError or ValueError when it cannot be read as JSON."""
    data, _ = read_capped(path, MAX_METADATA_BYTES, dir_fd=dir_fd)
    try:
        return json.loads(data.decode("utf-8"))
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc


def _metadata_file(key: str) -> str:
    return f"{key}.json"


class CrlDiskCache:
    """Reads and writes cache entries; never raises for a bad or missing entry.
    ``max_bytes`` caps one CRL file read back; ``disk_bytes`` bounds the directory."""

    # The directory under RevocationConfig.cache_dir.
    subdirectory: ClassVar[str] = "crl"

    def __init__(
        self,
        cache_dir: Path,
        max_bytes: int = 100 * 1024 * 1024,
        *,
        disk_bytes: int = DEFAULT_DISK_BYTES,
    ) -> None:
        self.directory = Path(cache_dir) / self.subdirectory
        self._max_bytes = max_bytes
        self._lru = DiskLru(self.directory, disk_bytes, _entry_of)

    def paths(self, url: str) -> tuple[Path, Path]:
        """The DER and metadata paths of ``url``."""
        key = _key(url)
        return self.directory / f"{key}.der", self.directory / _metadata_file(key)

    def _incoming(self, key: str, sha256: str) -> Path:
        return self.directory / f"{key}.{sha256[:16]}.der"

    # --- at start ----------------------------------------------------------------------

    def sweep(self) -> None:
        """What a crash left: temporary files of atomic writes, and new CRLs whose store was
        interrupted (renamed into place when their metadata names them, else deleted), both
        only when older than a write in progress could be; then the directory is counted
        and brought within its bound."""
        if not directory_is_ours(self.directory):
            return
        sweep_temps(self.directory, _FILE)
        limit = time.time() - STALE_TEMP_SECONDS
        try:
            with os.scandir(self.directory) as listing:
                names = [item.name for item in listing if item.is_file(follow_symlinks=False)]
        except OSError:
            names = []
        for name in names:
            match = _FILE.fullmatch(name)
            if match is None or match["sha"] is None:
                continue
            path = self.directory / name
            try:
                if os.lstat(path).st_mtime >= limit:
                    continue
                if self._metadata_sha(match["key"]).startswith(match["sha"]):
                    os.replace(path, self.directory / f"{match['key']}.der")
                    logger.info("completed the interrupted CRL cache write %s", name)
                else:
                    os.unlink(path)
                    logger.info("swept the leftover CRL cache file %s", name)
            except OSError:
                continue
        self._lru.scan()

    def _metadata_sha(self, key: str) -> str:
        """The SHA-256 the metadata of ``key`` names, or "" when unreadable."""
        try:
            document = _read_document(self.directory / _metadata_file(key))
            value = document.get("sha256") if isinstance(document, dict) else None
        except (OSError, ValueError):
            return ""
        return value if isinstance(value, str) and len(value) == 64 else ""

    # --- reading -----------------------------------------------------------------------

    def load(self, url: str) -> CacheEntry | None:
        """The cached CRL of ``url`` whose bytes match its metadata; None when there is
        none. A store interrupted after its commit is completed; an inconsistent entry is
        deleted (after a second look: another process may be writing it)."""
        if not directory_is_ours(self.directory):
            return None
        for last_try in (False, True):
            found = self._load(url, final=last_try)
            if found is not None:
                entry, path = found
                if entry is not None and path is not None:
                    touch(path)
                return entry
        return None

    def _load(self, url: str, *, final: bool) -> tuple[CacheEntry | None, Path | None] | None:
        """``(entry or None, metadata path)``; None: look again."""
        der_path, meta_path = self.paths(url)
        try:
            document = _read_document(meta_path)
        except FileNotFoundError:
            return None, None
        except (OSError, ValueError) as exc:
            self._discard(url, f"unreadable: {exc}")
            return None, None
        try:
            metadata = _metadata_from(document)
        except (ValueError, OverflowError) as exc:  # int(float("inf")) is an OverflowError
            self._discard(url, f"bad metadata: {exc}")
            return None, None
        if metadata.url != url:
            self._discard(url, f"it belongs to {metadata.url}")
            return None, None
        incoming = self._incoming(_key(url), metadata.sha256)
        for path in (der_path, incoming):
            try:
                der, _ = read_capped(path, self._max_bytes)
            except FileNotFoundError:
                continue
            except (OSError, ValueError) as exc:
                self._discard(url, f"unreadable: {exc}")
                return None, None
            if metadata.size != len(der) or metadata.sha256 != hashlib.sha256(der).hexdigest():
                continue
            if path == incoming:
                # The store was interrupted after its commit: finish it.
                with contextlib.suppress(OSError):
                    os.replace(incoming, der_path)
            return CacheEntry(der, metadata), meta_path
        if not final:
            return None
        self._discard(url, "the CRL file does not match its metadata")
        return None, None

    # --- writing -----------------------------------------------------------------------

    def store(self, der: bytes, metadata: Metadata) -> None:
        """Writes an entry as one unit (see the module documentation). Logs and gives up on
        an OS error, or when the entry alone is over the directory's bound: the in-memory
        CRL is used regardless."""
        key = _key(metadata.url)
        der_path, meta_path = self.paths(metadata.url)
        document = _document(metadata)
        if not self._lru.make_room(key, len(der) + len(document)):
            logger.warning(
                "the CRL of %s (%d bytes) is larger than disk_cache_bytes (%d): not cached on disk",
                metadata.url,
                len(der),
                self._lru.max_bytes,
            )
            return
        incoming = self._incoming(key, metadata.sha256)
        if not directory_is_ours(self.directory):
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write_bytes(incoming, der, mode=0o644)
            atomic_write_bytes(meta_path, document, mode=0o644)  # the commit point
            with contextlib.suppress(FileNotFoundError):  # a concurrent load completed it
                os.replace(incoming, der_path)
        except OSError as exc:
            logger.warning("cannot write the CRL cache for %s: %s", metadata.url, exc)

    def store_metadata(self, metadata: Metadata) -> None:
        """Replaces the metadata of an entry whose DER is unchanged (a 304 answer)."""
        _, meta_path = self.paths(metadata.url)
        if not directory_is_ours(self.directory):
            return
        try:
            atomic_write_bytes(meta_path, _document(metadata), mode=0o644)
        except OSError as exc:
            logger.warning("cannot write the CRL cache for %s: %s", metadata.url, exc)

    def discard(self, url: str, reason: str) -> None:
        """Deletes the entry of ``url`` (its CRL was found unusable)."""
        self._discard(url, reason)

    def _discard(self, url: str, reason: str) -> None:
        logger.warning("discarding the cached CRL of %s: %s", url, reason)
        key = _key(url)
        self._lru.forget(key)
        if not directory_is_ours(self.directory):
            return
        doomed = list(self.paths(url))
        with contextlib.suppress(OSError), os.scandir(self.directory) as listing:
            for item in listing:
                match = _FILE.fullmatch(item.name)
                if match is not None and match["key"] == key and match["sha"] is not None:
                    doomed.append(Path(item.path))
        for path in doomed:
            with contextlib.suppress(OSError):
                os.unlink(path)
        self._lru.forget(key)

    def bytes_used(self) -> int:
        """The bytes of the entries counted (for tests)."""
        return self._lru.total()

    # --- listing and clearing (certpolicy cache show / cache clear) ----------------------

    @classmethod
    def disk_entries(cls, cache_dir: Path) -> list[DiskCacheEntry]:
        """The entries in ``cache_dir/crl`` as they are, each with what its metadata says and
        the ``problem`` a load would find: no metadata, metadata unreadable or not of this
        entry, or no CRL file of the size it names (the SHA-256 is checked when a CRL is
        loaded, not here). Nothing is completed, deleted or marked used. Raises
        NotADirectoryError when a symlink or a file stands in place of the directory,
        OSError when it cannot be listed."""
        with opened_directory(Path(cache_dir) / cls.subdirectory) as fd:
            if fd is None:
                return []
            return [_listed(fd, entry) for entry in scan_entries(fd, _entry_of)]

    @classmethod
    def clear_disk(cls, cache_dir: Path) -> tuple[int, int]:
        """Deletes the entries in ``cache_dir/crl``, each one's metadata first (without it
        the entry is not used, so a concurrent load never takes a CRL file left alone for a
        valid entry); returns the entries and bytes deleted. Raises as :meth:`disk_entries`
        does, and then deletes nothing."""
        with opened_directory(Path(cache_dir) / cls.subdirectory) as fd:
            if fd is None:
                return 0, 0
            return delete_entries(fd, _entry_of, order=lambda name: not name.endswith(".json"))


def _listed(fd: int, entry: DiskEntry) -> DiskCacheEntry:
    """A listed entry of the directory ``fd``: its files and what its metadata says."""
    metadata: Metadata | None = None
    problem: str | None = None
    if _metadata_file(entry.key) not in entry.sizes:
        problem = "no metadata (incomplete: the next check downloads the CRL again)"
    else:
        try:
            document = _read_document(_metadata_file(entry.key), dir_fd=fd)
        except (OSError, ValueError) as exc:
            problem = f"unreadable metadata: {exc}"
        else:
            try:
                metadata = _metadata_from(document)
            except (ValueError, OverflowError) as exc:
                problem = f"bad metadata: {exc}"
    if metadata is not None:
        problem = _mismatch(entry, metadata)
    return DiskCacheEntry(
        method="crl",
        key=entry.key,
        files=tuple(entry.names),
        size=entry.size,
        last_used=from_unix(entry.used),
        url=None if metadata is None else metadata.url,
        this_update=None if metadata is None else from_unix(metadata.this_update),
        next_update=None
        if metadata is None or metadata.next_update is None
        else from_unix(metadata.next_update),
        number=None if metadata is None else metadata.number,
        fetched_at=None if metadata is None else from_unix(metadata.fetched_at),
        problem=problem,
    )


def _mismatch(entry: DiskEntry, metadata: Metadata) -> str | None:
    """Why a load would discard the entry whose metadata reads well (None: it would not, by
    its names and sizes)."""
    if _key(metadata.url) != entry.key:
        return f"the metadata is of another URL ({metadata.url}): the next check discards it"
    # The CRL as stored, or a new one whose store was interrupted after its commit.
    candidates = (f"{entry.key}.der", f"{entry.key}.{metadata.sha256[:16]}.der")
    if any(entry.sizes.get(name) == metadata.size for name in candidates):
        return None
    return "no CRL file of the size its metadata names: the next check downloads it again"


def _document(metadata: Metadata) -> bytes:
    return json.dumps(asdict(metadata), indent=1, sort_keys=True).encode("utf-8")
