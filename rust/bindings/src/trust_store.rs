//! `certpolicy._core.TrustStore`: a shared, copy-on-write set of trust anchors.

use std::sync::{Arc, PoisonError, RwLock};

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;

use crate::errors::Result;

/// A set of trust anchors. Checks take a snapshot (an `Arc`) and never wait on additions.
#[pyclass(frozen, module = "certpolicy._core", name = "TrustStore")]
pub struct TrustStore {
    inner: RwLock<Arc<certpolicy_core::TrustStore>>,
}

impl TrustStore {
    /// The current anchors, for a check to use without holding any lock.
    pub fn snapshot(&self) -> Arc<certpolicy_core::TrustStore> {
        Arc::clone(&self.inner.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Applies `change` to a copy of the store and publishes it when it succeeds.
    fn update<T>(
        &self,
        change: impl FnOnce(&mut certpolicy_core::TrustStore) -> certpolicy_core::error::Result<T>,
    ) -> Result<T> {
        let mut guard = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let mut next = (**guard).clone();
        let out = change(&mut next)?;
        *guard = Arc::new(next);
        Ok(out)
    }
}

#[pymethods]
impl TrustStore {
    #[new]
    fn new() -> Self {
        Self {
            inner: RwLock::new(Arc::new(certpolicy_core::TrustStore::new())),
        }
    }

    /// Adds one DER certificate; returns False when it was already present.
    fn add_der(&self, py: Python<'_>, data: PyBackedBytes) -> Result<bool> {
        py.detach(|| self.update(|store| store.add_der(&data)))
    }

    /// Adds every CERTIFICATE block of a PEM document; returns how many were new.
    fn add_pem(&self, py: Python<'_>, data: PyBackedBytes) -> Result<usize> {
        py.detach(|| self.update(|store| store.add_pem(&data)))
    }

    fn __len__(&self) -> usize {
        self.snapshot().len()
    }

    fn __repr__(&self) -> String {
        format!("<TrustStore with {} anchors>", self.snapshot().len())
    }
}
