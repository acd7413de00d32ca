"""certpolicy: per-endpoint certificate check policies for Python HTTPS clients.

Chain verification (rustls-webpki), RFC 6125 hostname checks and certificate summaries run in
a Rust core; see the README for the full API.
"""

from certpolicy._core import __version__
from certpolicy.config import AgentConfig
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
from certpolicy.policy import Policy, PolicySet, Selection
from certpolicy.report import CheckResult, Report
from certpolicy.revocation import Retry, RevocationConfig
from certpolicy.sync import SyncResult
from certpolicy.trust import TrustStore
from certpolicy.verify import CertInfo, cert_info, verify_chain, verify_hostname

__all__ = [
    "AgentConfig",
    "CertInfo",
    "CertPolicyError",
    "CertificateCheckError",
    "CertificateRevokedError",
    "ChainError",
    "CheckResult",
    "ConfigError",
    "CrlError",
    "Engine",
    "HostnameMismatchError",
    "MalformedInputError",
    "OcspError",
    "Policy",
    "PolicyError",
    "PolicySet",
    "Report",
    "Retry",
    "RevocationConfig",
    "RevocationUnavailableError",
    "Selection",
    "SyncResult",
    "TrustStore",
    "__version__",
    "cert_info",
    "verify_chain",
    "verify_hostname",
]
