"""Certificate summaries: names, serial, validity, CA flag, revocation and caIssuers URLs."""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

from certpolicy._util import core as _core
from certpolicy._util import from_unix

__all__ = ["CertInfo", "cert_info"]


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
