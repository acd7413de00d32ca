//! CRL bindings.

use pyo3::prelude::*;

/// Adds the CRL classes and functions to `certpolicy._core`.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let _ = module;
    Ok(())
}
