"""CRL revocation (RFC 5280 section 5): :class:`Crl` and :class:`RevokedEntry` from the Rust
core, and :class:`CrlChecker`, the "crl" method, with its downloader, disk cache and
background refresh."""

from certpolicy._util import Crl, RevokedEntry
from certpolicy.revocation.crl._cache import CrlDiskCache
from certpolicy.revocation.crl._checker import CrlChecker
from certpolicy.revocation.crl._fetch import CrlFetchError, Fetched, Fetcher, Progress

__all__ = [
    "Crl",
    "CrlChecker",
    "CrlDiskCache",
    "CrlFetchError",
    "Fetched",
    "Fetcher",
    "Progress",
    "RevokedEntry",
]
