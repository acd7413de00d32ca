//! `certpolicy._core`: the thin PyO3 layer over certpolicy-core. Inputs are extracted into
//! owned or GIL-independent data, heavy work runs with the GIL released, and every core error
//! becomes one typed `certpolicy.errors` exception.
//!
//! Everything the module holds is registered in one place, the `#[pymodule]` below: classes,
//! functions and constants alike, each with `#[pymodule_export]`.
#![forbid(unsafe_code)]

mod aia;
mod crl;
mod decision;
mod errors;
mod keystore;
mod ocsp;
mod policy;
mod trust_store;
mod verify;

use pyo3::prelude::*;

#[pymodule]
mod _core {
    use certpolicy_core::limits;

    #[pymodule_export]
    use super::aia::parse_ca_issuers;
    #[pymodule_export]
    use super::crl::{Crl, RevokedEntry};
    #[pymodule_export]
    use super::decision::{ChangeCounter, CheckCounters, Decider, Decision, UsageFlags};
    #[pymodule_export]
    use super::keystore::read_keystore;
    #[pymodule_export]
    use super::ocsp::{OcspAnswer, ocsp_check_response, ocsp_request};
    #[pymodule_export]
    use super::policy::PolicyMatcher;
    #[pymodule_export]
    use super::trust_store::TrustStore;
    #[pymodule_export]
    use super::verify::{
        _signature_floor, cert_info, chain_cache_info, clear_chain_cache, set_chain_cache_size,
        verify_chain, verify_chains, verify_hostname,
    };

    /// The version of the extension (the Rust workspace's version).
    #[pymodule_export]
    #[expect(non_upper_case_globals, reason = "Python's module attribute name")]
    const __version__: &str = env!("CARGO_PKG_VERSION");

    // Work budgets of certpolicy-core (`certpolicy_core::limits`), exported once so that the
    // Python layer checks its inputs against the very numbers the core enforces.

    /// The largest single certificate accepted, in DER bytes.
    #[pymodule_export]
    const MAX_CERT_BYTES: usize = limits::MAX_CERT_BYTES;
    /// The most certificates a presented chain may hold (leaf plus intermediates).
    #[pymodule_export]
    const MAX_PRESENTED_CERTS: usize = limits::MAX_PRESENTED_CERTS;
    /// The largest OCSP response accepted, in DER bytes (RFC 6960 section 4.2.1).
    #[pymodule_export]
    const MAX_OCSP_RESPONSE_BYTES: usize = limits::MAX_OCSP_RESPONSE_BYTES;
    /// The longest OCSP nonce accepted, in octets (RFC 8954 section 2.1).
    #[pymodule_export]
    const MAX_OCSP_NONCE_BYTES: usize = limits::MAX_OCSP_NONCE_BYTES;
    /// Clock skew allowed against an OCSP responder, in seconds (RFC 6960 section 4.2.2.1).
    #[pymodule_export]
    const OCSP_CLOCK_SKEW_SECONDS: u64 = limits::OCSP_CLOCK_SKEW_SECONDS;
    /// The largest caIssuers body accepted, in bytes (RFC 5280 section 4.2.2.1).
    #[pymodule_export]
    const MAX_AIA_BODY_BYTES: usize = limits::MAX_AIA_BODY_BYTES;
    /// The largest CRL accepted, in DER bytes (RFC 5280 section 5).
    #[pymodule_export]
    const MAX_CRL_BYTES: usize = limits::MAX_CRL_BYTES;
    /// The largest presented chain the verified-chain cache keeps, in DER bytes: what one
    /// entry can cost, so a byte bound on the cache is a bound on its entries.
    #[pymodule_export]
    const MAX_CACHED_CHAIN_BYTES: usize = certpolicy_core::chain::MAX_CACHED_CHAIN_BYTES;
    /// The largest keystore file read (JKS, JCEKS, PKCS#12), in bytes.
    #[pymodule_export]
    const MAX_KEYSTORE_BYTES: usize = certpolicy_core::keystore::MAX_KEYSTORE_BYTES;
    /// Distinct policy names the engine's counters count apart at most.
    #[pymodule_export]
    const MAX_COUNTED_POLICIES: usize = certpolicy_core::decision::MAX_COUNTED_POLICIES;
    /// Where the policy names past `MAX_COUNTED_POLICIES` are counted.
    #[pymodule_export]
    const OTHER_POLICIES: &str = certpolicy_core::decision::OTHER_POLICIES;
    /// The verified-chain cache's shards: its capacity is a multiple of this.
    #[pymodule_export]
    const CHAIN_CACHE_SHARDS: usize = certpolicy_core::chain::SHARDS;
}
