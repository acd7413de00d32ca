//! The one error type of the bindings and its single mapping onto the Python exception
//! hierarchy, which lives in `certpolicy.errors` (so `CertificateCheckError` can subclass
//! `ssl.SSLCertVerificationError`).

use pyo3::PyErr;

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
            // `ChainError(message, kind)`: the kind is one of ChainErrorKind::as_str's names.
            Error::Core(Core::Chain { kind, message }) => {
                ChainError::new_err((message, kind.as_str()))
            }
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
