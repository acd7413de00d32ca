//! `certpolicy._core`: the thin PyO3 layer over certpolicy-core. Inputs are extracted into
//! owned or GIL-independent data, heavy work runs with the GIL released, and every core error
//! becomes one typed `certpolicy.errors` exception.
#![forbid(unsafe_code)]

mod crl;
mod errors;
mod ocsp;
mod policy;
mod trust_store;
mod verify;

use pyo3::prelude::*;

#[pymodule]
mod _core {
    #[pymodule_export]
    use super::policy::PolicyMatcher;
    #[pymodule_export]
    use super::trust_store::TrustStore;
    #[pymodule_export]
    use super::verify::{
        _signature_floor, cert_info, chain_cache_info, clear_chain_cache, set_chain_cache_size,
        verify_chain, verify_chains, verify_hostname,
    };

    #[pymodule_init]
    fn init(module: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use pyo3::types::PyModuleMethods;
        module.add("__version__", env!("CARGO_PKG_VERSION"))?;
        super::crl::register(module)?;
        super::ocsp::register(module)
    }
}
