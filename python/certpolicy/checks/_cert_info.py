"""Certificate summaries: names, serial, validity, CA flag, revocation and caIssuers URLs."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Final, NamedTuple, TypedDict

from certpolicy._util import core as _core
from certpolicy._util import from_unix

__all__ = ["CertInfo", "CertSummary", "cert_info", "cert_summary"]


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
    ca_issuers_urls: list[str]
    sha256: str


def cert_info(cert: bytes) -> CertInfo:
    """Summarises a DER certificate: names, serial, validity, CA flag, revocation URLs and
    caIssuers URLs (where its issuer's certificate can be fetched)."""
    raw = _core.cert_info(cert)
    return CertInfo(
        subject=raw["subject"],
        issuer=raw["issuer"],
        serial=int.from_bytes(raw["serial"], "big", signed=True),
        not_before=from_unix(raw["not_before"]),
        not_after=from_unix(raw["not_after"]),
        dns_names=raw["dns_names"],
        ip_addresses=raw["ip_addresses"],
        is_ca=raw["is_ca"],
        crl_urls=raw["crl_urls"],
        ocsp_urls=raw["ocsp_urls"],
        ca_issuers_urls=raw["ca_issuers_urls"],
        sha256=raw["sha256"],
    )


class CertSummary(NamedTuple):
    """What the revocation checks need of a certificate (:func:`cert_summary`); immutable."""

    subject: str
    serial: int
    is_ca: bool
    crl_urls: tuple[str, ...]
    ocsp_urls: tuple[str, ...]


# The summaries of recently checked certificates by DER: a connection to a server seen before
# presents the same certificates, and parsing one costs more than the rest of a cached
# revocation answer. Bounded in entries and in the DER bytes they keep (emptied when full).
MAX_SUMMARIES: Final = 1024
MAX_SUMMARY_BYTES: Final = 4 * 1024 * 1024
MAX_SUMMARY_DER: Final = 16 * 1024  # larger certificates are parsed every time
_summaries: dict[bytes, CertSummary] = {}
_summary_bytes = 0
_summary_lock = threading.Lock()


def cert_summary(cert: bytes) -> CertSummary:
    """Subject, serial, CA flag, CRL and OCSP URLs of a DER certificate, as :func:`cert_info`
    gives them, from a small bounded cache of certificates seen before. Raises like
    :func:`cert_info` (failures are not cached)."""
    global _summary_bytes
    plain = type(cert) is bytes  # anything else goes to the core as it is (and its errors)
    summary = _summaries.get(cert) if plain else None
    if summary is not None:
        return summary
    raw = _core.cert_info(cert)
    summary = CertSummary(
        raw["subject"],
        int.from_bytes(raw["serial"], "big", signed=True),
        raw["is_ca"],
        tuple(raw["crl_urls"]),
        tuple(raw["ocsp_urls"]),
    )
    if plain and len(cert) <= MAX_SUMMARY_DER:
        key = cert
        with _summary_lock:
            if len(_summaries) >= MAX_SUMMARIES or _summary_bytes + len(key) > MAX_SUMMARY_BYTES:
                _summaries.clear()
                _summary_bytes = 0
            if key not in _summaries:
                _summaries[key] = summary
                _summary_bytes += len(key)
    return summary
