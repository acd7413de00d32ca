//! The one error type of the bindings and its single mapping onto the Python exception
//! hierarchy, which lives in `certpolicy.errors` (so `CertificateCheckError` can subclass
//! `ssl.SSLCertVerificationError`).

use pyo3::prelude::*;
use pyo3::types::PyInt;

pyo3::import_exception!(certpolicy.errors, ChainError);
pyo3::import_exception!(certpolicy.errors, HostnameMismatchError);
pyo3::import_exception!(certpolicy.errors, MalformedInputError);
pyo3::import_exception!(certpolicy.errors, PolicyError);
pyo3::import_exception!(certpolicy.errors, CrlError);
pyo3::import_exception!(certpolicy.errors, OcspError);

/// Everything the bindings can fail with.
#[derive(Debug)]
pub enum Error {
    /// A failure reported by certpolicy-core.
    Core(certpolicy_core::Error),
    /// A Python exception raised while converting values.
    Python(PyErr),
}

impl From<certpolicy_core::Error> for Error {
    fn from(err: certpolicy_core::Error) -> Self {
        Error::Core(err)
    }
}

impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        use certpolicy_core::Error as Core;
        match err {
            // `ChainError(message, kind, verify_code)`: the kind is one of
            // ChainErrorKind::as_str's names, the code OpenSSL's X509_V_ERR number.
            Error::Core(Core::Chain {
                kind,
                verify_code,
                message,
            }) => ChainError::new_err((message, kind.as_str(), verify_code.number())),
            Error::Core(Core::Hostname {
                message,
                host,
                presented,
            }) => HostnameMismatchError::new_err((message, host, presented)),
            Error::Core(Core::MalformedInput(message)) => MalformedInputError::new_err((message,)),
            Error::Core(Core::Policy(message)) => PolicyError::new_err((message,)),
            Error::Core(Core::Crl(message)) => CrlError::new_err((message,)),
            Error::Core(Core::Ocsp(message)) => OcspError::new_err((message,)),
            Error::Python(err) => err,
        }
    }
}

/// Result alias for binding functions.
pub type Result<T> = std::result::Result<T, Error>;

/// An optional integer argument that must fit a `u64` (times in seconds, depths, sizes): `None`
/// stays `None`; an int outside 0..=2**64-1 (negative, or 2**70) is a `MalformedInputError`
/// naming the argument, not PyO3's untyped `OverflowError`; a value that is no int at all is
/// PyO3's `TypeError`, as for any argument of the wrong type.
pub fn u64_arg(name: &str, value: Option<&Bound<'_, PyAny>>) -> Result<Option<u64>> {
    let Some(value) = value else {
        return Ok(None);
    };
    if !value.is_instance_of::<PyInt>() {
        return value.extract::<u64>().map(Some).map_err(Error::Python);
    }
    value.extract::<u64>().map(Some).map_err(|_| {
        Error::Core(certpolicy_core::Error::MalformedInput(format!(
            "{name} must be an integer from 0 to 2**64-1, not {}",
            value
                .str()
                .map_or_else(|_| "?".to_owned(), |text| text.to_string())
        )))
    })
}

/// Like [`u64_arg`], for an argument that is a count of things in memory (`usize`).
pub fn usize_arg(name: &str, value: Option<&Bound<'_, PyAny>>) -> Result<Option<usize>> {
    u64_arg(name, value)?
        .map(|value| {
            usize::try_from(value).map_err(|_| {
                Error::Core(certpolicy_core::Error::MalformedInput(format!(
                    "{name} must be at most {}, not {value}",
                    usize::MAX
                )))
            })
        })
        .transpose()
}
