"""Small helpers every layer shares: atomic writes, bounded caches (memory and disk), UTC
times, flag strings, deadlines, HTTP fetches that can be closed at their deadline,
single-flight calls, and the size limits of the Rust core. Private: nothing here is part of
the public API."""

from certpolicy._util._atomic import atomic_write_bytes
from certpolicy._util._cache import DEFAULT_DISK_BYTES, BlobFiles, CachedValue, MemoryLru
from certpolicy._util._deadline import within
from certpolicy._util._disk import (
    STALE_TEMP_SECONDS,
    DiskEntry,
    DiskLru,
    delete_entries,
    directory_is_ours,
    is_leftover_temp,
    opened_directory,
    read_capped,
    scan_entries,
    sweep_temps,
    touch,
)
from certpolicy._util._flags import parse_flag
from certpolicy._util._http import (
    Fetch,
    FetchCancelled,
    cancellable,
    closable,
    connection_failure,
    content_encoded,
    content_length,
    current_fetch,
)
from certpolicy._util._limits import (
    CLOCK_SKEW,
    CLOCK_SKEW_SECONDS,
    MAX_CRL_BYTES,
    MAX_OCSP_NONCE_BYTES,
    MAX_OCSP_RESPONSE_BYTES,
)
from certpolicy._util._native import Crl, RevokedEntry, core
from certpolicy._util._single_flight import FlightTimeout, SingleFlight
from certpolicy._util._time import as_utc, from_unix, iso_z, unix_seconds

__all__ = [
    "CLOCK_SKEW",
    "CLOCK_SKEW_SECONDS",
    "DEFAULT_DISK_BYTES",
    "MAX_CRL_BYTES",
    "MAX_OCSP_NONCE_BYTES",
    "MAX_OCSP_RESPONSE_BYTES",
    "STALE_TEMP_SECONDS",
    "BlobFiles",
    "CachedValue",
    "Crl",
    "DiskEntry",
    "DiskLru",
    "Fetch",
    "FetchCancelled",
    "FlightTimeout",
    "MemoryLru",
    "RevokedEntry",
    "SingleFlight",
    "as_utc",
    "atomic_write_bytes",
    "cancellable",
    "closable",
    "connection_failure",
    "content_encoded",
    "content_length",
    "core",
    "current_fetch",
    "delete_entries",
    "directory_is_ours",
    "from_unix",
    "is_leftover_temp",
    "iso_z",
    "opened_directory",
    "parse_flag",
    "read_capped",
    "scan_entries",
    "sweep_temps",
    "touch",
    "unix_seconds",
    "within",
]
