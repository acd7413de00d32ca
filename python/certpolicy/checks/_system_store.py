"""The operating system's trust store, found and read as OpenSSL finds and reads it.

OpenSSL's ``X509_STORE_set_default_paths`` takes one CA file and one hashed directory, each
from its environment variable when set (``SSL_CERT_FILE``, ``SSL_CERT_DIR``), else from its
build defaults (``ssl.get_default_verify_paths()``: ``openssl_cafile``, ``openssl_capath``).
The two are independent, as in OpenSSL: setting one keeps the other's default.
``SSL_CERT_DIR`` may name several directories separated by :data:`os.pathsep`; a variable set
to the empty string names nothing (OpenSSL refuses an empty path).

In a directory, the entries read are the hashed names ``openssl rehash`` (``c_rehash``) makes,
``<8 hex digits>.<n>``, and plain ``*.pem`` / ``*.crt`` files (Debian's ``/etc/ssl/certs``
holds both, mostly symlinks into ``/usr/share/ca-certificates``: symlinks are followed). A
certificate found several times counts once. Every entry is read on its own: one that cannot
be read or parsed is skipped with a WARNING on the ``certpolicy`` logger naming the file and
the reason, and never stops the rest. The work is bounded (see the ``MAX_SYSTEM_*`` limits).
"""

from __future__ import annotations

import logging
import os
import re
import ssl
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from certpolicy._util import core as _core
from certpolicy.errors import MalformedInputError

__all__ = [
    "MAX_SYSTEM_DIR_ENTRIES",
    "MAX_SYSTEM_FILE_BYTES",
    "MAX_SYSTEM_TOTAL_BYTES",
    "SystemSources",
    "add_system_anchors",
    "system_sources",
]

logger = logging.getLogger("certpolicy")

# The largest file read, bundle or single certificate: a full CA bundle is ~250 KiB.
MAX_SYSTEM_FILE_BYTES: Final[int] = 16 * 1024 * 1024
# The most entries of one directory looked at (Debian's /etc/ssl/certs holds ~300).
MAX_SYSTEM_DIR_ENTRIES: Final[int] = 100_000
# The most bytes read in all, over every file and directory.
MAX_SYSTEM_TOTAL_BYTES: Final[int] = 256 * 1024 * 1024

_HASHED_NAME: Final = re.compile(r"[0-9a-fA-F]{8}\.[0-9]+")
_PLAIN_SUFFIXES: Final = (".pem", ".crt")
_PEM_MARKER: Final = b"-----BEGIN"
_CERT_BLOCK: Final = re.compile(
    rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.DOTALL
)
_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block the open; it is refused below
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


@dataclass(frozen=True, slots=True)
class SystemSources:
    """Where the system store is read from; ``*_from_env`` says whether an environment
    variable chose it (then a missing path is worth a warning, not just a debug line)."""

    files: tuple[Path, ...]
    directories: tuple[Path, ...]
    files_from_env: bool
    directories_from_env: bool


def _split(value: str) -> tuple[Path, ...]:
    return tuple(Path(part) for part in value.split(os.pathsep) if part)


def system_sources(environ: Mapping[str, str] | None = None) -> SystemSources:
    """The CA file and directories OpenSSL would use, from ``environ`` (``os.environ``)."""
    env = os.environ if environ is None else environ
    paths = ssl.get_default_verify_paths()
    file_env = env.get(paths.openssl_cafile_env or "SSL_CERT_FILE")
    dir_env = env.get(paths.openssl_capath_env or "SSL_CERT_DIR")
    if file_env is not None:
        files = (Path(file_env),) if file_env else ()
    else:
        files = (Path(paths.openssl_cafile),) if paths.openssl_cafile else ()
    directories = _split(dir_env if dir_env is not None else paths.openssl_capath or "")
    return SystemSources(files, directories, file_env is not None, dir_env is not None)


class _Budget:
    """What is left of MAX_SYSTEM_TOTAL_BYTES; once exhausted, nothing more is read."""

    __slots__ = ("left", "warned")

    def __init__(self) -> None:
        self.left = MAX_SYSTEM_TOTAL_BYTES
        self.warned = False


def _skip(path: Path | str, reason: object) -> None:
    logger.warning(
        "system trust store: skipping %s: %s",
        os.fspath(path),
        reason,
        extra={"trust_file": os.fspath(path), "reason": str(reason)},
    )


def _not_there(path: Path, reason: str) -> None:
    logger.debug("system trust store: %s: %s", path, reason)


def _read_entry(path: Path, budget: _Budget) -> bytes | None:
    """The bytes of a regular file (symlinks followed), or None after logging why not."""
    if budget.left <= 0:
        if not budget.warned:
            budget.warned = True
            _skip(path, f"over {MAX_SYSTEM_TOTAL_BYTES} bytes read in all; the rest is not read")
        return None
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        _skip(path, exc.strerror or exc)
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            _skip(path, "not a regular file")
            return None
        limit = min(MAX_SYSTEM_FILE_BYTES, budget.left)
        if info.st_size > limit:
            _skip(path, f"{info.st_size} bytes; at most {limit} are read")
            return None
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # grew while being read
            _skip(path, f"more than {limit} bytes")
            return None
    except OSError as exc:
        _skip(path, exc.strerror or exc)
        return None
    finally:
        os.close(fd)
    budget.left -= size
    return b"".join(chunks)


def _add_entry(store: _core.TrustStore, path: Path, data: bytes) -> int:
    """Adds the certificates of one file; a bad certificate of a bundle skips only itself."""
    if _PEM_MARKER not in data:
        try:
            return 1 if store.add_der(data) else 0
        except MalformedInputError as exc:
            _skip(path, exc)
            return 0
    try:
        return store.add_pem(data)
    except MalformedInputError as exc:
        blocks = _CERT_BLOCK.findall(data)
        if len(blocks) <= 1:
            _skip(path, exc)
            return 0
    added = 0
    for index, block in enumerate(blocks):
        try:
            added += store.add_pem(block)
        except MalformedInputError as exc:
            _skip(path, f"certificate #{index}: {exc}")
    return added


def _directory_entries(directory: Path, from_env: bool) -> Iterator[Path]:
    """The certificate entries of a directory, in name order, at most MAX_SYSTEM_DIR_ENTRIES
    looked at."""
    names: list[str] = []
    try:
        with os.scandir(directory) as entries:
            for count, entry in enumerate(entries):
                if count >= MAX_SYSTEM_DIR_ENTRIES:
                    _skip(directory, f"over {MAX_SYSTEM_DIR_ENTRIES} entries; the rest is not read")
                    break
                name = entry.name
                if _HASHED_NAME.fullmatch(name) or name.lower().endswith(_PLAIN_SUFFIXES):
                    names.append(name)
    except FileNotFoundError:
        (_skip if from_env else _not_there)(directory, "no such directory")
        return
    except OSError as exc:
        _skip(directory, exc.strerror or exc)
        return
    for name in sorted(names):
        yield directory / name


def add_system_anchors(store: _core.TrustStore, sources: SystemSources) -> int:
    """Adds the certificates of ``sources`` to ``store``; returns how many were new.

    Each file is parsed into a scratch store of its own (so a bad file costs only itself),
    and the distinct certificates join ``store`` in one addition: one copy of the store, not
    one per file."""
    budget = _Budget()
    seen: set[tuple[int, int]] = set()
    found: dict[bytes, None] = {}

    def read(path: Path) -> None:
        try:
            info = os.stat(path)  # follows symlinks
        except OSError:
            info = None  # _read_entry says why
        if info is not None:
            if (info.st_dev, info.st_ino) in seen:  # Debian: hashed name -> *.pem name
                return
            seen.add((info.st_dev, info.st_ino))
        data = _read_entry(path, budget)
        if data is not None:
            scratch = _core.TrustStore()
            _add_entry(scratch, path, data)
            found.update(dict.fromkeys(scratch.certificates()))

    for file in sources.files:
        if not sources.files_from_env and not file.exists():
            _not_there(file, "no such file")
            continue
        read(file)
    for directory in sources.directories:
        for entry in _directory_entries(directory, sources.directories_from_env):
            read(entry)
    added = 0
    if found:
        bundle = "".join(ssl.DER_cert_to_PEM_cert(der) for der in found)
        try:
            added = store.add_pem(bundle.encode("ascii"))
        except MalformedInputError as exc:  # only a full store: each was parsed already
            _skip("the system certificates", exc)
    if not found:
        logger.warning(
            "system trust store: no certificate found (files: %s; directories: %s); "
            "it adds no trust anchor",
            ", ".join(map(str, sources.files)) or "none",
            ", ".join(map(str, sources.directories)) or "none",
        )
    else:
        logger.debug("system trust store: %d anchors", len(store))
    return added
