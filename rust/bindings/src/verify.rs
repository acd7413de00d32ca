//! Chain, hostname and certificate-summary functions.

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::Result;
use crate::trust_store::TrustStore;

fn now_unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Verifies a presented chain (DER, leaf first) for TLS server authentication and returns the
/// verified path leaf..anchor. `at` is seconds since the epoch (default: now).
#[pyfunction]
#[pyo3(signature = (chain, store, *, at=None, max_depth=None))]
pub fn verify_chain<'py>(
    py: Python<'py>,
    chain: Vec<PyBackedBytes>,
    store: &TrustStore,
    at: Option<u64>,
    max_depth: Option<usize>,
) -> Result<Vec<Bound<'py, PyBytes>>> {
    let anchors = store.snapshot();
    let options = certpolicy_core::VerifyOptions {
        at_unix_seconds: at.unwrap_or_else(now_unix_seconds),
        max_intermediates: max_depth,
    };
    let path = py.detach(|| {
        let certs: Vec<&[u8]> = chain.iter().map(|cert| cert.as_ref()).collect();
        certpolicy_core::verify_chain(&certs, &anchors, options)
    })?;
    Ok(path.iter().map(|der| PyBytes::new(py, der)).collect())
}

/// Checks that a DER certificate is valid for `host` (RFC 6125). Sub-microsecond work, so it
/// runs without releasing the GIL: a release would cost more than the check.
#[pyfunction]
#[pyo3(signature = (cert, host, *, allow_common_name=false))]
pub fn verify_hostname(cert: &[u8], host: &str, allow_common_name: bool) -> Result<()> {
    Ok(certpolicy_core::verify_hostname(
        cert,
        host,
        allow_common_name,
    )?)
}

/// The raw summary of a DER certificate; `certpolicy.cert_info` turns it into Python types.
#[pyfunction]
pub fn cert_info<'py>(py: Python<'py>, cert: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    let info = certpolicy_core::cert_info(cert).map_err(crate::errors::Error::from)?;
    let dict = PyDict::new(py);
    dict.set_item("subject", info.subject)?;
    dict.set_item("issuer", info.issuer)?;
    dict.set_item("serial", PyBytes::new(py, &info.serial))?;
    dict.set_item("not_before", info.not_before)?;
    dict.set_item("not_after", info.not_after)?;
    dict.set_item("dns_names", info.dns_names)?;
    dict.set_item("ip_addresses", info.ip_addresses)?;
    dict.set_item("is_ca", info.is_ca)?;
    dict.set_item("crl_urls", info.crl_urls)?;
    dict.set_item("ocsp_urls", info.ocsp_urls)?;
    dict.set_item("sha256", info.sha256)?;
    Ok(dict)
}
