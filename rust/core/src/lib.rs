//! certpolicy-core: the pure-Rust checks behind the `certpolicy` Python package.
//!
//! - [`chain`]: certification path validation for TLS servers (RFC 5280 section 6), built on
//!   rustls-webpki with explicit work budgets ([`limits`]).
//! - [`hostname`]: server identity checks (RFC 6125 section 6).
//! - [`certinfo`]: certificate summaries (RFC 5280 section 4).
//! - [`trust`]: trust anchors, parsed once.
//! - [`policy`]: certificate check policies and their compiled host/IP matcher.
//! - [`crl`] and [`ocsp`]: revocation (RFC 5280 section 5, RFC 6960).
//! - [`decision`]: the whole connection decision from what is already known (policy, cached
//!   chain, hostname, remembered revocation answers) and the decision counters.
//! - [`aia`]: what a caIssuers URL serves (RFC 5280 section 4.2.2.1), for missing intermediates.
//!
//! Internal building blocks: `der` (a minimal DER reader for certificate fields, RFC 5280
//! section 4.1), `lru` (the sharded LRU map behind the chain cache) and `profile` (the RFC 5280
//! and CA/Browser Forum profile rules run on every candidate path).
//!
//! No Python here: the `certpolicy-py` crate binds this to Python.
#![forbid(unsafe_code)]

pub mod aia;
pub mod certinfo;
pub mod chain;
pub mod crl;
pub mod decision;
mod der;
mod dn;
pub mod error;
pub mod hostname;
pub mod keystore;
pub mod limits;
mod lru;
pub mod ocsp;
pub mod policy;
mod profile;
mod sigalgs;
mod timefmt;
pub mod trust;

#[cfg(test)]
mod testdata;

pub use aia::{BodyFormat, CaIssuers, parse_ca_issuers};
pub use certinfo::{CertInfo, cert_info};
pub use chain::{VerifyOptions, verify_chain};
pub use error::{ChainErrorKind, Error, Result, VerifyCode};
pub use hostname::{ReferenceId, verify_hostname};
pub use keystore::{Keystore, KeystoreError, KeystoreErrorKind, KeystoreKind, read_keystore};
pub use trust::{TrustStore, parse_pem_certificates, sha256};
