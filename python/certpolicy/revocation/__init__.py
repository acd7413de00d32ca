"""Revocation (DESIGN.md "Revocation"): settings, the method-order checker over a verified
path, and the two methods, :mod:`~certpolicy.revocation.crl` and
:mod:`~certpolicy.revocation.ocsp`, with their fetching, caching and refresh; the disk
caches listed and cleared (:func:`disk_cache_entries`, :func:`clear_disk_cache`)."""

from certpolicy.revocation._answers import AnswerStatus, MethodAnswer, PathAnswer, RevocationMethod
from certpolicy.revocation._checker import RevocationChecker, default_methods
from certpolicy.revocation._config import METHODS, Method, Retry, RevocationConfig
from certpolicy.revocation._disk_cache import (
    clear_disk_cache,
    disk_cache_directory,
    disk_cache_entries,
)
from certpolicy.revocation._disk_entry import DISK_CACHES, DiskCache, DiskCacheEntry
from certpolicy.revocation.crl import Crl, CrlChecker, RevokedEntry
from certpolicy.revocation.ocsp import OcspChecker, OcspStatus, ocsp_check_response, ocsp_request

__all__ = [
    "DISK_CACHES",
    "METHODS",
    "AnswerStatus",
    "Crl",
    "CrlChecker",
    "DiskCache",
    "DiskCacheEntry",
    "Method",
    "MethodAnswer",
    "OcspChecker",
    "OcspStatus",
    "PathAnswer",
    "Retry",
    "RevocationChecker",
    "RevocationConfig",
    "RevocationMethod",
    "RevokedEntry",
    "clear_disk_cache",
    "default_methods",
    "disk_cache_directory",
    "disk_cache_entries",
    "ocsp_check_response",
    "ocsp_request",
]
