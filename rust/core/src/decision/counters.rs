//! Counters of the connection decisions an engine made (`Engine.stats()`): in all, per policy
//! name and per reason code. Bounded: past [`MAX_COUNTED_POLICIES`] names further ones are
//! counted together under [`OTHER_POLICIES`], past [`MAX_COUNTED_CODES`] codes under
//! [`OTHER_CODES`].

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Distinct policy names counted apart at most (policy names come from files and the instance
/// table; a sync can bring new ones forever).
pub const MAX_COUNTED_POLICIES: usize = 1024;
/// Where the names past [`MAX_COUNTED_POLICIES`] are counted.
pub const OTHER_POLICIES: &str = "(other policies)";
/// Distinct reason codes counted apart at most.
pub const MAX_COUNTED_CODES: usize = 256;
/// Where the codes past [`MAX_COUNTED_CODES`] are counted.
pub const OTHER_CODES: &str = "(other codes)";

/// What became of one checked connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No check failed.
    Passed,
    /// A check failed under an enforce-mode policy: the connection was refused.
    Rejected,
    /// A check failed under an audit-mode policy and the connection went on.
    Audited,
}

/// Counts of checks by verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verdicts {
    /// Every check.
    pub checks: u64,
    /// See [`Verdict::Passed`].
    pub passed: u64,
    /// See [`Verdict::Rejected`].
    pub rejected: u64,
    /// See [`Verdict::Audited`].
    pub audited: u64,
}

impl Verdicts {
    fn count(&mut self, verdict: Verdict) {
        self.checks += 1;
        match verdict {
            Verdict::Passed => self.passed += 1,
            Verdict::Rejected => self.rejected += 1,
            Verdict::Audited => self.audited += 1,
        }
    }
}

/// A copy of the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// All checks.
    pub totals: Verdicts,
    /// Per policy name.
    pub policies: Vec<(String, Verdicts)>,
    /// Findings per reason code.
    pub codes: Vec<(String, u64)>,
}

#[derive(Debug, Default)]
struct State {
    totals: Verdicts,
    policies: HashMap<String, Verdicts>,
    codes: HashMap<String, u64>,
}

/// Thread-safe decision counters (one short lock per record).
#[derive(Debug, Default)]
pub struct CheckCounters {
    state: Mutex<State>,
}

impl CheckCounters {
    /// Counts one check under `policy` with `verdict` and its findings `codes`.
    pub fn record(&self, policy: &str, verdict: Verdict, codes: &[&str]) {
        // Every update completes before anything that could panic: a poisoned lock is sound.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.totals.count(verdict);
        if let Some(per_policy) = state.policies.get_mut(policy) {
            per_policy.count(verdict);
        } else {
            let name = if state.policies.len() >= MAX_COUNTED_POLICIES {
                OTHER_POLICIES
            } else {
                policy
            };
            state
                .policies
                .entry(name.to_owned())
                .or_default()
                .count(verdict);
        }
        for &code in codes {
            if let Some(count) = state.codes.get_mut(code) {
                *count += 1;
                continue;
            }
            let name = if state.codes.len() >= MAX_COUNTED_CODES {
                OTHER_CODES
            } else {
                code
            };
            *state.codes.entry(name.to_owned()).or_default() += 1;
        }
    }

    /// A consistent copy of every counter.
    pub fn snapshot(&self) -> CountersSnapshot {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        CountersSnapshot {
            totals: state.totals,
            policies: state
                .policies
                .iter()
                .map(|(name, counts)| (name.clone(), *counts))
                .collect(),
            codes: state
                .codes
                .iter()
                .map(|(code, count)| (code.clone(), *count))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_verdict_policy_and_code() {
        let counters = CheckCounters::default();
        counters.record("Web", Verdict::Passed, &[]);
        counters.record(
            "Web",
            Verdict::Rejected,
            &["chain.expired", "hostname.mismatch"],
        );
        counters.record("Lab", Verdict::Audited, &["chain.expired"]);
        let snapshot = counters.snapshot();
        assert_eq!(
            snapshot.totals,
            Verdicts {
                checks: 3,
                passed: 1,
                rejected: 1,
                audited: 1
            }
        );
        let web = snapshot.policies.iter().find(|(name, _)| name == "Web");
        assert_eq!(web.map(|(_, counts)| counts.checks), Some(2));
        let expired = snapshot
            .codes
            .iter()
            .find(|(code, _)| code == "chain.expired");
        assert_eq!(expired.map(|(_, count)| *count), Some(2));
    }

    #[test]
    fn names_and_codes_are_bounded() {
        let counters = CheckCounters::default();
        for index in 0..(MAX_COUNTED_POLICIES + 50) {
            let code = format!("code.{index}");
            counters.record(&format!("policy {index}"), Verdict::Rejected, &[&code]);
        }
        let snapshot = counters.snapshot();
        assert_eq!(snapshot.policies.len(), MAX_COUNTED_POLICIES + 1);
        assert_eq!(snapshot.codes.len(), MAX_COUNTED_CODES + 1);
        let other = snapshot
            .policies
            .iter()
            .find(|(name, _)| name == OTHER_POLICIES);
        assert_eq!(other.map(|(_, counts)| counts.checks), Some(50));
        assert_eq!(snapshot.totals.checks, (MAX_COUNTED_POLICIES + 50) as u64);
    }
}
