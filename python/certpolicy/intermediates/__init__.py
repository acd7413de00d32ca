"""Missing intermediates (AIA chasing, RFC 5280 section 4.2.2.1): a chain whose server left
out an intermediate is completed from the caIssuers ``http://`` URL of the certificate where
it stops. What is fetched is only ever a candidate intermediate for path building, never a
trust anchor. See docs/trust.md, "Missing intermediates (AIA)"."""

from certpolicy.intermediates._chaser import (
    Completion,
    FetchedIntermediate,
    IntermediateFetcher,
    wants_issuer,
)
from certpolicy.intermediates._fetch import IntermediateFetchError, refused_url

__all__ = [
    "Completion",
    "FetchedIntermediate",
    "IntermediateFetchError",
    "IntermediateFetcher",
    "refused_url",
    "wants_issuer",
]
