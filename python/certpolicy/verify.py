"""Chain verification, hostname verification and certificate summaries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypedDict

from certpolicy import _core
from certpolicy.errors import MalformedInputError
from certpolicy.trust import TrustStore

__all__ = ["CertInfo", "cert_info", "verify_chain", "verify_hostname"]

verify_hostname = _core.verify_hostname


class CertInfo(TypedDict):
    """What :func:`cert_info` returns."""

    subject: str
    issuer: str
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    dns_names: list[str]
    ip_addresses: list[str]
    is_ca: bool
    crl_urls: list[str]
    ocsp_urls: list[str]
    sha256: str


def _unix_seconds(at: dt.datetime) -> int:
    if not isinstance(at, dt.datetime):
        raise TypeError(f"at must be a datetime, not {type(at).__name__}")
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    seconds = int(at.timestamp())
    if seconds < 0:
        raise MalformedInputError(f"validation time {at.isoformat()} is before 1970")
    return seconds


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
    """
    if not isinstance(store, TrustStore):
        raise TypeError(f"store must be a certpolicy.TrustStore, not {type(store).__name__}")
    if isinstance(chain, bytes | str):
        raise TypeError("chain must be a sequence of DER certificates, not a single value")
    if max_depth is not None and max_depth < 0:
        raise MalformedInputError(f"max_depth must be >= 0, not {max_depth}")
    at_seconds = None if at is None else _unix_seconds(at)
    return _core.verify_chain(chain, store._core, at=at_seconds, max_depth=max_depth)


def cert_info(cert: bytes) -> CertInfo:
    """Summarises a DER certificate: names, serial, validity, CA flag, revocation URLs."""
    raw: dict[str, Any] = _core.cert_info(cert)
    utc = dt.UTC
    return CertInfo(
        subject=raw["subject"],
        issuer=raw["issuer"],
        serial=int.from_bytes(raw["serial"], "big", signed=True),
        not_before=dt.datetime.fromtimestamp(raw["not_before"], utc),
        not_after=dt.datetime.fromtimestamp(raw["not_after"], utc),
        dns_names=raw["dns_names"],
        ip_addresses=raw["ip_addresses"],
        is_ca=raw["is_ca"],
        crl_urls=raw["crl_urls"],
        ocsp_urls=raw["ocsp_urls"],
        sha256=raw["sha256"],
    )
