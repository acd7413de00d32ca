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
    /// A chain error of `kind`.
    pub fn chain(kind: ChainErrorKind, message: impl Into<String>) -> Self {
        Error::Chain {
            kind,
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
        assert_eq!(err.chain_kind(), None);
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
