//! `certpolicy._core.read_keystore`: the trusted certificates of a JKS, JCEKS or PKCS#12
//! keystore (`certpolicy.TrustStore.add_keystore` adds them as anchors).

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

use certpolicy_core::keystore::{self, KeystoreError, KeystoreErrorKind};

use crate::errors::MalformedInputError;

/// What `read_keystore` returns: the kind ("jks", "jceks", "pkcs12"), whether the integrity
/// was checked with the password, the trusted certificates as (alias, DER) and the skipped
/// entries as (alias, reason).
type Contents<'py> = (
    &'static str,
    bool,
    Vec<(Option<String>, Bound<'py, PyBytes>)>,
    Vec<(Option<String>, String)>,
);

/// The stable name of an error category, set as the exception's `keystore_error` attribute.
fn kind_name(kind: KeystoreErrorKind) -> &'static str {
    match kind {
        KeystoreErrorKind::Malformed => "malformed",
        KeystoreErrorKind::Integrity => "integrity",
        KeystoreErrorKind::PasswordRequired => "password_required",
        KeystoreErrorKind::Unsupported => "unsupported",
        KeystoreErrorKind::TooCostly => "too_costly",
    }
}

/// A `MalformedInputError(message)` whose `keystore_error` attribute names the category.
fn to_py_err(py: Python<'_>, err: KeystoreError) -> PyErr {
    let exception = MalformedInputError::new_err((err.message,));
    // Setting an attribute on a fresh exception instance cannot fail in practice; if it
    // did, the exception would still be the right type with the right message.
    let _ = exception
        .value(py)
        .setattr("keystore_error", kind_name(err.kind));
    exception
}

/// Reads a keystore (certpolicy-core's `keystore::read_keystore`) with the GIL released.
/// Raises `MalformedInputError` with a `keystore_error` attribute: "malformed", "integrity"
/// (a wrong password or an altered file), "password_required", "unsupported" or
/// "too_costly".
#[pyfunction]
#[pyo3(signature = (data, password=None))]
pub fn read_keystore<'py>(
    py: Python<'py>,
    data: PyBackedBytes,
    password: Option<String>,
) -> PyResult<Contents<'py>> {
    let store = py
        .detach(|| keystore::read_keystore(&data, password.as_deref()))
        .map_err(|err| to_py_err(py, err))?;
    let anchors = store
        .anchors
        .into_iter()
        .map(|cert| (cert.alias, PyBytes::new(py, &cert.der)))
        .collect();
    let skipped = store
        .skipped
        .into_iter()
        .map(|entry| (entry.alias, entry.reason))
        .collect();
    Ok((
        store.kind.as_str(),
        store.integrity_checked,
        anchors,
        skipped,
    ))
}
