//! The one error type of the core. Each variant maps to one Python exception class in the
//! bindings; messages are complete sentences fragments that name the certificate and reason.

use std::fmt;

/// Every way a check or an input can fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The certificate chain could not be verified to a trust anchor (RFC 5280 section 6).
    Chain(String),
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
            Error::Chain(message)
            | Error::MalformedInput(message)
            | Error::Policy(message)
            | Error::Crl(message)
            | Error::Ocsp(message) => f.write_str(message),
            Error::Hostname { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

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
        assert_eq!(Error::Chain("x".into()).to_string(), "x");
    }
}
