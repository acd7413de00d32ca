//! `parse_ca_issuers`: the certificates of a body fetched from a caIssuers URL (RFC 5280
//! section 4.2.2.1), read by `certpolicy_core::aia` with the GIL released.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::errors::Result;

/// `(format, certificates)` of a caIssuers body: `format` is `"certificate"`, `"pkcs7"` or
/// `"pem"`, `certificates` the DER certificates found (never empty). Anything else, or more
/// than the core's bounds, raises `MalformedInputError`.
#[pyfunction]
pub fn parse_ca_issuers<'py>(
    py: Python<'py>,
    body: &[u8],
) -> Result<(&'static str, Bound<'py, PyList>)> {
    let parsed = py.detach(|| certpolicy_core::parse_ca_issuers(body))?;
    let certificates = PyList::empty(py);
    for der in &parsed.certificates {
        certificates
            .append(PyBytes::new(py, der))
            .map_err(crate::errors::Error::Python)?;
    }
    Ok((parsed.format.as_str(), certificates))
}
