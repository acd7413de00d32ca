"""The certificate checks themselves: trust stores, chain verification (with the
verified-chain cache), hostname verification and certificate summaries, all in the Rust core."""

from certpolicy.checks._cert_info import CertInfo, CertSummary, cert_info, cert_summary
from certpolicy.checks._keystore import KeystoreContents, read_keystore
from certpolicy.checks._trust import (
    DEFAULT_TRUST_SOURCES,
    TRUST_SOURCES,
    TrustStore,
    resolve_trust_sources,
)
from certpolicy.checks._verify import (
    ChainCacheInfo,
    chain_cache_info,
    clear_chain_cache,
    set_chain_cache_size,
    verify_chain,
    verify_chains,
    verify_hostname,
)

__all__ = [
    "DEFAULT_TRUST_SOURCES",
    "TRUST_SOURCES",
    "CertInfo",
    "CertSummary",
    "ChainCacheInfo",
    "KeystoreContents",
    "TrustStore",
    "cert_info",
    "cert_summary",
    "chain_cache_info",
    "clear_chain_cache",
    "read_keystore",
    "resolve_trust_sources",
    "set_chain_cache_size",
    "verify_chain",
    "verify_chains",
    "verify_hostname",
]
