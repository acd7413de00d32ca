"""certpolicy: per-endpoint certificate check policies for Python HTTPS clients.

Chain verification (rustls-webpki), RFC 6125 hostname checks and certificate summaries run in
a Rust core; see the README for the full API.
"""

from certpolicy._core import __version__
from certpolicy.config import AgentConfig
from certpolicy.crl import Crl, RevokedEntry
from certpolicy.engine import Engine
from certpolicy.errors import (
    CertificateCheckError,
    CertificateRevokedError,
    CertPolicyError,
    ChainError,
    ConfigError,
    CrlError,
    HostnameMismatchError,
    MalformedInputError,
    OcspError,
    PolicyError,
    RevocationUnavailableError,
)
from certpolicy.integrations import certificate_check_error, requests_session
from certpolicy.ocsp import OcspStatus, ocsp_check_response, ocsp_request
from certpolicy.policy import Policy, PolicySet, Selection
from certpolicy.report import CheckResult, Report
from certpolicy.revocation import Retry, RevocationConfig
from certpolicy.sslcontext import PolicySSLContext
from certpolicy.sync import SyncResult
from certpolicy.trust import TrustStore
from certpolicy.verify import (
    CertInfo,
    ChainCacheInfo,
    cert_info,
    chain_cache_info,
    clear_chain_cache,
    set_chain_cache_size,
    verify_chain,
    verify_chains,
    verify_hostname,
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
    "ocsp_check_response",
    "ocsp_request",
    "requests_session",
    "set_chain_cache_size",
    "verify_chain",
    "verify_chains",
    "verify_hostname",
]
