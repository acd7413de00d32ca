"""Atomic file writes: a reader sees the old file or the new one, never a partial one.

The data goes first to a temporary file beside the target, named
``.<target name>.<8 random characters>.tmp`` (``tempfile.mkstemp`` with that prefix and
suffix; the random part is lowercase letters, digits and ``_``). A crash before the rename
can leave such a file behind; whoever owns the directory may sweep those by that pattern
(the disk caches do, see ``certpolicy/_util/_disk.py``), so keep the two in step.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes"]


def atomic_write_bytes(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    mode: int | None = None,
    times: tuple[float, float] | None = None,
) -> None:
    """Writes ``data`` to a temporary file beside ``path``, fsyncs it, renames it over
    ``path`` and fsyncs the directory. A crash at any point leaves the old file intact.

    The new file keeps the old file's permission bits (or ``mode``, or 0o600 when new).
    ``times`` (access, modification; seconds since the epoch) are set on the file before it
    appears, for callers that keep their own meaning in them.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if mode is None:
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o600
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        if times is not None:
            os.utime(tmp_name, times)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
