//! OCSP (RFC 6960): request building and complete response verification.
//!
//! - [`ocsp_request`]: a DER `OCSPRequest` (section 4.1.1) for one certificate, with a SHA-1
//!   `CertID` as responders expect and an optional nonce (section 4.4.1, RFC 8954).
//! - [`check_response`]: verifies a DER `OCSPResponse` (section 4.2) for that certificate:
//!   responseStatus, the BasicOCSPResponse signature by the issuer or by a delegated responder
//!   it authorized (section 4.2.2.2), the `CertID` (SHA-1 or SHA-256), freshness (section
//!   4.2.2.1) and the nonce. Each rejection is an [`Error::Ocsp`] naming the rule that failed.
//!
//! ASN.1 is decoded by RustCrypto's `der` / `x509-cert` / `x509-ocsp`; signatures are checked
//! with ring through rustls-webpki, the same provider as the chain code.

mod certid;
mod request;
mod response;
mod signer;

pub use request::ocsp_request;
pub use response::{CheckOptions, check_response};

use crate::error::Error;

/// What the responder says about the certificate (RFC 6960 section 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    /// Not revoked (at least not as far as the responder knows).
    Good,
    /// Revoked, permanently or on hold.
    Revoked,
    /// The responder does not know the certificate.
    Unknown,
}

impl CertStatus {
    /// The lowercase name used in the Python API: "good", "revoked" or "unknown".
    pub fn as_str(self) -> &'static str {
        match self {
            CertStatus::Good => "good",
            CertStatus::Revoked => "revoked",
            CertStatus::Unknown => "unknown",
        }
    }
}

/// Who signed a verified response (RFC 6960 section 4.2.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// The CA that issued the certificate.
    Issuer,
    /// A delegated responder certificate (its subject, RFC 4514) issued by that CA.
    Delegated(String),
}

/// A verified OCSP answer for one certificate. Times are seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspStatus {
    /// The certificate's status.
    pub status: CertStatus,
    /// When the status was known to be correct.
    pub this_update: i64,
    /// When newer information will be available; `None`: at any time.
    pub next_update: Option<i64>,
    /// When the responder signed the response.
    pub produced_at: i64,
    /// When the certificate was revoked (revoked only).
    pub revoked_at: Option<i64>,
    /// The revocation reason, RFC 5280 section 5.3.1 name (revoked with a reason only).
    pub reason: Option<&'static str>,
    /// Who signed the response.
    pub signer: Signer,
}

/// `Error::Ocsp` with a message.
pub(crate) fn ocsp_error(message: impl Into<String>) -> Error {
    Error::Ocsp(message.into())
}
