//! OCSP bindings.

use pyo3::prelude::*;

/// Adds the OCSP classes and functions to `certpolicy._core`.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let _ = module;
    Ok(())
}
