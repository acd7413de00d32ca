//! OCSP bindings: request building and response verification (`certpolicy.ocsp` wraps them).

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

use certpolicy_core::ocsp::{self, CheckOptions, Signer};

use crate::errors::{Result, u64_arg};

/// A verified OCSP answer; times are seconds since the Unix epoch. `certpolicy.OcspStatus`
/// turns it into datetimes.
#[pyclass(frozen, module = "certpolicy._core", name = "OcspAnswer")]
pub struct OcspAnswer {
    /// "good", "revoked" or "unknown".
    #[pyo3(get)]
    status: &'static str,
    #[pyo3(get)]
    this_update: i64,
    #[pyo3(get)]
    next_update: Option<i64>,
    #[pyo3(get)]
    produced_at: i64,
    #[pyo3(get)]
    revoked_at: Option<i64>,
    /// RFC 5280 reason name, e.g. "keyCompromise".
    #[pyo3(get)]
    reason: Option<&'static str>,
    /// The delegated responder's subject, or None when the issuer signed.
    #[pyo3(get)]
    responder: Option<String>,
}

impl From<ocsp::OcspStatus> for OcspAnswer {
    fn from(status: ocsp::OcspStatus) -> Self {
        Self {
            status: status.status.as_str(),
            this_update: status.this_update,
            next_update: status.next_update,
            produced_at: status.produced_at,
            revoked_at: status.revoked_at,
            reason: status.reason,
            responder: match status.signer {
                Signer::Issuer => None,
                Signer::Delegated(subject) => Some(subject),
            },
        }
    }
}

#[pymethods]
impl OcspAnswer {
    fn __repr__(&self) -> String {
        format!(
            "<OcspAnswer {} this_update={} next_update={:?}>",
            self.status, self.this_update, self.next_update
        )
    }
}

fn now_unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A DER OCSPRequest for `cert` issued by `issuer` (SHA-1 CertID, optional nonce).
#[pyfunction]
#[pyo3(signature = (cert, issuer, *, nonce=None))]
pub fn ocsp_request<'py>(
    py: Python<'py>,
    cert: PyBackedBytes,
    issuer: PyBackedBytes,
    nonce: Option<PyBackedBytes>,
) -> Result<Bound<'py, PyBytes>> {
    let der = py.detach(|| ocsp::ocsp_request(&cert, &issuer, nonce.as_deref()))?;
    Ok(PyBytes::new(py, &der))
}

/// Verifies a DER OCSPResponse for `cert` issued by `issuer` at `at` (seconds since the
/// epoch; default now). `max_age` (seconds) bounds the age of responses without nextUpdate.
/// `at` and `max_age` out of 0..=2**64-1 raise `MalformedInputError`.
#[pyfunction]
#[pyo3(signature = (response, cert, issuer, *, at=None, nonce=None, max_age=None))]
pub fn ocsp_check_response<'py>(
    py: Python<'py>,
    response: PyBackedBytes,
    cert: PyBackedBytes,
    issuer: PyBackedBytes,
    at: Option<Bound<'py, PyAny>>,
    nonce: Option<PyBackedBytes>,
    max_age: Option<Bound<'py, PyAny>>,
) -> Result<OcspAnswer> {
    let options = CheckOptions {
        at_unix_seconds: u64_arg("at", at.as_ref())?.unwrap_or_else(now_unix_seconds),
        nonce: nonce.as_deref(),
        max_age_seconds: u64_arg("max_age", max_age.as_ref())?,
    };
    let status = py.detach(|| ocsp::check_response(&response, &cert, &issuer, &options))?;
    Ok(status.into())
}
