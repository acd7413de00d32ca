"""Chain verification (single and batch), the verified-chain cache and hostname verification."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Final, NamedTuple

from certpolicy._util import core as _core
from certpolicy._util import unix_seconds
from certpolicy.checks._trust import TrustStore
from certpolicy.errors import CertPolicyError, HostnameMismatchError, MalformedInputError

__all__ = [
    "ChainCacheInfo",
    "chain_cache_info",
    "clear_chain_cache",
    "set_chain_cache_size",
    "verify_chain",
    "verify_chains",
    "verify_hostname",
]


def verify_hostname(cert: bytes, host: str, *, allow_common_name: bool = False) -> None:
    """Checks that the DER certificate ``cert`` is valid for ``host`` (a DNS name or IP
    literal) by RFC 6125: SAN dNSName / iPAddress entries; the subject CN only with
    ``allow_common_name`` and no SAN. Raises :class:`certpolicy.HostnameMismatchError`
    naming the presented names (also for a host that is no valid name at all)."""
    try:
        _core.verify_hostname(cert, host, allow_common_name=allow_common_name)
    except UnicodeEncodeError:
        # A lone surrogate: no name could ever match it.
        raise HostnameMismatchError(
            f"{host!r} is not a valid hostname: it is not text", host
        ) from None


# A chain is a sequence of certificates; one certificate (or text) passed instead is a mistake.
_NOT_A_CHAIN = (bytes, bytearray, memoryview, str)


def _check_store(store: object) -> None:
    if not isinstance(store, TrustStore):
        raise TypeError(f"store must be a certpolicy.TrustStore, not {type(store).__name__}")


# The most intermediates any path may have (the Rust core caps it lower still).
_MAX_DEPTH_ARGUMENT = 2**31


def _check_max_depth(max_depth: int | None) -> None:
    if max_depth is None:
        return
    if isinstance(max_depth, bool) or not isinstance(max_depth, int):
        raise MalformedInputError(f"max_depth must be an integer, not {max_depth!r}")
    if not 0 <= max_depth <= _MAX_DEPTH_ARGUMENT:
        raise MalformedInputError(f"max_depth must be in 0..{_MAX_DEPTH_ARGUMENT}")


def verify_chain(
    chain: Sequence[bytes],
    store: TrustStore,
    *,
    at: dt.datetime | None = None,
    max_depth: int | None = None,
) -> list[bytes]:
    """Verifies a presented chain for TLS server authentication (RFC 5280 section 6).

    ``chain`` is DER certificates, leaf first, then untrusted intermediates in any order.
    ``at`` is the validation time (aware; naive means UTC; default now). ``max_depth`` is the
    most intermediates allowed between leaf and anchor. Returns the verified path, leaf to
    anchor. Raises :class:`certpolicy.ChainError`.

    A chain that verified before (byte for byte, against the same trust store contents and
    ``max_depth``) is answered from the verified-chain cache after its validity period is
    checked at ``at``; see :func:`set_chain_cache_size`.
    """
    if not isinstance(store, TrustStore):
        _check_store(store)
    if isinstance(chain, _NOT_A_CHAIN):
        raise TypeError("chain must be a sequence of DER certificates, not a single value")
    if at is None and max_depth is None:
        return _core.verify_chain(chain, store._core)
    _check_max_depth(max_depth)
    at_seconds = None if at is None else unix_seconds(at)
    return _core.verify_chain(chain, store._core, at=at_seconds, max_depth=max_depth)


def verify_chains(
    chains: Iterable[Sequence[bytes]],
    store: TrustStore,
    *,
    at: dt.datetime | None = None,
    max_depth: int | None = None,
) -> list[list[bytes] | CertPolicyError]:
    """Verifies many presented chains in one call, like :func:`verify_chain` on each.

    The whole batch runs in Rust without the GIL, against one snapshot of ``store``, so
    other Python threads keep running (and threads calling this scale over CPU cores).
    Returns one entry per chain, in order: the verified path (a list of DER bytes, leaf to
    anchor) or the exception :func:`verify_chain` would have raised for that chain (usually a
    :class:`certpolicy.ChainError`), returned, not raised, so one bad chain does not hide
    the others' results::

        for chain, result in zip(chains, cp.verify_chains(chains, store)):
            if isinstance(result, cp.CertPolicyError):
                ...  # rejected: str(result) says why

    Raises ``TypeError`` (before verifying anything) when an item is not a sequence of
    certificates.
    """
    _check_store(store)
    if isinstance(chains, _NOT_A_CHAIN):
        raise TypeError("chains must be an iterable of chains, not a single value")
    items = list(chains)
    for index, chain in enumerate(items):
        if isinstance(chain, _NOT_A_CHAIN):
            raise TypeError(
                f"chains[{index}] must be a sequence of DER certificates, not a single value"
            )
    _check_max_depth(max_depth)
    at_seconds = None if at is None else unix_seconds(at)
    return _core.verify_chains(items, store._core, at=at_seconds, max_depth=max_depth)


class ChainCacheInfo(NamedTuple):
    """Counters of the verified-chain cache (:func:`chain_cache_info`)."""

    hits: int
    """Chains answered from the cache."""
    misses: int
    """Chains verified in full while the cache was on."""
    entries: int
    """Verified chains held now."""
    capacity: int
    """The most verified chains held (rounded up to a multiple of 16)."""
    signature_hits: int
    """Signatures of CA certificates reused for a chain not in the cache."""
    signature_misses: int
    """Signatures of CA certificates checked in full."""
    signature_entries: int
    """Verified signatures held now."""
    signature_capacity: int
    """The most verified signatures held."""


def chain_cache_info() -> ChainCacheInfo:
    """Hit, miss and size counters of the process-wide verified-chain cache."""
    return ChainCacheInfo(*_core.chain_cache_info())


# The verified-chain cache's default byte bound: 1,024 chains of the largest cached size.
DEFAULT_CHAIN_CACHE_BYTES: Final = 1024 * _core.MAX_CACHED_CHAIN_BYTES


def set_chain_cache_size(entries: int, *, max_bytes: int = DEFAULT_CHAIN_CACHE_BYTES) -> None:
    """Sets how many verified chains the process-wide cache keeps (default 1024; 0 turns the
    cache off), and the bytes they may take (default 32 MiB): a chain is cached only up to
    ``MAX_CACHED_CHAIN_BYTES`` (32 KiB), so the cache keeps at most
    ``max_bytes // MAX_CACHED_CHAIN_BYTES`` chains whatever ``entries`` says. It also keeps 4
    times as many verified CA signatures, so a new server certificate under a known CA pays
    for one signature check, not two. Entries that no longer fit are dropped, least recently
    used first."""
    for name, value in (("entries", entries), ("max_bytes", max_bytes)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        if not 0 <= value <= 2**48:
            raise MalformedInputError(f"{name} must be in 0..2**48, not {value}")
    shards = _core.CHAIN_CACHE_SHARDS
    by_bytes = max_bytes // _core.MAX_CACHED_CHAIN_BYTES // shards * shards  # rounded down
    _core.set_chain_cache_size(entries)  # the core checks the count against its own limit
    if by_bytes < entries:
        _core.set_chain_cache_size(by_bytes)


def clear_chain_cache() -> None:
    """Forgets every cached chain and signature (the counters keep counting)."""
    _core.clear_chain_cache()
