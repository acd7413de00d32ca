"""OCSP revocation (RFC 6960): requests and complete response verification in the Rust core,
and :class:`OcspChecker`, the "ocsp" method, with its fetcher and caches."""

from certpolicy.revocation.ocsp._cache import OcspDiskCache
from certpolicy.revocation.ocsp._checker import OcspChecker
from certpolicy.revocation.ocsp._fetch import OcspFetcher, OcspFetchError
from certpolicy.revocation.ocsp._status import (
    CertStatus,
    OcspStatus,
    new_nonce,
    ocsp_check_response,
    ocsp_request,
)

__all__ = [
    "CertStatus",
    "OcspChecker",
    "OcspDiskCache",
    "OcspFetchError",
    "OcspFetcher",
    "OcspStatus",
    "new_nonce",
    "ocsp_check_response",
    "ocsp_request",
]
