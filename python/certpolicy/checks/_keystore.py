"""Keystores as sources of trust anchors: the trusted certificates of a Java keystore (JKS,
JCEKS) or a PKCS#12 file, read and checked by the Rust core (``certpolicy_core::keystore``).
``TrustStore.add_keystore`` adds them; the command line reads them to write its store file."""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass

from certpolicy._util import core as _core
from certpolicy.errors import KeystoreError, MalformedInputError

__all__ = ["KeystoreContents", "read_keystore"]

logger = logging.getLogger("certpolicy")


@dataclass(frozen=True, slots=True)
class KeystoreContents:
    """What a keystore holds, as far as trust is concerned.

    ``kind`` is "jks", "jceks" or "pkcs12"; ``integrity_checked`` is True when a password was
    given, which the file's digest or MAC then verified (a file that cannot be checked, a
    PKCS#12 file without a MAC, is refused); False without a password: the certificates are
    then unauthenticated. ``anchors`` are the trusted certificates as (alias, DER), in file
    order; ``skipped`` the other entries as (alias, reason)."""

    path: str
    kind: str
    integrity_checked: bool
    anchors: tuple[tuple[str | None, bytes], ...]
    skipped: tuple[tuple[str | None, str], ...]

    def skipped_summary(self) -> str:
        """The skipped entries counted by reason, most frequent first, e.g. "2: certificate
        not marked trusted in a file with a private key (...); 1: private key"; "" when none
        was skipped."""
        counts = Counter(reason for _, reason in self.skipped)
        return "; ".join(f"{count}: {reason}" for reason, count in counts.most_common())


def keystore_error(where: str, reason: str, message: str) -> KeystoreError:
    """A KeystoreError naming the file, with ``keystore_error`` set to ``reason``."""
    return KeystoreError(f"keystore {where!r}: {message}", reason)


def _read_file(where: str) -> bytes:
    """The bytes of a keystore file, at most MAX_KEYSTORE_BYTES (read no further)."""
    limit = _core.MAX_KEYSTORE_BYTES
    try:
        with open(where, "rb") as file:
            # The size first, so an oversized file is refused without reading it.
            oversized = os.fstat(file.fileno()).st_size > limit
            data = b"" if oversized else file.read(limit + 1)
            oversized = oversized or len(data) > limit
    except OSError as exc:
        raise keystore_error(where, "unreadable", f"cannot read: {exc.strerror or exc}") from exc
    if oversized:
        raise keystore_error(
            where, "too_costly", f"larger than {limit} bytes; keystores are far smaller"
        )
    return data


def read_keystore(
    path: str | os.PathLike[str], password: str | bytes | None = None
) -> KeystoreContents:
    """Reads a keystore (see :meth:`certpolicy.TrustStore.add_keystore`). Logs the skipped
    entries at INFO and an unchecked integrity (no password) at WARNING; raises
    MalformedInputError with a ``keystore_error`` reason, "integrity" when a password is given
    and the file cannot be checked with it."""
    where = os.fspath(path)
    if isinstance(password, bytes):
        try:
            password = password.decode("utf-8")
        except UnicodeDecodeError:
            raise keystore_error(where, "malformed", "the password bytes are not UTF-8") from None
    elif password is not None and not isinstance(password, str):
        raise TypeError(f"password must be str, bytes or None, not {type(password).__name__}")
    data = _read_file(where)
    try:
        kind, checked, anchors, skipped = _core.read_keystore(data, password)
    except MalformedInputError as exc:
        reason = getattr(exc, "keystore_error", "malformed")
        raise keystore_error(where, reason, str(exc)) from None
    if password is not None and not checked:
        # The core refuses this itself; a password must never yield unauthenticated anchors.
        raise keystore_error(
            where, "integrity", "its integrity cannot be checked with the password"
        )
    for alias, reason in skipped:
        logger.info("keystore %s: entry %r skipped: %s", where, alias, reason)
    if not checked:
        logger.warning(
            "keystore %s: integrity not checked (no password given): its certificates are "
            "trusted as read",
            where,
            extra={"keystore": where, "keystore_kind": kind},
        )
    return KeystoreContents(where, kind, checked, tuple(anchors), tuple(skipped))
