//! `certpolicy._core.TrustStore`: a shared, copy-on-write set of trust anchors.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;

use crate::errors::Result;

/// A set of trust anchors. Checks take a snapshot (an `Arc`) and never wait on additions.
#[pyclass(frozen, module = "certpolicy._core", name = "TrustStore")]
pub struct TrustStore {
    inner: RwLock<Arc<certpolicy_core::TrustStore>>,
    /// Serialises additions, so the (slow) copy-and-parse runs outside `inner`'s lock:
    /// readers, which may hold the GIL, only ever wait for a pointer swap.
    writer: Mutex<()>,
}

impl TrustStore {
    /// The current anchors, for a check to use without holding any lock.
    pub fn snapshot(&self) -> Arc<certpolicy_core::TrustStore> {
        Arc::clone(&self.inner.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Applies `change` to a copy of the store and publishes it when it succeeds. Chains
    /// verified against the replaced anchors are dropped from the cache: their key names the
    /// old generation, so they could never hit again anyway.
    fn update<T>(
        &self,
        change: impl FnOnce(&mut certpolicy_core::TrustStore) -> certpolicy_core::error::Result<T>,
    ) -> Result<T> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.snapshot();
        let mut next = (*current).clone();
        let out = change(&mut next)?;
        let replaced = current.generation();
        if next.generation() != replaced {
            *self.inner.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
            crate::verify::chain_cache().forget_store(replaced);
        }
        Ok(out)
    }
}

#[pymethods]
impl TrustStore {
    #[new]
    fn new() -> Self {
        Self {
            inner: RwLock::new(Arc::new(certpolicy_core::TrustStore::new())),
            writer: Mutex::new(()),
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

    /// The anchors' certificates (DER), in the order they were added.
    fn certificates<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, pyo3::types::PyBytes>> {
        let snapshot = self.snapshot();
        (0..snapshot.len())
            .filter_map(|index| snapshot.anchor_der(index))
            .map(|der| pyo3::types::PyBytes::new(py, der.as_ref()))
            .collect()
    }

    /// Identity of the current set of anchors (changes on every addition); cache keys use it.
    #[getter]
    fn generation(&self) -> u64 {
        self.snapshot().generation()
    }

    fn __len__(&self) -> usize {
        self.snapshot().len()
    }

    fn __repr__(&self) -> String {
        format!("<TrustStore with {} anchors>", self.snapshot().len())
    }
}
