//! `certpolicy._core.Decider`: the engine's per-connection decision in one call (selection,
//! cached chain, hostname, remembered revocation answer), its `Decision`, the engine's
//! `CheckCounters` and the `ChangeCounter` revocation caches bump when their content changes.
//!
//! A decision is sub-microsecond lookups done with the GIL held (releasing it would cost more
//! than the work); anything that needs real work (a chain to verify, a fetch) is left to the
//! Python engine's full path, which then remembers what it learnt (`remember_revocation`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use certpolicy_core::chain::{ChainPath, MAX_CACHED_CHAIN_BYTES};
use certpolicy_core::decision::{self, AnswerMemo, Connection, Known, RevocationOutcome, Verdict};
use certpolicy_core::policy::{Reason, parse_address};

use crate::errors::{Error, Result};
use crate::policy::{PolicyMatcher, reason_parts};
use crate::trust_store::TrustStore;
use crate::verify::chain_cache;

/// A leaf larger than this is never decided here: its hostname check may be slow, and the
/// full path runs it with the GIL released.
const MAX_LEAF_BYTES: usize = 16 * 1024;

fn now_unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A counter a revocation cache bumps whenever what it would answer may have changed (a CRL
/// installed or dropped, an OCSP answer stored): remembered path answers of an older total
/// are never used.
#[pyclass(frozen, module = "certpolicy._core", name = "ChangeCounter")]
#[derive(Default)]
pub struct ChangeCounter {
    value: AtomicU64,
}

#[pymethods]
impl ChangeCounter {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Counts one change.
    fn bump(&self) {
        self.value.fetch_add(1, Ordering::AcqRel);
    }

    /// The changes so far.
    #[getter]
    fn value(&self) -> u64 {
        self.value.load(Ordering::Acquire)
    }
}

/// URLs remembered at most by a [`UsageFlags`] (all are forgotten when it is reached).
const MAX_USAGE_URLS: usize = 4096;

/// Which CRL URLs the decision used since the CRL checker last looked: an answer remembered
/// from a CRL carries the flag of its URL and sets it on every reuse, so the CRL checker
/// refreshes in the background the CRLs connections still use although they no longer reach
/// it (and lets idle ones leave memory).
#[pyclass(frozen, module = "certpolicy._core", name = "UsageFlags")]
#[derive(Default)]
pub struct UsageFlags {
    flags: std::sync::Mutex<std::collections::HashMap<String, Arc<AtomicBool>>>,
}

impl UsageFlags {
    fn flags(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Arc<AtomicBool>>> {
        // Every update completes before anything that could panic: a poisoned lock is sound.
        self.flags
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The flag of `url` (made when first asked for).
    fn flag(&self, url: &str) -> Arc<AtomicBool> {
        let mut flags = self.flags();
        if let Some(flag) = flags.get(url) {
            return Arc::clone(flag);
        }
        if flags.len() >= MAX_USAGE_URLS {
            flags.clear();
        }
        let flag = Arc::new(AtomicBool::new(false));
        flags.insert(url.to_owned(), Arc::clone(&flag));
        flag
    }
}

#[pymethods]
impl UsageFlags {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Whether a remembered answer from `url` was used since the last call (and clears it).
    fn take(&self, url: &str) -> bool {
        self.flags()
            .get(url)
            .is_some_and(|flag| flag.swap(false, Ordering::AcqRel))
    }

    /// URLs with a flag.
    fn __len__(&self) -> usize {
        self.flags().len()
    }
}

/// A remembered path answer and the usage flags of the CRLs it came from.
struct Remembered {
    answer: Py<PyAny>,
    crl_usage: Vec<Arc<AtomicBool>>,
}

/// The engine's decision counters (see `certpolicy_core::decision::CheckCounters`).
#[pyclass(frozen, module = "certpolicy._core", name = "CheckCounters")]
#[derive(Default)]
pub struct CheckCounters {
    inner: decision::CheckCounters,
}

/// `(checks, passed, rejected, audited)`.
type VerdictTuple = (u64, u64, u64, u64);

/// `(totals, [(policy, counts)], [(code, count)])`.
type CountersTuple = (
    VerdictTuple,
    Vec<(String, VerdictTuple)>,
    Vec<(String, u64)>,
);

fn verdict_tuple(counts: decision::Verdicts) -> VerdictTuple {
    (
        counts.checks,
        counts.passed,
        counts.rejected,
        counts.audited,
    )
}

#[pymethods]
impl CheckCounters {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Counts one check: `verdict` is "passed", "rejected" or "audited"; `codes` its
    /// findings.
    fn record(&self, policy: &str, verdict: &str, codes: Vec<String>) -> Result<()> {
        let verdict = match verdict {
            "passed" => Verdict::Passed,
            "rejected" => Verdict::Rejected,
            "audited" => Verdict::Audited,
            other => {
                return Err(Error::Core(certpolicy_core::Error::MalformedInput(
                    format!("unknown verdict \"{other}\""),
                )));
            }
        };
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        self.inner.record(policy, verdict, &codes);
        Ok(())
    }

    /// `(totals, [(policy, counts)], [(code, count)])`, counts being
    /// `(checks, passed, rejected, audited)`.
    fn snapshot(&self) -> CountersTuple {
        let snapshot = self.inner.snapshot();
        (
            verdict_tuple(snapshot.totals),
            snapshot
                .policies
                .into_iter()
                .map(|(name, counts)| (name, verdict_tuple(counts)))
                .collect(),
            snapshot.codes,
        )
    }
}

/// A decision in which every check the policy enables passed; the engine's `Report` is built
/// from it when someone reads it.
#[pyclass(frozen, module = "certpolicy._core", name = "Decision")]
pub struct Decision {
    policy: Py<PyAny>,
    reason: Reason,
    chain: Py<PyTuple>,
    path: Option<(ChainPath, Arc<certpolicy_core::TrustStore>)>,
    revocation: RevocationOutcome<Arc<Remembered>>,
}

#[pymethods]
impl Decision {
    /// The selected `Policy`.
    #[getter]
    fn policy(&self, py: Python<'_>) -> Py<PyAny> {
        self.policy.clone_ref(py)
    }

    /// `(reason_code, source)`, as `PolicyMatcher.select` returns them.
    #[getter]
    fn reason(&self) -> (u8, Option<String>) {
        reason_parts(self.reason.clone())
    }

    /// The presented chain, a tuple of bytes.
    #[getter]
    fn chain(&self, py: Python<'_>) -> Py<PyTuple> {
        self.chain.clone_ref(py)
    }

    /// The verified path, leaf to anchor (a tuple of bytes), or None when the policy does
    /// not check the chain.
    #[getter]
    fn verified_path<'py>(&self, py: Python<'py>) -> Result<Option<Bound<'py, PyTuple>>> {
        let Some((path, anchors)) = &self.path else {
            return Ok(None);
        };
        let chain = self.chain.bind(py);
        let list = PyList::empty(py);
        for &index in &path.presented {
            list.append(chain.get_item(index).map_err(Error::Python)?)
                .map_err(Error::Python)?;
        }
        let anchor = anchors.anchor_der(path.anchor).ok_or_else(|| {
            Error::Core(certpolicy_core::Error::MalformedInput(
                "internal error: verified path out of range".into(),
            ))
        })?;
        list.append(PyBytes::new(py, anchor))
            .map_err(Error::Python)?;
        Ok(Some(list.to_tuple()))
    }

    /// "disabled" (the policy does not check revocation), "not_applicable" (the server
    /// certificate is itself a trust anchor) or "good".
    #[getter]
    fn revocation_state(&self) -> &'static str {
        match self.revocation {
            RevocationOutcome::Disabled => "disabled",
            RevocationOutcome::NotApplicable => "not_applicable",
            RevocationOutcome::Good(_) => "good",
        }
    }

    /// The remembered path answer (a `PathAnswer`) when revocation is good, else None.
    #[getter]
    fn revocation(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        match &self.revocation {
            RevocationOutcome::Good(remembered) => Some(remembered.answer.clone_ref(py)),
            _ => None,
        }
    }
}

/// One engine's decision state: its trust store, counters, remembered revocation answers and
/// the change counters of its revocation caches.
#[pyclass(frozen, module = "certpolicy._core", name = "Decider")]
pub struct Decider {
    store: Py<TrustStore>,
    counters: Py<CheckCounters>,
    /// None: the revocation methods are not all built in, so no answer is remembered.
    changes: Option<Vec<Py<ChangeCounter>>>,
    crl_usage: Option<Py<UsageFlags>>,
    answers: AnswerMemo<Arc<Remembered>>,
    /// Decisions that reused a remembered revocation verdict.
    reused: AtomicU64,
}

impl Decider {
    fn generation(&self) -> Option<u64> {
        self.changes.as_ref().map(|changes| {
            changes.iter().fold(0u64, |total, counter| {
                total.wrapping_add(counter.get().value())
            })
        })
    }
}

/// The presented chain as borrowed DER and an immutable tuple; `None` unless it is a list or
/// tuple of `bytes`.
fn presented<'py>(
    py: Python<'py>,
    chain: &Bound<'py, PyAny>,
) -> Option<(Bound<'py, PyTuple>, Vec<Bound<'py, PyBytes>>)> {
    let tuple = match chain.cast::<PyTuple>() {
        Ok(tuple) => tuple.clone(),
        Err(_) => PyTuple::new(py, chain.cast::<PyList>().ok()?.iter()).ok()?,
    };
    let items = tuple
        .iter()
        .map(|item| item.cast_into::<PyBytes>().ok())
        .collect::<Option<Vec<_>>>()?;
    Some((tuple, items))
}

#[pymethods]
impl Decider {
    /// `changes`: the change counters of the revocation caches, or None when an answer of
    /// theirs must never be remembered; `crl_usage`: the CRL checker's usage flags.
    #[new]
    #[pyo3(signature = (store, counters, changes=None, crl_usage=None))]
    fn new(
        store: Py<TrustStore>,
        counters: Py<CheckCounters>,
        changes: Option<Vec<Py<ChangeCounter>>>,
        crl_usage: Option<Py<UsageFlags>>,
    ) -> Self {
        Self {
            store,
            counters,
            changes,
            crl_usage,
            answers: AnswerMemo::default(),
            reused: AtomicU64::new(0),
        }
    }

    /// The decision for a connection when every check its policy enables passes from what is
    /// known (counted as passed), or None: then the engine's full path decides (and counts).
    /// Never raises for the inputs: anything unusual is left to the full path.
    #[pyo3(signature = (matcher, chain, host, ip, port, trust_peer_ip))]
    #[expect(
        clippy::too_many_arguments,
        reason = "one positional call per connection: no argument object to build"
    )]
    fn decide<'py>(
        &self,
        py: Python<'py>,
        matcher: &Bound<'py, PolicyMatcher>,
        chain: &Bound<'py, PyAny>,
        host: &Bound<'py, PyAny>,
        ip: Option<&Bound<'py, PyAny>>,
        port: Option<&Bound<'py, PyAny>>,
        trust_peer_ip: bool,
    ) -> Option<Decision> {
        let host = host.cast::<PyString>().ok()?.to_str().ok()?;
        let ip = match ip {
            None => None,
            Some(ip) => Some(parse_address(ip.cast::<PyString>().ok()?.to_str().ok()?)?),
        };
        let port = match port {
            None => None,
            Some(port) => Some(port.extract::<u16>().ok()?),
        };
        let (tuple, items) = presented(py, chain)?;
        let certs: Vec<&[u8]> = items.iter().map(|item| item.as_bytes()).collect();
        if certs.first()?.len() > MAX_LEAF_BYTES {
            return None;
        }
        let matcher = matcher.get();
        let anchors = self.store.get().snapshot();
        let connection = Connection {
            chain: &certs,
            host,
            ip,
            port,
            trust_peer_ip,
            now: now_unix_seconds(),
        };
        let known = Known {
            matcher: matcher.matcher(),
            store: &anchors,
            chains: chain_cache(),
            answers: &self.answers,
            // Without change counters nothing is remembered: every lookup misses.
            generation: self.generation().unwrap_or(u64::MAX),
        };
        let passed = decision::decide_passed(&connection, &known)?;
        if let RevocationOutcome::Good(remembered) = &passed.revocation {
            self.reused.fetch_add(1, Ordering::Relaxed);
            for flag in &remembered.crl_usage {
                flag.store(true, Ordering::Release);
            }
        }
        self.counters.get().inner.record(
            matcher.name(passed.selection.index),
            Verdict::Passed,
            &[],
        );
        Some(Decision {
            policy: matcher.policy(py, passed.selection.index).unbind(),
            reason: passed.selection.reason,
            chain: tuple.unbind(),
            path: passed.path.map(|path| (path, anchors)),
            revocation: passed.revocation,
        })
    }

    /// The generation of the revocation caches now (read it before asking them, and pass it
    /// to `remember_revocation`), or None when answers are never remembered.
    #[getter]
    fn revocation_generation(&self) -> Option<u64> {
        self.generation()
    }

    /// Remembers `answer` (a good `PathAnswer`) for the presented `chain` until `until`
    /// (seconds since the epoch), as of `generation`; `crl_urls` are the CRLs it came from
    /// (each reuse flags them as used, see `UsageFlags`). Returns whether it was remembered
    /// (not when answers are never remembered, the generation already changed, or the chain
    /// is too large).
    #[pyo3(signature = (chain, answer, until, generation, crl_urls=Vec::new()))]
    fn remember_revocation(
        &self,
        chain: Vec<PyBackedBytes>,
        answer: Py<PyAny>,
        until: f64,
        generation: u64,
        crl_urls: Vec<String>,
    ) -> bool {
        if self.generation() != Some(generation) || !until.is_finite() || until <= 0.0 {
            return false;
        }
        let certs: Vec<&[u8]> = chain.iter().map(|cert| cert.as_ref()).collect();
        if certs.iter().map(|cert| cert.len()).sum::<usize>() > MAX_CACHED_CHAIN_BYTES {
            return false;
        }
        // Whole seconds, rounded down: never past the source's own end.
        let until = until.floor() as u64;
        let crl_usage = match &self.crl_usage {
            Some(usage) => crl_urls.iter().map(|url| usage.get().flag(url)).collect(),
            None => Vec::new(),
        };
        let remembered = Remembered { answer, crl_usage };
        self.answers
            .insert(&certs, generation, until, Arc::new(remembered))
    }

    /// How many decisions reused a remembered revocation verdict.
    #[getter]
    fn reused_verdicts(&self) -> u64 {
        self.reused.load(Ordering::Relaxed)
    }

    /// Forgets every remembered answer.
    fn forget_revocation(&self) {
        self.answers.clear();
    }

    /// `(entries, chain bytes)` of the remembered answers.
    fn remembered(&self) -> (usize, usize) {
        self.answers.size()
    }
}
