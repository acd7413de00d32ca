"""The on-disk CRL cache: per distribution point URL, the CRL as downloaded (DER) and a small
JSON metadata file, both written atomically.

Layout under ``RevocationConfig.cache_dir``::

    crl/<key>.der    the CRL exactly as served
    crl/<key>.json   {"url", "sha256", "size", "etag", "last_modified", "fetched_at",
                      "this_update", "next_update", "number"}

``<key>`` is the first 32 hex digits of SHA-256(url). The DER is written before the metadata,
and the metadata names the DER's SHA-256, so a crash between the two writes, a truncated or
edited file, or a file of another URL is noticed: such an entry is deleted and the CRL is
downloaded again. What the cache returns is still only bytes: the caller parses it and
verifies its signature against the issuer before use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from certpolicy._util import atomic_write_bytes

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


def _read_capped(path: Path, limit: int) -> bytes:
    """A cache file's bytes: never through a symlink (someone else's file), never more than
    ``limit`` bytes (a planted /dev/zero link or a huge file is refused, not read)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path.name} is larger than {limit} bytes")
    return data


class CrlDiskCache:
    """Reads and writes cache entries; never raises for a bad or missing entry."""

    def __init__(self, cache_dir: Path, max_bytes: int = 100 * 1024 * 1024) -> None:
        self.directory = Path(cache_dir) / "crl"
        self._max_bytes = max_bytes

    def paths(self, url: str) -> tuple[Path, Path]:
        """The DER and metadata paths of ``url``."""
        key = _key(url)
        return self.directory / f"{key}.der", self.directory / f"{key}.json"

    def load(self, url: str) -> CacheEntry | None:
        """The cached CRL of ``url`` whose bytes match its metadata; None when there is
        none. An inconsistent entry is deleted."""
        der_path, meta_path = self.paths(url)
        try:
            document = json.loads(_read_capped(meta_path, 64 * 1024).decode("utf-8"))
            der = _read_capped(der_path, self._max_bytes)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as exc:
            self._discard(url, f"unreadable: {exc}")
            return None
        try:
            metadata = _metadata_from(document)
        except (ValueError, OverflowError) as exc:  # int(float("inf")) is an OverflowError
            self._discard(url, f"bad metadata: {exc}")
            return None
        if metadata.url != url:
            self._discard(url, f"it belongs to {metadata.url}")
            return None
        if metadata.size != len(der) or metadata.sha256 != hashlib.sha256(der).hexdigest():
            self._discard(url, "the CRL file does not match its metadata")
            return None
        return CacheEntry(der, metadata)

    def store(self, der: bytes, metadata: Metadata) -> None:
        """Writes an entry (DER first, then metadata), atomically each. Logs and gives up on
        an OS error: the in-memory CRL is used regardless."""
        der_path, _ = self.paths(metadata.url)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write_bytes(der_path, der, mode=0o644)
            self.store_metadata(metadata)
        except OSError as exc:
            logger.warning("cannot write the CRL cache for %s: %s", metadata.url, exc)

    def store_metadata(self, metadata: Metadata) -> None:
        _, meta_path = self.paths(metadata.url)
        document = json.dumps(asdict(metadata), indent=1, sort_keys=True).encode("utf-8")
        try:
            atomic_write_bytes(meta_path, document, mode=0o644)
        except OSError as exc:
            logger.warning("cannot write the CRL cache for %s: %s", metadata.url, exc)

    def discard(self, url: str, reason: str) -> None:
        """Deletes the entry of ``url`` (its CRL was found unusable)."""
        self._discard(url, reason)

    def _discard(self, url: str, reason: str) -> None:
        logger.warning("discarding the cached CRL of %s: %s", url, reason)
        for path in self.paths(url):
            with contextlib.suppress(OSError):
                os.unlink(path)
