"""Type stubs of the Rust extension module certpolicy._core."""

from collections.abc import Sequence
from typing import Any, final

__all__ = [
    "PolicyMatcher",
    "TrustStore",
    "__version__",
    "cert_info",
    "verify_chain",
    "verify_hostname",
]
__version__: str

@final
class PolicyMatcher:
    def __new__(
        cls,
        specs: Sequence[tuple[str, str, list[str], list[str], bool, int]],
        policies: Sequence[Any],
        fallback: Any,
    ) -> PolicyMatcher: ...
    def select(
        self, host: str, ip: object | None = None, port: int | None = None
    ) -> tuple[Any, int, str | None]: ...
    def interval_counts(self) -> tuple[int, int]: ...
    def __len__(self) -> int: ...

@final
class TrustStore:
    def __init__(self) -> None: ...
    def add_der(self, data: bytes) -> bool: ...
    def add_pem(self, data: bytes) -> int: ...
    def __len__(self) -> int: ...

def verify_chain(
    chain: Sequence[bytes],
    store: TrustStore,
    *,
    at: int | None = None,
    max_depth: int | None = None,
) -> list[bytes]: ...
def verify_hostname(cert: bytes, host: str, *, allow_common_name: bool = False) -> None: ...
def cert_info(cert: bytes) -> dict[str, Any]: ...

# --- CRL (rust/bindings/src/crl.rs) ---

# --- OCSP (rust/bindings/src/ocsp.rs) ---
