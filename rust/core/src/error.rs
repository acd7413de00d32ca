//! The one error type of the core. Each variant maps to one Python exception class in the
//! bindings; messages are complete sentences fragments that name the certificate and reason.

use std::fmt;

/// Why a certificate chain failed to verify (RFC 5280 section 6), in categories a caller can
/// act on without reading the message. Each has a stable name ([`ChainErrorKind::as_str`]),
/// which the bindings pass to Python as `ChainError.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainErrorKind {
    /// No path to a trust anchor (RFC 5280 section 6.1): an unknown issuer, a distrusted
    /// certificate, or path building that gave up within its work budget.
    Untrusted,
    /// A certificate of the path, or the trust anchor, is past its notAfter (RFC 5280 section
    /// 4.1.2.5).
    Expired,
    /// A certificate of the path, or the trust anchor, is before its notBefore (RFC 5280
    /// section 4.1.2.5).
    NotYetValid,
    /// A signature does not verify with its issuer's key, or uses an unsupported or insecure
    /// algorithm (RFC 5280 section 6.1.3 (a)(1)).
    BadSignature,
    /// The path breaks a constraint: the extended key usage (RFC 5280 section 4.2.1.12),
    /// basic constraints or path length (section 4.2.1.9), name constraints (section
    /// 4.2.1.10), the depth limit, or a rule of the certificate profile (RFC 5280 section 4.2,
    /// CA/Browser Forum Baseline Requirements section 7.1).
    Constraints,
    /// A certificate that is not well-formed DER X.509 (RFC 5280 section 4.1), or a chain over
    /// the size budgets of [`crate::limits`].
    Malformed,
    /// No certificate was presented.
    Empty,
}

impl ChainErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ChainErrorKind; 7] = [
        ChainErrorKind::Untrusted,
        ChainErrorKind::Expired,
        ChainErrorKind::NotYetValid,
        ChainErrorKind::BadSignature,
        ChainErrorKind::Constraints,
        ChainErrorKind::Malformed,
        ChainErrorKind::Empty,
    ];

    /// The stable name: `"untrusted"`, `"expired"`, `"not_yet_valid"`, `"bad_signature"`,
    /// `"constraints"`, `"malformed"` or `"empty"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ChainErrorKind::Untrusted => "untrusted",
            ChainErrorKind::Expired => "expired",
            ChainErrorKind::NotYetValid => "not_yet_valid",
            ChainErrorKind::BadSignature => "bad_signature",
            ChainErrorKind::Constraints => "constraints",
            ChainErrorKind::Malformed => "malformed",
            ChainErrorKind::Empty => "empty",
        }
    }
}

impl ChainErrorKind {
    /// The OpenSSL verify code of a failure of this kind when nothing more precise is known:
    /// [`VerifyCode::UnableToGetIssuerCertLocally`] for [`ChainErrorKind::Untrusted`],
    /// [`VerifyCode::CertHasExpired`], [`VerifyCode::CertNotYetValid`],
    /// [`VerifyCode::CertSignatureFailure`], [`VerifyCode::InvalidPurpose`] for
    /// [`ChainErrorKind::Constraints`] (its most common case, the extended key usage of RFC
    /// 5280 section 4.2.1.12), and [`VerifyCode::Unspecified`] for the malformed and the
    /// empty chain. The same table as the Python `ChainError`'s fallback.
    pub const fn default_verify_code(self) -> VerifyCode {
        match self {
            ChainErrorKind::Untrusted => VerifyCode::UnableToGetIssuerCertLocally,
            ChainErrorKind::Expired => VerifyCode::CertHasExpired,
            ChainErrorKind::NotYetValid => VerifyCode::CertNotYetValid,
            ChainErrorKind::BadSignature => VerifyCode::CertSignatureFailure,
            ChainErrorKind::Constraints => VerifyCode::InvalidPurpose,
            ChainErrorKind::Malformed | ChainErrorKind::Empty => VerifyCode::Unspecified,
        }
    }
}

/// OpenSSL's number for why a chain failed (an `X509_V_ERR_*` value, as OpenSSL 3 numbers
/// them), so code written against `ssl.SSLCertVerificationError.verify_code` keeps working.
/// It is finer than [`ChainErrorKind`] and chosen where the precise reason is known (RFC 5280
/// section 6.1 names the checks); a kind's usual code is
/// [`ChainErrorKind::default_verify_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerifyCode {
    /// `X509_V_ERR_UNSPECIFIED` (1): no closer code applies (a malformed or empty chain, a
    /// work budget exhausted, a profile rule OpenSSL does not check).
    Unspecified,
    /// `X509_V_ERR_CERT_SIGNATURE_FAILURE` (7): a signature does not verify with its issuer's
    /// key, or its algorithm is not accepted (RFC 5280 section 6.1.3 (a)(1)).
    CertSignatureFailure,
    /// `X509_V_ERR_CERT_NOT_YET_VALID` (9): before notBefore (RFC 5280 section 4.1.2.5).
    CertNotYetValid,
    /// `X509_V_ERR_CERT_HAS_EXPIRED` (10): after notAfter (RFC 5280 section 4.1.2.5).
    CertHasExpired,
    /// `X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT` (18): the server certificate is self-issued
    /// (the same name as subject and issuer, RFC 5280 section 6.1) and not a trust anchor.
    DepthZeroSelfSignedCert,
    /// `X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN` (19): path building ended at a self-issued
    /// presented certificate, a root that is not a trust anchor (RFC 5280 section 6.1).
    SelfSignedCertInChain,
    /// `X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY` (20): no issuer found, neither presented
    /// nor trusted (RFC 5280 section 6.1: no path to a trust anchor).
    UnableToGetIssuerCertLocally,
    /// `X509_V_ERR_CERT_CHAIN_TOO_LONG` (22): the path needs more intermediates than the depth
    /// limit allows.
    CertChainTooLong,
    /// `X509_V_ERR_PATH_LENGTH_EXCEEDED` (25): a CA's pathLenConstraint is exceeded (RFC 5280
    /// section 4.2.1.9).
    PathLengthExceeded,
    /// `X509_V_ERR_INVALID_PURPOSE` (26): the server certificate is not for TLS server
    /// authentication: its extended key usage (RFC 5280 section 4.2.1.12), or it is a CA
    /// certificate.
    InvalidPurpose,
    /// `X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION` (34): a critical extension that is not
    /// understood (RFC 5280 section 4.2).
    UnhandledCriticalExtension,
    /// `X509_V_ERR_PERMITTED_VIOLATION` (47): a name outside an issuing CA's name constraints
    /// (RFC 5280 section 4.2.1.10). webpki does not tell a permitted-subtree violation from an
    /// excluded one (OpenSSL's 48), so both are this.
    PermittedViolation,
    /// `X509_V_ERR_INVALID_CA` (79 since OpenSSL 3.0, where 24 became
    /// `X509_V_ERR_NO_ISSUER_PUBLIC_KEY`): a certificate that issued another is no valid CA
    /// certificate: not a CA, or its basic constraints or key usage do not allow certificate
    /// signing (RFC 5280 sections 4.2.1.3 and 4.2.1.9).
    InvalidCa,
}

impl VerifyCode {
    /// Every code, in increasing number.
    pub const ALL: [VerifyCode; 13] = [
        VerifyCode::Unspecified,
        VerifyCode::CertSignatureFailure,
        VerifyCode::CertNotYetValid,
        VerifyCode::CertHasExpired,
        VerifyCode::DepthZeroSelfSignedCert,
        VerifyCode::SelfSignedCertInChain,
        VerifyCode::UnableToGetIssuerCertLocally,
        VerifyCode::CertChainTooLong,
        VerifyCode::PathLengthExceeded,
        VerifyCode::InvalidPurpose,
        VerifyCode::UnhandledCriticalExtension,
        VerifyCode::PermittedViolation,
        VerifyCode::InvalidCa,
    ];

    /// OpenSSL's number, as `ssl.SSLCertVerificationError.verify_code` reports it.
    pub const fn number(self) -> i32 {
        match self {
            VerifyCode::Unspecified => 1,
            VerifyCode::CertSignatureFailure => 7,
            VerifyCode::CertNotYetValid => 9,
            VerifyCode::CertHasExpired => 10,
            VerifyCode::DepthZeroSelfSignedCert => 18,
            VerifyCode::SelfSignedCertInChain => 19,
            VerifyCode::UnableToGetIssuerCertLocally => 20,
            VerifyCode::CertChainTooLong => 22,
            VerifyCode::PathLengthExceeded => 25,
            VerifyCode::InvalidPurpose => 26,
            VerifyCode::UnhandledCriticalExtension => 34,
            VerifyCode::PermittedViolation => 47,
            VerifyCode::InvalidCa => 79,
        }
    }

    /// OpenSSL's name for the code, such as `"X509_V_ERR_CERT_HAS_EXPIRED"`.
    pub const fn openssl_name(self) -> &'static str {
        match self {
            VerifyCode::Unspecified => "X509_V_ERR_UNSPECIFIED",
            VerifyCode::CertSignatureFailure => "X509_V_ERR_CERT_SIGNATURE_FAILURE",
            VerifyCode::CertNotYetValid => "X509_V_ERR_CERT_NOT_YET_VALID",
            VerifyCode::CertHasExpired => "X509_V_ERR_CERT_HAS_EXPIRED",
            VerifyCode::DepthZeroSelfSignedCert => "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT",
            VerifyCode::SelfSignedCertInChain => "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN",
            VerifyCode::UnableToGetIssuerCertLocally => {
                "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"
            }
            VerifyCode::CertChainTooLong => "X509_V_ERR_CERT_CHAIN_TOO_LONG",
            VerifyCode::PathLengthExceeded => "X509_V_ERR_PATH_LENGTH_EXCEEDED",
            VerifyCode::InvalidPurpose => "X509_V_ERR_INVALID_PURPOSE",
            VerifyCode::UnhandledCriticalExtension => "X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION",
            VerifyCode::PermittedViolation => "X509_V_ERR_PERMITTED_VIOLATION",
            VerifyCode::InvalidCa => "X509_V_ERR_INVALID_CA",
        }
    }
}

impl fmt::Display for VerifyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.openssl_name(), self.number())
    }
}

impl fmt::Display for ChainErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every way a check or an input can fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The certificate chain could not be verified to a trust anchor (RFC 5280 section 6).
    Chain {
        /// What kind of failure it is.
        kind: ChainErrorKind,
        /// OpenSSL's number for the precise reason.
        verify_code: VerifyCode,
        /// The full explanation.
        message: String,
    },
    /// The certificate is not valid for the requested host (RFC 6125 section 6).
    Hostname {
        /// The full explanation.
        message: String,
        /// The reference identity asked for, as given.
        host: String,
        /// Every name the certificate presents, in certificate order.
        presented: Vec<String>,
    },
    /// Input that is not a well-formed certificate, PEM document or argument.
    MalformedInput(String),
    /// An invalid policy or policy set, or a host no policy can be selected for.
    Policy(String),
    /// A CRL that is malformed, wrongly signed or otherwise unusable (RFC 5280 section 5).
    Crl(String),
    /// An OCSP request that cannot be built or a response that fails verification
    /// (RFC 6960).
    Ocsp(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Chain { message, .. }
            | Error::MalformedInput(message)
            | Error::Policy(message)
            | Error::Crl(message)
            | Error::Ocsp(message) => f.write_str(message),
            Error::Hostname { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// A chain error of `kind`, with the kind's usual verify code
    /// ([`ChainErrorKind::default_verify_code`]).
    pub fn chain(kind: ChainErrorKind, message: impl Into<String>) -> Self {
        Self::chain_with_code(kind, kind.default_verify_code(), message)
    }

    /// A chain error of `kind` whose precise reason is `verify_code`.
    pub fn chain_with_code(
        kind: ChainErrorKind,
        verify_code: VerifyCode,
        message: impl Into<String>,
    ) -> Self {
        Error::Chain {
            kind,
            verify_code,
            message: message.into(),
        }
    }

    /// The kind of a chain error; `None` for every other error.
    pub fn chain_kind(&self) -> Option<ChainErrorKind> {
        match self {
            Error::Chain { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// The OpenSSL verify code of a chain error; `None` for every other error.
    pub fn verify_code(&self) -> Option<VerifyCode> {
        match self {
            Error::Chain { verify_code, .. } => Some(*verify_code),
            _ => None,
        }
    }
}

/// Result alias of the core.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_message() {
        let err = Error::Hostname {
            message: "not valid for a.example".into(),
            host: "a.example".into(),
            presented: vec!["b.example".into()],
        };
        assert_eq!(err.to_string(), "not valid for a.example");
        let chain = Error::chain(ChainErrorKind::Expired, "x");
        assert_eq!(chain.to_string(), "x");
        assert_eq!(chain.chain_kind(), Some(ChainErrorKind::Expired));
        assert_eq!(chain.verify_code(), Some(VerifyCode::CertHasExpired));
        assert_eq!(err.chain_kind(), None);
        assert_eq!(err.verify_code(), None);
        let coded = Error::chain_with_code(
            ChainErrorKind::Constraints,
            VerifyCode::PathLengthExceeded,
            "y",
        );
        assert_eq!(coded.verify_code(), Some(VerifyCode::PathLengthExceeded));
        assert_eq!(coded.chain_kind(), Some(ChainErrorKind::Constraints));
    }

    #[test]
    fn verify_codes_are_openssl_numbers() {
        // OpenSSL 3's include/openssl/x509_vfy.h.
        let table: Vec<(i32, &str)> = VerifyCode::ALL
            .iter()
            .map(|code| (code.number(), code.openssl_name()))
            .collect();
        assert_eq!(
            table,
            [
                (1, "X509_V_ERR_UNSPECIFIED"),
                (7, "X509_V_ERR_CERT_SIGNATURE_FAILURE"),
                (9, "X509_V_ERR_CERT_NOT_YET_VALID"),
                (10, "X509_V_ERR_CERT_HAS_EXPIRED"),
                (18, "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT"),
                (19, "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN"),
                (20, "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"),
                (22, "X509_V_ERR_CERT_CHAIN_TOO_LONG"),
                (25, "X509_V_ERR_PATH_LENGTH_EXCEEDED"),
                (26, "X509_V_ERR_INVALID_PURPOSE"),
                (34, "X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION"),
                (47, "X509_V_ERR_PERMITTED_VIOLATION"),
                (79, "X509_V_ERR_INVALID_CA"),
            ]
        );
        assert_eq!(
            VerifyCode::CertHasExpired.to_string(),
            "X509_V_ERR_CERT_HAS_EXPIRED (10)"
        );
    }

    #[test]
    fn each_kind_has_the_python_default_code() {
        // The table of certpolicy.errors._CHAIN_KIND_VERIFY_CODES.
        let defaults: Vec<(&str, i32)> = ChainErrorKind::ALL
            .iter()
            .map(|kind| (kind.as_str(), kind.default_verify_code().number()))
            .collect();
        assert_eq!(
            defaults,
            [
                ("untrusted", 20),
                ("expired", 10),
                ("not_yet_valid", 9),
                ("bad_signature", 7),
                ("constraints", 26),
                ("malformed", 1),
                ("empty", 1),
            ]
        );
    }

    #[test]
    fn kind_names_are_stable_and_distinct() {
        let names: Vec<&str> = ChainErrorKind::ALL
            .iter()
            .map(|kind| kind.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "untrusted",
                "expired",
                "not_yet_valid",
                "bad_signature",
                "constraints",
                "malformed",
                "empty"
            ]
        );
        assert_eq!(ChainErrorKind::NotYetValid.to_string(), "not_yet_valid");
    }
}
