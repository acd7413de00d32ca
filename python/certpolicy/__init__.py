"""certpolicy: per-endpoint certificate check policies for Python HTTPS clients.

Chain verification (rustls-webpki), RFC 6125 hostname checks and certificate summaries run in
a Rust core; see the README for the full API.
"""

from certpolicy._core import __version__
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
from certpolicy.trust import TrustStore
from certpolicy.verify import CertInfo, cert_info, verify_chain, verify_hostname

__all__ = [
    "CertInfo",
    "CertPolicyError",
    "CertificateCheckError",
    "CertificateRevokedError",
    "ChainError",
    "ConfigError",
    "CrlError",
    "HostnameMismatchError",
    "MalformedInputError",
    "OcspError",
    "PolicyError",
    "RevocationUnavailableError",
    "TrustStore",
    "__version__",
    "cert_info",
    "verify_chain",
    "verify_hostname",
]
