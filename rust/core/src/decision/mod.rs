//! The whole per-connection decision when it can be made from what is already known: the
//! policy for the connection ([`Matcher::select_connection`]), the chain from the
//! verified-chain cache (RFC 5280 section 6, verified before), the server identity
//! (RFC 6125 section 6) and the revocation answer the path got last time, still current
//! ([`AnswerMemo`]). One call, no allocation of results: see [`decide_passed`].
//!
//! Only decisions in which every enabled check passes are made here. Anything else (a chain
//! never verified, a failing check, an answer not remembered, a selection that sets the peer
//! address aside) is left to the caller's full path, which runs every check, explains each
//! failure and fetches what is missing.

mod counters;
mod memo;

use std::net::IpAddr;

pub use counters::{
    CheckCounters, CountersSnapshot, MAX_COUNTED_CODES, MAX_COUNTED_POLICIES, OTHER_CODES,
    OTHER_POLICIES, Verdict, Verdicts,
};
pub use memo::{AnswerMemo, MAX_MEMO_BYTES, MAX_MEMO_CHAIN_BYTES, MAX_MEMO_ENTRIES};

use crate::chain::{self, ChainCache, ChainPath, VerifyOptions};
use crate::policy::{Matcher, PolicyChecks, Selection};
use crate::trust::TrustStore;

/// One connection to decide on.
#[derive(Debug, Clone, Copy)]
pub struct Connection<'a> {
    /// The presented chain, DER, leaf first.
    pub chain: &'a [&'a [u8]],
    /// The server name (or IP literal) the client asked for.
    pub host: &'a str,
    /// The peer address connected to.
    pub ip: Option<IpAddr>,
    /// The port; `None` when unknown.
    pub port: Option<u16>,
    /// The connection is direct: the peer address always counts for the policy.
    pub trust_peer_ip: bool,
    /// The validation time, seconds since the epoch.
    pub now: u64,
}

/// What the revocation check said in a passed decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationOutcome<T> {
    /// The policy does not check revocation.
    Disabled,
    /// The server certificate is itself a trust anchor: nothing can revoke it (RFC 5280
    /// section 6.1).
    NotApplicable,
    /// Every certificate of the path is good, by the remembered answer.
    Good(T),
}

/// A decision in which every enabled check passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passed<T> {
    /// The policy and why.
    pub selection: Selection,
    /// Its checks.
    pub checks: PolicyChecks,
    /// The verified path, when the policy checks the chain.
    pub path: Option<ChainPath>,
    /// Revocation.
    pub revocation: RevocationOutcome<T>,
}

/// The caches a decision reads.
#[derive(Debug, Clone, Copy)]
pub struct Known<'a, T> {
    /// The compiled policies.
    pub matcher: &'a Matcher,
    /// The trust anchors.
    pub store: &'a TrustStore,
    /// The verified chains.
    pub chains: &'a ChainCache,
    /// The remembered revocation answers.
    pub answers: &'a AnswerMemo<T>,
    /// The current generation of the revocation caches the answers came from.
    pub generation: u64,
}

/// The decision for `connection` when every check its policy enables passes from `known`
/// alone; `None` when the full path must decide (see the module documentation). Counts a
/// chain-cache hit when it uses one, never a miss.
pub fn decide_passed<T: Clone>(
    connection: &Connection<'_>,
    known: &Known<'_, T>,
) -> Option<Passed<T>> {
    let selected = known
        .matcher
        .select_connection(
            connection.host,
            connection.ip,
            connection.port,
            connection.trust_peer_ip,
        )
        .ok()?;
    if selected.set_aside.is_some() {
        return None; // the full path logs why the peer address was set aside
    }
    let selection = selected.selection;
    let checks = known.matcher.checks_of(selection.index);
    let leaf = connection.chain.first()?;
    // Cheapest first, and the chain cache last: a lookup that leads nowhere would count a
    // hit the full path then counts again.
    if checks.hostname
        && crate::hostname::verify_hostname(leaf, connection.host, checks.allow_common_name)
            .is_err()
    {
        return None;
    }
    let answer = match (checks.revocation, checks.chain) {
        (false, _) => None,
        (true, true) => Some(known.answers.lookup(
            connection.chain,
            known.generation,
            connection.now,
        )?),
        // Revocation without a verified path is never good.
        (true, false) => return None,
    };
    let path = if checks.chain {
        let options = VerifyOptions::at(connection.now);
        Some(chain::cached_path(
            connection.chain,
            known.store,
            options,
            known.chains,
        )?)
    } else {
        None
    };
    let revocation = match (answer, &path) {
        (None, _) => RevocationOutcome::Disabled,
        (Some(_), Some(path)) if path.presented.is_empty() => RevocationOutcome::NotApplicable,
        (Some(answer), _) => RevocationOutcome::Good(answer),
    };
    Some(Passed {
        selection,
        checks,
        path,
        revocation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Kind, PolicySpec};
    use crate::testdata;

    fn matcher(checks: PolicyChecks) -> Matcher {
        Matcher::compile(&[PolicySpec {
            name: "Web".into(),
            kind: Kind::Internet,
            hosts: Vec::new(),
            ip_ranges: Vec::new(),
            active: true,
            order: 100,
            checks,
        }])
        .expect("compiles")
    }

    fn store() -> TrustStore {
        let mut store = TrustStore::new();
        store.add_der(&testdata::root()).expect("root parses");
        store
    }

    fn connection<'a>(chain: &'a [&'a [u8]], host: &'a str) -> Connection<'a> {
        Connection {
            chain,
            host,
            ip: None,
            port: Some(443),
            trust_peer_ip: false,
            now: testdata::NOW,
        }
    }

    #[test]
    fn decides_from_the_caches_only() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let chain: [&[u8]; 2] = [&leaf, &int];
        let (store, chains, answers) = (store(), ChainCache::default(), AnswerMemo::default());
        let matcher = matcher(PolicyChecks::ALL);
        let known = Known {
            matcher: &matcher,
            store: &store,
            chains: &chains,
            answers: &answers,
            generation: 3,
        };
        let asked = connection(&chain, "leaf.example.com");
        // Never verified: the full path decides (and no miss was counted here).
        assert_eq!(decide_passed(&asked, &known), None);
        assert_eq!(chains.stats().chains.misses, 0);
        chain::verify_chain_cached(&chain, &store, VerifyOptions::at(testdata::NOW), &chains)
            .expect("verifies");
        // Verified, but no revocation answer remembered.
        assert_eq!(decide_passed(&asked, &known), None);
        let hits = chains.stats().chains.hits;
        answers.insert(&chain, 3, testdata::NOW + 60, "good");
        assert_eq!(
            chains.stats().chains.hits,
            hits,
            "no answer: the chain cache was not asked"
        );
        let passed = decide_passed(&asked, &known).expect("decided");
        assert_eq!(passed.revocation, RevocationOutcome::Good("good"));
        assert_eq!(chains.stats().chains.hits, hits + 1);
        assert_eq!(passed.path.map(|path| path.presented), Some(vec![0, 1]));
        // Another name fails the hostname check: left to the full path.
        assert_eq!(
            decide_passed(&connection(&chain, "other.example.com"), &known),
            None
        );
        // A revocation cache changed since the answer: left to the full path.
        let changed = Known {
            generation: 4,
            ..known
        };
        assert_eq!(decide_passed(&asked, &changed), None);
    }

    #[test]
    fn disabled_checks_need_nothing() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let chain: [&[u8]; 2] = [&leaf, &int];
        let (store, chains, answers) =
            (store(), ChainCache::default(), AnswerMemo::<()>::default());
        let nothing = PolicyChecks {
            chain: false,
            hostname: false,
            revocation: false,
            ..PolicyChecks::ALL
        };
        let matcher = matcher(nothing);
        let known = Known {
            matcher: &matcher,
            store: &store,
            chains: &chains,
            answers: &answers,
            generation: 0,
        };
        let passed =
            decide_passed(&connection(&chain, "anything.example"), &known).expect("decided");
        assert_eq!(
            (passed.path, passed.revocation),
            (None, RevocationOutcome::Disabled)
        );
        // Revocation on with the chain off: never good without a verified path.
        let matcher = super::tests::matcher(PolicyChecks {
            revocation: true,
            ..nothing
        });
        let known = Known {
            matcher: &matcher,
            ..known
        };
        assert_eq!(
            decide_passed(&connection(&chain, "anything.example"), &known),
            None
        );
        // An unusable server name: no policy can be selected here.
        assert_eq!(decide_passed(&connection(&chain, "bad name"), &known), None);
        assert_eq!(decide_passed(&connection(&[], "a.example"), &known), None);
    }

    #[test]
    fn an_anchor_as_leaf_needs_no_revocation_answer() {
        let root = testdata::root();
        let chain: [&[u8]; 1] = [&root];
        let (store, chains, answers) = (store(), ChainCache::default(), AnswerMemo::default());
        let matcher = matcher(PolicyChecks {
            hostname: false,
            ..PolicyChecks::ALL
        });
        chain::verify_chain_cached(&chain, &store, VerifyOptions::at(testdata::NOW), &chains)
            .expect("verifies");
        let known = Known {
            matcher: &matcher,
            store: &store,
            chains: &chains,
            answers: &answers,
            generation: 0,
        };
        // The full path never remembers an answer for it: it decides every time.
        assert_eq!(
            decide_passed(&connection(&chain, "root.example"), &known),
            None
        );
        // One remembered before the store made the leaf an anchor does not count.
        answers.insert(&chain, 0, testdata::NOW + 1, ());
        let passed = decide_passed(&connection(&chain, "root.example"), &known).expect("decided");
        assert_eq!(passed.revocation, RevocationOutcome::NotApplicable);
    }
}
