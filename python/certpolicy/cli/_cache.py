"""The disk caches: ``cache show`` and ``cache clear``.

The caches live in ``RevocationConfig.cache_dir``: ``crl/`` and ``ocsp/`` (revocation) and
``intermediates/`` (what caIssuers URLs served). They are listed and cleared by the library
(:func:`certpolicy.revocation.disk_cache_entries`,
:func:`~certpolicy.revocation.clear_disk_cache`,
:func:`certpolicy.intermediates.intermediate_cache_entries`,
:func:`~certpolicy.intermediates.clear_intermediate_cache`), by the caches' own file names
and metadata parser, never through a symlink. The settings are read from the config without
making an engine (:func:`certpolicy.engine.revocation_config_from`): an engine's checkers
and fetcher would sweep the caches (deleting expired entries, evicting to the bound) before
they were listed.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from certpolicy.cli._common import EXIT_OK, _config_path, _emit
from certpolicy.engine import revocation_config_from
from certpolicy.intermediates import (
    DEFAULT_DISK_BYTES,
    IntermediateCacheEntry,
    clear_intermediate_cache,
    intermediate_cache_directory,
    intermediate_cache_entries,
)
from certpolicy.revocation import (
    DiskCacheEntry,
    RevocationConfig,
    clear_disk_cache,
    disk_cache_directory,
    disk_cache_entries,
)

# The caches, in the order they are listed and cleared (also their --flags and JSON keys).
Kind = Literal["crl", "ocsp", "intermediates"]
KINDS: Final[tuple[Kind, ...]] = ("crl", "ocsp", "intermediates")
_LABELS: Final[dict[Kind, str]] = {"crl": "CRL", "ocsp": "OCSP", "intermediates": "Intermediates"}
# What bounds each cache, as the text output names it.
_BOUNDS: Final[dict[Kind, str]] = {
    "crl": "disk_cache_bytes",
    "ocsp": "disk_cache_bytes",
    "intermediates": "fixed bound",
}


@dataclass
class _Listing:
    """What one cache directory holds (``problem``: why it was not read)."""

    kind: Kind
    directory: Path
    limit: int
    entries: Sequence[DiskCacheEntry | IntermediateCacheEntry] = ()
    problem: str | None = None

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.entries)


def _settings(args: argparse.Namespace) -> RevocationConfig:
    """The revocation settings of ``--config`` (or the defaults), read without making an
    engine."""
    path = _config_path(args)
    return revocation_config_from(path) if path else RevocationConfig()


def _list(kind: Kind, settings: RevocationConfig) -> _Listing:
    """The entries of the ``kind`` cache directory."""
    cache_dir = settings.cache_dir
    if kind == "intermediates":
        listing = _Listing(kind, intermediate_cache_directory(cache_dir), DEFAULT_DISK_BYTES)
    else:
        listing = _Listing(kind, disk_cache_directory(cache_dir, kind), settings.disk_cache_bytes)
    try:
        listing.entries = (
            intermediate_cache_entries(cache_dir)
            if kind == "intermediates"
            else disk_cache_entries(cache_dir, kind)
        )
    except OSError as exc:
        listing.problem = str(exc)
    return listing


def _clear(kind: Kind, settings: RevocationConfig) -> tuple[int, int]:
    """Deletes the entries of the ``kind`` cache: (entries, bytes)."""
    if kind == "intermediates":
        return clear_intermediate_cache(settings.cache_dir)
    return clear_disk_cache(settings.cache_dir, kind)


# --- output ---


def _when(value: dt.datetime | None) -> str | None:
    """ISO 8601 text (None stays None)."""
    return None if value is None else value.isoformat()


def _size(count: int) -> str:
    """A byte count for people."""
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _entry_json(entry: DiskCacheEntry | IntermediateCacheEntry, now: dt.datetime) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": entry.key,
        "files": list(entry.files),
        "bytes": entry.size,
        "last_used": _when(entry.last_used),
    }
    if isinstance(entry, IntermediateCacheEntry):  # known by its file times only
        data.update(reuse_until=_when(entry.reuse_until), expired=entry.expired(now))
        return data
    if entry.method == "crl":
        data.update(
            url=entry.url,
            this_update=_when(entry.this_update),
            next_update=_when(entry.next_update),
            number=entry.number,
            fetched_at=_when(entry.fetched_at),
        )
    else:
        expired = entry.reuse_until is not None and entry.reuse_until < now
        data.update(reuse_until=_when(entry.reuse_until), expired=expired)
    if entry.problem is not None:
        data["problem"] = entry.problem
    return data


def _listing_json(listing: _Listing, now: dt.datetime) -> dict[str, Any]:
    return {
        "directory": str(listing.directory),
        "entries": [_entry_json(e, now) for e in listing.entries],
        "bytes": listing.size,
        "disk_cache_bytes": listing.limit,
        "problem": listing.problem,
    }


def _listing_lines(listing: _Listing, now: dt.datetime) -> list[str]:
    head = f"{_LABELS[listing.kind]} cache {listing.directory}"
    if listing.problem is not None:
        return [f"{head}: not read: {listing.problem}"]
    count = len(listing.entries)
    lines = [
        f"{head}: {count} entr{'y' if count == 1 else 'ies'}, "
        f"{_size(listing.size)} of {_size(listing.limit)} ({_BOUNDS[listing.kind]})"
    ]
    for entry in sorted(listing.entries, key=lambda e: e.last_used, reverse=True):
        data = _entry_json(entry, now)
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
        if "problem" in data:
            lines.append(f"      problem: {data['problem']}")
    return lines


def _kinds(args: argparse.Namespace) -> tuple[Kind, ...]:
    """The caches --crl / --ocsp / --intermediates name (all three when none is given)."""
    chosen = tuple(kind for kind in KINDS if getattr(args, kind, False))
    return chosen or KINDS


def _cmd_cache_show(args: argparse.Namespace) -> int:
    """``certpolicy cache show``: the CRL, OCSP and intermediates disk caches of the
    config's RevocationConfig.cache_dir."""
    settings = _settings(args)
    listings = [_list(kind, settings) for kind in _kinds(args)]
    now = dt.datetime.now(dt.UTC)
    data: dict[str, Any] = {
        "cache_dir": str(settings.cache_dir),
        **{listing.kind: _listing_json(listing, now) for listing in listings},
    }

    def text() -> list[str]:
        lines = [f"disk caches in {settings.cache_dir}"]
        for listing in listings:
            lines += _listing_lines(listing, now)
        return lines

    _emit(args.json, data, text)
    return EXIT_OK


def _cmd_cache_clear(args: argparse.Namespace) -> int:
    """``certpolicy cache clear [--crl] [--ocsp] [--intermediates]``: deletes the cache
    entries (a running agent keeps what it holds in memory, and downloads again when it
    needs to)."""
    settings = _settings(args)
    listings = [_list(kind, settings) for kind in _kinds(args)]
    for listing in listings:  # all or nothing: a cache that cannot be read stops the clear
        if listing.problem is not None:
            raise NotADirectoryError(
                f"{listing.kind} cache not cleared (nothing was): {listing.problem}"
            )
    results: dict[Kind, dict[str, Any]] = {}
    for listing in listings:
        entries, size = _clear(listing.kind, settings)
        results[listing.kind] = {
            "directory": str(listing.directory),
            "entries": entries,
            "bytes": size,
        }

    def text() -> list[str]:
        return [
            f"{_LABELS[kind]} cache {result['directory']}: deleted "
            f"{result['entries']} entr{'y' if result['entries'] == 1 else 'ies'} "
            f"({_size(result['bytes'])})"
            for kind, result in results.items()
        ]

    _emit(args.json, {"cache_dir": str(settings.cache_dir), "deleted": results}, text)
    return EXIT_OK
