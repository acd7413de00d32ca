"""The revocation disk caches: ``cache show`` and ``cache clear``.

The caches live in ``RevocationConfig.cache_dir`` (``crl/`` and ``ocsp/``; formats in
``certpolicy/revocation/crl/_cache.py`` and ``certpolicy/revocation/ocsp/_cache.py``).
certpolicy.revocation has no public listing of them yet, and its cache modules are private
to it (import-linter), so this module reads no more of them than a listing needs: the file
names the caches own, their sizes and times, and the metadata fields a CRL entry's JSON
file carries (as untrusted input: capped, type-checked). Nothing is followed through a
symlink: each cache directory is opened with ``O_NOFOLLOW`` and every file is read, stat'ed
and deleted relative to it, so a planted link never leads out of the directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from certpolicy.cli._common import EXIT_OK, _emit, _engine
from certpolicy.revocation import RevocationConfig

# The file names each cache owns (as the revocation package writes them): a CRL entry is
# <key>.json (metadata), <key>.der and <key>.<sha>.der (a new CRL on its way in), <key> the
# first 32 hex digits of SHA-256(url); an OCSP entry is <SHA-256 of the request>.der.
_CRL_FILE: Final = re.compile(r"(?P<key>[0-9a-f]{32})\.(?:json|der|[0-9a-f]{16}\.der)")
_OCSP_FILE: Final = re.compile(r"(?P<key>[0-9a-f]{64})\.der")
MAX_METADATA_BYTES: Final = 64 * 1024
KINDS: Final = ("crl", "ocsp")


@dataclass
class _Entry:
    """One cache entry: its files (names in the cache directory), bytes and times."""

    key: str
    names: list[str] = field(default_factory=list)
    size: int = 0
    last_used: float = 0.0
    modified: float = 0.0
    metadata: dict[str, Any] | None = None
    problem: str | None = None


@dataclass
class _Listing:
    """What one cache directory holds (``problem``: why it was not read)."""

    kind: str
    directory: Path
    limit: int
    entries: list[_Entry] = field(default_factory=list)
    problem: str | None = None

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.entries)


@contextmanager
def _opened(directory: Path) -> Iterator[int | None]:
    """A descriptor of ``directory`` opened without following a symlink, or None when
    there is no such directory. Raises NotADirectoryError for a symlink or a file."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(directory, flags)
    except FileNotFoundError:
        yield None
        return
    except OSError as exc:
        if os.path.islink(directory) or not os.path.isdir(directory):
            raise NotADirectoryError(f"{directory} is not a directory (a symlink?)") from exc
        raise
    try:
        yield fd
    finally:
        os.close(fd)


def _files(fd: int, pattern: re.Pattern[str]) -> Iterator[tuple[str, str, os.stat_result]]:
    """(name, entry key, stat) of the regular files in the directory ``fd`` whose names the
    cache owns; symlinks, directories and other names are left alone."""
    with os.scandir(fd) as listing:
        names = [item.name for item in listing]
    for name in sorted(names):
        match = pattern.fullmatch(name)
        if match is None:
            continue
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError:
            continue  # deleted meanwhile (an engine evicting)
        if stat.S_ISREG(info.st_mode):
            yield name, match["key"], info


def _read_metadata(fd: int, name: str) -> dict[str, Any]:
    """The fields of a CRL entry's metadata file a listing shows, type-checked (a missing
    or mistyped field is None). Raises OSError or ValueError for an unreadable file."""
    handle = os.open(name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0), dir_fd=fd)
    with os.fdopen(handle, "rb") as stream:
        data = stream.read(MAX_METADATA_BYTES + 1)
    if len(data) > MAX_METADATA_BYTES:
        raise ValueError(f"larger than {MAX_METADATA_BYTES} bytes")
    try:
        document = json.loads(data.decode("utf-8"))
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")

    def number(name: str) -> float | None:
        value = document.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)

    url = document.get("url")
    crl_number = document.get("number")
    return {
        "url": url if isinstance(url, str) else None,
        "fetched_at": number("fetched_at"),
        "this_update": number("this_update"),
        "next_update": number("next_update"),
        "number": crl_number
        if isinstance(crl_number, int) and not isinstance(crl_number, bool)
        else None,
    }


def _list(kind: str, settings: RevocationConfig) -> _Listing:
    """The entries of the ``kind`` ("crl" or "ocsp") cache directory."""
    directory = Path(settings.cache_dir) / kind
    listing = _Listing(kind, directory, settings.disk_cache_bytes)
    pattern = _CRL_FILE if kind == "crl" else _OCSP_FILE
    try:
        with _opened(directory) as fd:
            if fd is None:
                return listing
            entries: dict[str, _Entry] = {}
            for name, key, info in _files(fd, pattern):
                entry = entries.setdefault(key, _Entry(key))
                entry.names.append(name)
                entry.size += info.st_size
                entry.last_used = max(entry.last_used, info.st_atime)
                entry.modified = max(entry.modified, info.st_mtime)
                if name.endswith(".json"):
                    try:
                        entry.metadata = _read_metadata(fd, name)
                    except (OSError, ValueError) as exc:
                        entry.problem = f"unreadable metadata: {exc}"
            for entry in entries.values():
                if kind == "crl" and entry.metadata is None and entry.problem is None:
                    entry.problem = "no metadata (incomplete; the next check downloads again)"
            listing.entries = list(entries.values())
    except OSError as exc:
        listing.problem = str(exc)
    return listing


def _clear(listing: _Listing) -> tuple[int, int]:
    """Deletes the files of every entry of ``listing`` (a CRL's metadata first: without it
    the entry is no longer used); returns (entries, bytes) deleted. Only the regular files
    the cache owns are deleted, relative to the directory opened without following links."""
    deleted_entries = deleted_bytes = 0
    pattern = _CRL_FILE if listing.kind == "crl" else _OCSP_FILE
    with _opened(listing.directory) as fd:
        if fd is None:
            return 0, 0
        for entry in listing.entries:
            names = sorted(entry.names, key=lambda name: not name.endswith(".json"))
            gone = 0
            for name in names:
                if pattern.fullmatch(name) is None:  # pragma: no cover - listed by pattern
                    continue
                try:
                    info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    if not stat.S_ISREG(info.st_mode):
                        continue
                    os.unlink(name, dir_fd=fd)
                except FileNotFoundError:
                    continue
                gone += info.st_size
            if gone:
                deleted_entries += 1
                deleted_bytes += gone
    return deleted_entries, deleted_bytes


# --- output ---


def _when(seconds: float | None) -> str | None:
    """Seconds since the epoch as ISO 8601 UTC (None stays None)."""
    if seconds is None:
        return None
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _size(count: int) -> str:
    """A byte count for people."""
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _entry_json(listing: _Listing, entry: _Entry, now: float) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": entry.key,
        "files": sorted(entry.names),
        "bytes": entry.size,
        "last_used": _when(entry.last_used),
    }
    if listing.kind == "crl":
        meta = entry.metadata or {}
        data.update(
            url=meta.get("url"),
            this_update=_when(meta.get("this_update")),
            next_update=_when(meta.get("next_update")),
            number=meta.get("number"),
            fetched_at=_when(meta.get("fetched_at")),
        )
    else:
        # An OCSP file's modification time is the end of its reuse (set when written).
        data.update(reuse_until=_when(entry.modified), expired=entry.modified < now)
    if entry.problem is not None:
        data["problem"] = entry.problem
    return data


def _listing_json(listing: _Listing, now: float) -> dict[str, Any]:
    return {
        "directory": str(listing.directory),
        "entries": [_entry_json(listing, e, now) for e in listing.entries],
        "bytes": listing.size,
        "disk_cache_bytes": listing.limit,
        "problem": listing.problem,
    }


def _listing_lines(listing: _Listing, now: float) -> list[str]:
    label = "CRL" if listing.kind == "crl" else "OCSP"
    head = f"{label} cache {listing.directory}"
    if listing.problem is not None:
        return [f"{head}: not read: {listing.problem}"]
    count = len(listing.entries)
    lines = [
        f"{head}: {count} entr{'y' if count == 1 else 'ies'}, "
        f"{_size(listing.size)} of {_size(listing.limit)} (disk_cache_bytes)"
    ]
    for entry in sorted(listing.entries, key=lambda e: e.last_used, reverse=True):
        data = _entry_json(listing, entry, now)
        if listing.kind == "crl":
            number = data["number"] if data["number"] is not None else "-"
            lines.append(f"  {data['url'] or entry.key}  {_size(entry.size)}")
            lines.append(
                f"      this update {data['this_update'] or '-'}  next update "
                f"{data['next_update'] or '-'}  CRL number {number}"
            )
        else:
            state = " (expired)" if data["expired"] else ""
            lines.append(f"  {entry.key[:16]}...  {_size(entry.size)}")
            lines.append(f"      reuse until {data['reuse_until']}{state}")
        lines.append(f"      last used {data['last_used']}")
        if entry.problem is not None:
            lines.append(f"      problem: {entry.problem}")
    return lines


def _kinds(args: argparse.Namespace) -> tuple[str, ...]:
    """The caches --crl / --ocsp name (both when neither is given)."""
    chosen = tuple(kind for kind in KINDS if getattr(args, kind, False))
    return chosen or KINDS


def _cmd_cache_show(args: argparse.Namespace) -> int:
    """``certpolicy cache show``: the CRL and OCSP disk caches of the config's
    RevocationConfig.cache_dir."""
    settings = _engine(args).revocation
    listings = [_list(kind, settings) for kind in _kinds(args)]
    now = time.time()
    data = {
        "cache_dir": str(settings.cache_dir),
        **{listing.kind: _listing_json(listing, now) for listing in listings},
    }

    def text() -> list[str]:
        lines = [f"revocation cache: {settings.cache_dir}"]
        for listing in listings:
            lines += _listing_lines(listing, now)
        return lines

    _emit(args.json, data, text)
    return EXIT_OK


def _cmd_cache_clear(args: argparse.Namespace) -> int:
    """``certpolicy cache clear [--crl] [--ocsp]``: deletes the cache entries (a running
    agent keeps the answers it holds in memory, and downloads again when it needs to)."""
    settings = _engine(args).revocation
    listings = [_list(kind, settings) for kind in _kinds(args)]
    for listing in listings:  # all or nothing: a cache that cannot be read stops the clear
        if listing.problem is not None:
            raise NotADirectoryError(
                f"{listing.kind} cache not cleared (nothing was): {listing.problem}"
            )
    results: dict[str, dict[str, Any]] = {}
    for listing in listings:
        entries, size = _clear(listing)
        results[listing.kind] = {
            "directory": str(listing.directory),
            "entries": entries,
            "bytes": size,
        }

    def text() -> list[str]:
        return [
            f"{'CRL' if kind == 'crl' else 'OCSP'} cache {result['directory']}: deleted "
            f"{result['entries']} entr{'y' if result['entries'] == 1 else 'ies'} "
            f"({_size(result['bytes'])})"
            for kind, result in results.items()
        ]

    _emit(args.json, {"cache_dir": str(settings.cache_dir), "deleted": results}, text)
    return EXIT_OK
