//! Chain, hostname and certificate-summary functions, and the process-wide verified-chain
//! cache behind `verify_chain` and `verify_chains`.

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyDict, PyList};

use certpolicy_core::chain::{self, ChainCache, ChainPath, Lookup};

use crate::errors::{Error, Result, u64_arg, usize_arg};
use crate::trust_store::TrustStore;

/// The verified-chain cache and signature memo shared by every store and thread (entries are
/// keyed by store generation, so stores never see each other's).
static CHAIN_CACHE: LazyLock<ChainCache> = LazyLock::new(ChainCache::default);

/// The process-wide cache, for the trust store to drop entries of a replaced snapshot.
pub fn chain_cache() -> &'static ChainCache {
    &CHAIN_CACHE
}

fn now_unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The options of `verify_chain` / `verify_chains` from their `at` and `max_depth`
/// arguments: ints (or None), out-of-range ones a `MalformedInputError` (see
/// [`crate::errors::u64_arg`]).
fn options(
    at: Option<&Bound<'_, PyAny>>,
    max_depth: Option<&Bound<'_, PyAny>>,
) -> Result<certpolicy_core::VerifyOptions> {
    Ok(certpolicy_core::VerifyOptions {
        at_unix_seconds: u64_arg("at", at)?.unwrap_or_else(now_unix_seconds),
        max_intermediates: usize_arg("max_depth", max_depth)?,
    })
}

/// A verified path as Python bytes: the caller's own objects for the presented certificates
/// (no copy), a new one for the anchor.
fn path_list<'py>(
    py: Python<'py>,
    path: &ChainPath,
    chain: &[PyBackedBytes],
    anchors: &certpolicy_core::TrustStore,
) -> Result<Bound<'py, PyList>> {
    let out_of_range = || {
        Error::Core(certpolicy_core::Error::chain_with_code(
            certpolicy_core::ChainErrorKind::Untrusted,
            certpolicy_core::VerifyCode::Unspecified,
            "internal error: verified path out of range",
        ))
    };
    let list = PyList::empty(py);
    for &index in &path.presented {
        let cert = chain.get(index).ok_or_else(out_of_range)?;
        list.append(cert).map_err(Error::Python)?;
    }
    let anchor = anchors.anchor_der(path.anchor).ok_or_else(out_of_range)?;
    list.append(PyBytes::new(py, anchor))
        .map_err(Error::Python)?;
    Ok(list)
}

/// Verifies a presented chain (DER, leaf first) for TLS server authentication and returns the
/// verified path leaf..anchor. `at` is seconds since the epoch (default: now); `at` and
/// `max_depth` out of 0..=2**64-1 raise `MalformedInputError`. A chain that
/// verified before is answered from the cache with the GIL held (a hit costs less than
/// releasing it); anything else is verified with the GIL released.
#[pyfunction]
#[pyo3(signature = (chain, store, *, at=None, max_depth=None))]
pub fn verify_chain<'py>(
    py: Python<'py>,
    chain: Vec<PyBackedBytes>,
    store: &TrustStore,
    at: Option<Bound<'py, PyAny>>,
    max_depth: Option<Bound<'py, PyAny>>,
) -> Result<Bound<'py, PyList>> {
    let options = options(at.as_ref(), max_depth.as_ref())?;
    let anchors = store.snapshot();
    let certs: Vec<&[u8]> = chain.iter().map(|cert| cert.as_ref()).collect();
    let path = match chain::lookup_verified(&certs, &anchors, options, &CHAIN_CACHE)? {
        Lookup::Hit(path) => path,
        Lookup::Miss(key) => {
            py.detach(|| chain::verify_and_remember(&certs, &anchors, options, &CHAIN_CACHE, key))?
        }
    };
    path_list(py, &path, &chain, &anchors)
}

/// Verifies many chains in one call, all with the GIL released, against one snapshot of the
/// store. Returns one entry per chain, in order: the verified path (a list of bytes) or the
/// exception `verify_chain` would have raised for it (not raised).
#[pyfunction]
#[pyo3(signature = (chains, store, *, at=None, max_depth=None))]
pub fn verify_chains<'py>(
    py: Python<'py>,
    chains: Vec<Vec<PyBackedBytes>>,
    store: &TrustStore,
    at: Option<Bound<'py, PyAny>>,
    max_depth: Option<Bound<'py, PyAny>>,
) -> Result<Bound<'py, PyList>> {
    let options = options(at.as_ref(), max_depth.as_ref())?;
    let anchors = store.snapshot();
    let outcomes: Vec<certpolicy_core::Result<ChainPath>> = py.detach(|| {
        chains
            .iter()
            .map(|chain| {
                let certs: Vec<&[u8]> = chain.iter().map(|cert| cert.as_ref()).collect();
                chain::verify_chain_cached(&certs, &anchors, options, &CHAIN_CACHE)
            })
            .collect()
    });
    let results = PyList::empty(py);
    for (chain, outcome) in chains.iter().zip(outcomes) {
        match outcome {
            Ok(path) => results.append(path_list(py, &path, chain, &anchors)?),
            Err(err) => results.append(PyErr::from(Error::Core(err)).into_value(py)),
        }
        .map_err(Error::Python)?;
    }
    Ok(results)
}

/// `(hits, misses, entries, capacity)` of the verified chains, then the same four of the
/// signature memo.
#[pyfunction]
pub fn chain_cache_info() -> (u64, u64, usize, usize, u64, u64, usize, usize) {
    let stats = CHAIN_CACHE.stats();
    let (chains, signatures) = (stats.chains, stats.signatures);
    (
        chains.hits,
        chains.misses,
        chains.entries,
        chains.capacity,
        signatures.hits,
        signatures.misses,
        signatures.entries,
        signatures.capacity,
    )
}

/// Sets how many verified chains are remembered (and 4 times as many signatures); 0 turns
/// both off. Least recently used entries that no longer fit are dropped.
#[pyfunction]
pub fn set_chain_cache_size(py: Python<'_>, entries: usize) -> Result<()> {
    if entries > chain::MAX_CHAIN_ENTRIES {
        return Err(Error::Core(certpolicy_core::Error::MalformedInput(
            format!(
                "the chain cache holds at most {} entries, not {entries}",
                chain::MAX_CHAIN_ENTRIES
            ),
        )));
    }
    py.detach(|| CHAIN_CACHE.set_capacity(entries));
    Ok(())
}

/// Forgets every remembered chain and signature (the counters keep counting).
#[pyfunction]
pub fn clear_chain_cache(py: Python<'_>) {
    py.detach(|| CHAIN_CACHE.clear());
}

/// Benchmark floor: checks only the signatures of a verified path (leaf..anchor, as
/// `verify_chain` returns it) with the algorithms `verify_chain` uses; returns how many.
#[pyfunction]
pub fn _signature_floor(py: Python<'_>, path: Vec<PyBackedBytes>) -> Result<usize> {
    py.detach(|| {
        let certs: Vec<&[u8]> = path.iter().map(|cert| cert.as_ref()).collect();
        Ok(chain::signature_floor(&certs)?)
    })
}

/// Checks that a DER certificate is valid for `host` (RFC 6125). Usually sub-microsecond work,
/// done with the GIL held; see `HOSTNAME_GIL_RELEASE_BYTES`.
#[pyfunction]
#[pyo3(signature = (cert, host, *, allow_common_name=false))]
pub fn verify_hostname(
    py: Python<'_>,
    cert: &[u8],
    host: &str,
    allow_common_name: bool,
) -> Result<()> {
    // A certificate with thousands of names makes the mismatch path (a full parse) slow:
    // release the GIL for those; for ordinary ones the release would cost more than the check.
    if cert.len() > HOSTNAME_GIL_RELEASE_BYTES {
        return Ok(py.detach(|| certpolicy_core::verify_hostname(cert, host, allow_common_name))?);
    }
    Ok(certpolicy_core::verify_hostname(
        cert,
        host,
        allow_common_name,
    )?)
}

/// Certificates larger than this are name-matched with the GIL released.
const HOSTNAME_GIL_RELEASE_BYTES: usize = 16 * 1024;

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
    dict.set_item("ca_issuers_urls", info.ca_issuers_urls)?;
    dict.set_item("sha256", info.sha256)?;
    Ok(dict)
}
