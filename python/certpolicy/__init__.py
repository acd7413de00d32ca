"""certpolicy: per-endpoint certificate check policies for Python HTTPS clients.

Chain verification (rustls-webpki), RFC 6125 hostname checks, CRL and OCSP parsing and
policy matching run in a Rust core. Every public name is importable from here; the
subpackages (checks, policy, revocation, tls, cli) hold the implementation. See docs/.
"""

from certpolicy._core import __version__
from certpolicy.checks import (
    CertInfo,
    ChainCacheInfo,
    TrustStore,
    cert_info,
    chain_cache_info,
    clear_chain_cache,
    set_chain_cache_size,
    verify_chain,
    verify_chains,
    verify_hostname,
)
from certpolicy.engine import Engine
from certpolicy.errors import (
    CertificateCheckError,
    CertificateRevokedError,
    CertPolicyError,
    ChainError,
    ConfigError,
    CrlError,
    HostnameMismatchError,
    KeystoreError,
    MalformedInputError,
    OcspError,
    PolicyError,
    RevocationUnavailableError,
)
from certpolicy.policy import AgentConfig, Policy, PolicySet, Selection, SyncResult
from certpolicy.report import CheckResult, Report
from certpolicy.revocation import (
    Crl,
    OcspStatus,
    Retry,
    RevocationConfig,
    RevokedEntry,
    ocsp_check_response,
    ocsp_request,
)
from certpolicy.tls import (
    PolicySSLContext,
    certificate_check_error,
    extract_from_ssl,
    inject_into_ssl,
    requests_session,
)

__all__ = [
    "AgentConfig",
    "CertInfo",
    "CertPolicyError",
    "CertificateCheckError",
    "CertificateRevokedError",
    "ChainCacheInfo",
    "ChainError",
    "CheckResult",
    "ConfigError",
    "Crl",
    "CrlError",
    "Engine",
    "HostnameMismatchError",
    "KeystoreError",
    "MalformedInputError",
    "OcspError",
    "OcspStatus",
    "Policy",
    "PolicyError",
    "PolicySSLContext",
    "PolicySet",
    "Report",
    "Retry",
    "RevocationConfig",
    "RevocationUnavailableError",
    "RevokedEntry",
    "Selection",
    "SyncResult",
    "TrustStore",
    "__version__",
    "cert_info",
    "certificate_check_error",
    "chain_cache_info",
    "clear_chain_cache",
    "extract_from_ssl",
    "inject_into_ssl",
    "ocsp_check_response",
    "ocsp_request",
    "requests_session",
    "set_chain_cache_size",
    "verify_chain",
    "verify_chains",
    "verify_hostname",
]
