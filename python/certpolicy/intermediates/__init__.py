"""Missing intermediates (AIA chasing, RFC 5280 section 4.2.2.1): a chain whose server left
out an intermediate is completed from the caIssuers ``http://`` URL of the certificate where
it stops. What is fetched is only ever a candidate intermediate for path building, never a
trust anchor, and never from a loopback, link-local or other special address
(:func:`refused_url`, :func:`refused_address`). What URLs served is cached under
``cache_dir/intermediates``, listed and cleared by :func:`intermediate_cache_entries` and
:func:`clear_intermediate_cache`. See docs/trust.md, "Missing intermediates (AIA)"."""

from certpolicy.intermediates._cache import (
    DEFAULT_DISK_BYTES,
    IntermediateCacheEntry,
    clear_intermediate_cache,
    intermediate_cache_directory,
    intermediate_cache_entries,
)
from certpolicy.intermediates._chaser import (
    Completion,
    FetchedIntermediate,
    IntermediateFetcher,
    wants_issuer,
)
from certpolicy.intermediates._fetch import IntermediateFetchError, refused_address, refused_url

__all__ = [
    "DEFAULT_DISK_BYTES",
    "Completion",
    "FetchedIntermediate",
    "IntermediateCacheEntry",
    "IntermediateFetchError",
    "IntermediateFetcher",
    "clear_intermediate_cache",
    "intermediate_cache_directory",
    "intermediate_cache_entries",
    "refused_address",
    "refused_url",
    "wants_issuer",
]
