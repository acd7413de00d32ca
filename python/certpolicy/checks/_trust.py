"""Trust stores: the anchors that certificate paths must end at."""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import certifi

from certpolicy._util import core as _core
from certpolicy.checks._keystore import keystore_error, read_keystore
from certpolicy.checks._system_store import add_system_anchors, system_sources
from certpolicy.errors import ConfigError, MalformedInputError

__all__ = ["DEFAULT_TRUST_SOURCES", "TRUST_SOURCES", "TrustStore", "resolve_trust_sources"]

# The named sources of anchors a configuration may choose (docs/trust.md).
TRUST_SOURCES: Final = ("certifi", "system")
DEFAULT_TRUST_SOURCES: Final = ("certifi",)

_PEM_MARKER = b"-----BEGIN"

logger = logging.getLogger("certpolicy")


def _as_bytes(data: bytes | bytearray | memoryview | str, what: str) -> bytes:
    if isinstance(data, str):
        return data.encode("ascii", errors="replace")
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"{what} must be bytes or str, not {type(data).__name__}")


class TrustStore:
    """A set of trust anchors (root certificates).

    ``TrustStore()`` is empty; :meth:`default` holds the Mozilla roots shipped by ``certifi``;
    :meth:`system` the operating system's roots.
    Anchors are parsed once when added. Adding is safe while other threads verify: checks use
    a snapshot and never wait.
    """

    __slots__ = ("_core",)

    def __init__(self) -> None:
        self._core = _core.TrustStore()

    @classmethod
    def default(cls) -> TrustStore:
        """The platform's roots: the ``certifi`` bundle (Mozilla's root program)."""
        store = cls()
        store.add_file(certifi.where())
        return store

    @classmethod
    def system(cls) -> TrustStore:
        """The operating system's roots, found as OpenSSL finds them.

        ``$SSL_CERT_FILE`` and ``$SSL_CERT_DIR`` (several directories separated by
        :data:`os.pathsep`) when set, else OpenSSL's default CA file and hashed directory
        (``ssl.get_default_verify_paths()``); each variable replaces only its own default. In
        a directory, hashed names (``openssl rehash``) and ``*.pem`` / ``*.crt`` files are
        read, symlinks followed. An entry that cannot be read or parsed is skipped with a
        WARNING on the ``certpolicy`` logger; a store left empty logs one too (and verifies
        nothing: fail closed). Reading is bounded: files over 16 MiB, directory entries past
        100,000 and anything past 256 MiB read in all are skipped.
        """
        store = cls()
        add_system_anchors(store._core, system_sources())
        return store

    @classmethod
    def from_sources(cls, sources: Iterable[str]) -> TrustStore:
        """The anchors of the named sources together: ``"certifi"`` (:meth:`default`) and
        ``"system"`` (:meth:`system`); none names an empty store. Raises ConfigError for
        another name."""
        given = sources if isinstance(sources, list | tuple | str) else list(sources)
        chosen = resolve_trust_sources(given, where="TrustStore.from_sources")
        store = cls()
        if "certifi" in chosen:
            store.add_file(certifi.where())
        if "system" in chosen:
            add_system_anchors(store._core, system_sources())
        return store

    def add_pem(self, data: bytes | str) -> int:
        """Adds every certificate of a PEM document; returns how many were new.

        All or nothing: a malformed block raises :class:`MalformedInputError` and adds none.
        """
        return self._core.add_pem(_as_bytes(data, "PEM data"))

    def add_der(self, data: bytes) -> None:
        """Adds one DER-encoded certificate."""
        self._core.add_der(_as_bytes(data, "DER data"))

    def add_file(self, path: str | os.PathLike[str]) -> int:
        """Adds the certificates of a PEM or DER file; returns how many were new."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise MalformedInputError(f"cannot read trust file {os.fspath(path)!r}: {exc}") from exc
        if _PEM_MARKER in data:
            return self.add_pem(data)
        return 1 if self._core.add_der(data) else 0

    def add_keystore(
        self, path: str | os.PathLike[str], password: str | bytes | None = None
    ) -> int:
        """Adds the trusted-certificate entries of a Java keystore (JKS, JCEKS) or a PKCS#12
        file; returns how many were new.

        PKCS#12 trust stores written by keytool or ``cryptography``'s
        ``serialize_java_truststore`` import as they are: the certificates marked trusted.
        Private-key entries are never anchors, nor their certificate chains: in a PKCS#12
        file that holds a private key (an identity, whoever wrote it) only certificates
        marked trusted are anchors; in a PKCS#12 file of certificates only, none marked, all
        are. With ``password`` (str; bytes are read as UTF-8) the file's integrity is checked
        first: the JKS keyed digest or the PKCS#12 MAC, and a PKCS#12 file without a MAC is
        refused ("integrity"), since its integrity cannot be checked. Without one nothing is
        authenticated (a WARNING says so), as keytool allows: that is how a password-less
        PKCS#12 file (Java 18+'s cacerts) is read, and encrypted PKCS#12 certificates cannot
        be. All or nothing: a wrong password, a tampered, truncated or unreadable file raises
        :class:`MalformedInputError` (its ``keystore_error`` attribute: "integrity",
        "password_required", "malformed", "unsupported", "too_costly", or "unreadable") and
        adds none.
        """
        contents = read_keystore(path, password)
        where, kind, anchors = contents.path, contents.kind, contents.anchors
        staged = _core.TrustStore()
        for alias, der in anchors:
            try:
                staged.add_der(der)
            except MalformedInputError as exc:
                raise keystore_error(where, "malformed", f"entry {alias!r}: {exc}") from None
        if not anchors:
            logger.warning(
                "keystore %s (%s): no trusted certificate entry; nothing added (%d entries "
                "skipped: %s)",
                where,
                kind,
                len(contents.skipped),
                contents.skipped_summary() or "none",
            )
            return 0
        pem = "".join(ssl.DER_cert_to_PEM_cert(der) for der in staged.certificates())
        added = self.add_pem(pem)
        logger.info(
            "keystore %s (%s): %d trusted certificate(s), %d new; %d entries skipped",
            where,
            kind,
            len(anchors),
            added,
            len(contents.skipped),
        )
        return added

    def certificates(self) -> list[bytes]:
        """The anchors' certificates (DER), in the order they were added."""
        return self._core.certificates()

    def __len__(self) -> int:
        return len(self._core)

    def __repr__(self) -> str:
        return f"<TrustStore with {len(self)} anchors>"


def resolve_trust_sources(
    sources: object, certifi_too: object = None, where: str = "trust sources"
) -> tuple[str, ...]:
    """The trust sources a configuration chooses, checked strictly.

    ``sources`` is a list of names from :data:`TRUST_SOURCES` (an empty list: none), or None
    when not given. ``certifi_too`` is the older ``defaults = true|false`` switch, or None when
    not given: ``defaults = false`` means the sources without certifi. Given both, they must
    agree. Neither: :data:`DEFAULT_TRUST_SOURCES`. Raises :class:`ConfigError` naming
    ``where``."""
    if certifi_too is not None and not isinstance(certifi_too, bool):
        raise ConfigError(f"{where}: defaults must be true or false, not {certifi_too!r}")
    if sources is None:
        if certifi_too is None or certifi_too:
            return DEFAULT_TRUST_SOURCES
        return ()
    if not isinstance(sources, list | tuple) or not all(isinstance(s, str) for s in sources):
        raise ConfigError(
            f"{where}: sources must be a list of names ({', '.join(TRUST_SOURCES)}), "
            f"not {sources!r}"
        )
    unknown = [name for name in sources if name not in TRUST_SOURCES]
    if unknown:
        raise ConfigError(
            f"{where}: unknown trust source(s) {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(TRUST_SOURCES)}"
        )
    chosen = tuple(dict.fromkeys(sources))
    if certifi_too is not None and certifi_too != ("certifi" in chosen):
        raise ConfigError(
            f"{where}: defaults = {str(certifi_too).lower()} contradicts sources = "
            f"{list(chosen)!r} (defaults means the certifi source; set only sources)"
        )
    return chosen
