"""Type stubs of the Rust extension module certpolicy._core."""

import datetime
from collections.abc import Sequence
from typing import Any, Final, TypedDict, final, type_check_only

from certpolicy.errors import CertPolicyError

__all__ = [
    "MAX_CERT_BYTES",
    "MAX_COUNTED_POLICIES",
    "MAX_PRESENTED_CERTS",
    "OTHER_POLICIES",
    "ChangeCounter",
    "CheckCounters",
    "Decider",
    "Decision",
    "PolicyMatcher",
    "TrustStore",
    "UsageFlags",
    "__version__",
    "_signature_floor",
    "cert_info",
    "chain_cache_info",
    "clear_chain_cache",
    "set_chain_cache_size",
    "verify_chain",
    "verify_chains",
    "verify_hostname",
]
__version__: str

# --- work budgets of certpolicy-core (rust/core/src/limits.rs), exported once ---

MAX_CERT_BYTES: Final[int]
MAX_PRESENTED_CERTS: Final[int]
MAX_COUNTED_POLICIES: Final[int]
OTHER_POLICIES: Final[str]

@final
class PolicyMatcher:
    def __new__(
        cls,
        specs: Sequence[
            tuple[str, str, list[str], list[str], bool, int, tuple[bool, bool, bool, bool, bool]]
        ],
        policies: Sequence[Any],
        fallback: Any,
    ) -> PolicyMatcher: ...
    def select(
        self, host: str, ip: object | None = None, port: int | None = None
    ) -> tuple[Any, int, str | None]: ...
    def select_policy(
        self, host: str, ip: object | None = None, port: int | None = None
    ) -> Any: ...
    def select_connection(
        self,
        host: str,
        ip: object | None = None,
        port: int | None = None,
        trust_peer_ip: bool = False,
    ) -> tuple[Any, int, str | None, tuple[Any, int, str | None] | None]: ...
    def interval_counts(self) -> tuple[int, int]: ...
    def __len__(self) -> int: ...

@final
class ChangeCounter:
    def __new__(cls) -> ChangeCounter: ...
    def bump(self) -> None: ...
    @property
    def value(self) -> int: ...

@final
class CheckCounters:
    def __new__(cls) -> CheckCounters: ...
    def record(self, policy: str, verdict: str, codes: list[str]) -> None: ...
    def snapshot(
        self,
    ) -> tuple[
        tuple[int, int, int, int],
        list[tuple[str, tuple[int, int, int, int]]],
        list[tuple[str, int]],
    ]: ...

@final
class Decision:
    @property
    def policy(self) -> Any: ...
    @property
    def reason(self) -> tuple[int, str | None]: ...
    @property
    def chain(self) -> tuple[bytes, ...]: ...
    @property
    def verified_path(self) -> tuple[bytes, ...] | None: ...
    @property
    def revocation_state(self) -> str: ...
    @property
    def revocation(self) -> Any: ...

@final
class UsageFlags:
    def __new__(cls) -> UsageFlags: ...
    def take(self, url: str) -> bool: ...
    def __len__(self) -> int: ...

@final
class Decider:
    def __new__(
        cls,
        store: TrustStore,
        counters: CheckCounters,
        changes: Sequence[ChangeCounter] | None = None,
        crl_usage: UsageFlags | None = None,
    ) -> Decider: ...
    def decide(
        self,
        matcher: PolicyMatcher,
        chain: object,
        host: object,
        ip: object | None,
        port: object | None,
        trust_peer_ip: bool,
    ) -> Decision | None: ...
    @property
    def revocation_generation(self) -> int | None: ...
    def remember_revocation(
        self,
        chain: Sequence[bytes],
        answer: Any,
        until: float,
        generation: int,
        crl_urls: Sequence[str] = ...,
    ) -> bool: ...
    @property
    def reused_verdicts(self) -> int: ...
    def forget_revocation(self) -> None: ...
    def remembered(self) -> tuple[int, int]: ...

@final
class TrustStore:
    def __init__(self) -> None: ...
    def add_der(self, data: bytes) -> bool: ...
    def add_pem(self, data: bytes) -> int: ...
    def certificates(self) -> list[bytes]: ...
    @property
    def generation(self) -> int: ...
    def __len__(self) -> int: ...

# verify_chain, verify_chains and ocsp_check_response raise MalformedInputError for an `at`,
# `max_depth` or `max_age` int outside 0..2**64-1 (TypeError for a value that is no int).
def verify_chain(
    chain: Sequence[bytes],
    store: TrustStore,
    *,
    at: int | None = None,
    max_depth: int | None = None,
) -> list[bytes]: ...
def verify_hostname(cert: bytes, host: str, *, allow_common_name: bool = False) -> None: ...

# The raw summary of `cert_info` (rust/bindings/src/verify.rs, from
# certpolicy_core::CertInfo); certpolicy's own `cert_info` converts `serial` (DER INTEGER
# content octets, big-endian two's complement) to an int and the validity times (seconds
# since the epoch) to aware datetimes. Stub-only: no such class exists at runtime.
@type_check_only
class CertInfo(TypedDict):
    subject: str
    issuer: str
    serial: bytes
    not_before: int
    not_after: int
    dns_names: list[str]
    ip_addresses: list[str]
    is_ca: bool
    crl_urls: list[str]
    ocsp_urls: list[str]
    ca_issuers_urls: list[str]
    sha256: str

def cert_info(cert: bytes) -> CertInfo: ...

# --- chain cache and batch (rust/bindings/src/verify.rs) ---

def verify_chains(
    chains: Sequence[Sequence[bytes]],
    store: TrustStore,
    *,
    at: int | None = None,
    max_depth: int | None = None,
) -> list[list[bytes] | CertPolicyError]: ...
def chain_cache_info() -> tuple[int, int, int, int, int, int, int, int]: ...
def set_chain_cache_size(entries: int) -> None: ...
def clear_chain_cache() -> None: ...
def _signature_floor(path: Sequence[bytes]) -> int: ...

# --- CRL (rust/bindings/src/crl.rs) ---

__all__ += ["CHAIN_CACHE_SHARDS", "MAX_CACHED_CHAIN_BYTES", "MAX_CRL_BYTES", "Crl", "RevokedEntry"]

MAX_CRL_BYTES: Final[int]
MAX_CACHED_CHAIN_BYTES: Final[int]
CHAIN_CACHE_SHARDS: Final[int]

@final
class Crl:
    @staticmethod
    def from_der(data: bytes, issuer: bytes | None = None) -> Crl: ...
    @staticmethod
    def from_pem(data: bytes | str, issuer: bytes | None = None) -> Crl: ...
    def verify(self, issuer: bytes) -> None: ...
    def check_scope(self, cert: bytes) -> None: ...
    @property
    def issuer(self) -> str: ...
    @property
    def this_update(self) -> datetime.datetime: ...
    @property
    def next_update(self) -> datetime.datetime | None: ...
    @property
    def number(self) -> int | None: ...
    # lookup raises certpolicy.errors.MalformedInputError when serial is not an int;
    # `x in crl` is False for any x that is not an int (no serial number, so in no CRL).
    def lookup(self, serial: int) -> RevokedEntry | None: ...
    def __contains__(self, serial: object, /) -> bool: ...
    def __len__(self) -> int: ...
    def index_bytes(self) -> int: ...

@final
class RevokedEntry:
    @property
    def serial(self) -> int: ...
    @property
    def revoked_at(self) -> datetime.datetime: ...
    @property
    def reason(self) -> str | None: ...

# --- OCSP (rust/bindings/src/ocsp.rs) ---

__all__ += [
    "MAX_OCSP_NONCE_BYTES",
    "MAX_OCSP_RESPONSE_BYTES",
    "OCSP_CLOCK_SKEW_SECONDS",
    "OcspAnswer",
    "ocsp_check_response",
    "ocsp_request",
]

OCSP_CLOCK_SKEW_SECONDS: Final[int]
MAX_OCSP_RESPONSE_BYTES: Final[int]
MAX_OCSP_NONCE_BYTES: Final[int]

@final
class OcspAnswer:
    @property
    def status(self) -> str: ...
    @property
    def this_update(self) -> int: ...
    @property
    def next_update(self) -> int | None: ...
    @property
    def produced_at(self) -> int: ...
    @property
    def revoked_at(self) -> int | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def responder(self) -> str | None: ...

def ocsp_request(cert: bytes, issuer: bytes, *, nonce: bytes | None = None) -> bytes: ...
def ocsp_check_response(
    response: bytes,
    cert: bytes,
    issuer: bytes,
    *,
    at: int | None = None,
    nonce: bytes | None = None,
    max_age: int | None = None,
) -> OcspAnswer: ...

# --- keystores (rust/bindings/src/keystore.rs) ---

__all__ += ["MAX_KEYSTORE_BYTES", "read_keystore"]

MAX_KEYSTORE_BYTES: Final[int]

# (kind: "jks" | "jceks" | "pkcs12", integrity_checked, [(alias, DER)], [(alias, reason)]).
# Raises certpolicy.errors.MalformedInputError whose `keystore_error` attribute is
# "malformed", "integrity", "password_required", "unsupported" or "too_costly".
def read_keystore(
    data: bytes, password: str | None = None
) -> tuple[str, bool, list[tuple[str | None, bytes]], list[tuple[str | None, str]]]: ...

# --- caIssuers bodies (rust/bindings/src/aia.rs) ---

__all__ += ["MAX_AIA_BODY_BYTES", "parse_ca_issuers"]

MAX_AIA_BODY_BYTES: Final[int]

# (format: "certificate" | "pkcs7" | "pem", DER certificates, never empty). Raises
# certpolicy.errors.MalformedInputError for anything else.
def parse_ca_issuers(body: bytes) -> tuple[str, list[bytes]]: ...
