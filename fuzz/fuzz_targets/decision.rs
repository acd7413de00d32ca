//! The one-call connection decision (`certpolicy_core::decision::decide_passed`) on hostile
//! chains and server names. Input: a flags byte, then the server name, then the presented
//! certificates, joined by SEP (none given: the test leaf and intermediate).
//!
//! Flags: bit 0 chain check off, bit 1 hostname check off, bit 2 revocation check on, bit 3
//! common-name fallback, bits 4-5 the validation time (see `time`), bit 6 a remembered
//! revocation verdict for the chain.
//!
//! Invariant: the decision never passes what the full checks fail. When it decides, the
//! chain verifies in full (to the same path), the hostname check passes, and a "good"
//! revocation outcome is the verdict remembered for exactly this chain.
#![no_main]

use certpolicy_core::chain::{self, ChainCache, VerifyOptions};
use certpolicy_core::decision::{AnswerMemo, Connection, Known, RevocationOutcome, decide_passed};
use certpolicy_core::policy::{Kind, Matcher, PolicyChecks, PolicySpec};
use certpolicy_core::{TrustStore, verify_hostname};
use certpolicy_fuzz::{flags, pki, split, time};
use libfuzzer_sys::fuzz_target;

/// The verdict remembered under bit 6.
const REMEMBERED: u8 = 7;

fuzz_target!(|data: &[u8]| {
    let (flags, rest) = flags(data);
    let parts = split(rest);
    let host = String::from_utf8_lossy(parts.first().copied().unwrap_or_default());
    let mut chain: Vec<&[u8]> = parts.iter().skip(1).copied().collect();
    if chain.is_empty() {
        chain = vec![pki::LEAF, pki::INTERMEDIATE];
    }
    let checks = PolicyChecks {
        chain: flags & 1 == 0,
        hostname: flags & 2 == 0,
        revocation: flags & 4 != 0,
        allow_common_name: flags & 8 != 0,
        audit: false,
    };
    let spec = PolicySpec {
        name: "Web".into(),
        kind: Kind::Internet,
        hosts: Vec::new(),
        ip_ranges: Vec::new(),
        active: true,
        order: 0,
        checks,
    };
    let Ok(matcher) = Matcher::compile(&[spec]) else {
        panic!("one internet policy compiles");
    };
    let mut store = TrustStore::new();
    if store.add_der(pki::ROOT).is_err() {
        panic!("the test root parses");
    }
    let now = time(flags >> 4);
    let (cache, answers) = (ChainCache::default(), AnswerMemo::default());
    // The full check, which also warms the verified-chain cache as the engine's full path does.
    let full = chain::verify_chain_cached(&chain, &store, VerifyOptions::at(now), &cache);
    if flags & 0x40 != 0 {
        answers.insert(&chain, 0, now.saturating_add(1), REMEMBERED);
    }
    let connection = Connection {
        chain: &chain,
        host: &host,
        ip: None,
        port: Some(443),
        trust_peer_ip: false,
        now,
    };
    let known = Known {
        matcher: &matcher,
        store: &store,
        chains: &cache,
        answers: &answers,
        generation: 0,
    };
    let Some(passed) = decide_passed(&connection, &known) else {
        return;
    };
    if checks.chain {
        assert_eq!(
            passed.path.as_ref(),
            full.as_ref().ok(),
            "decided on a chain that fails"
        );
    } else {
        assert!(passed.path.is_none());
    }
    if checks.hostname {
        let leaf = chain.first().copied().unwrap_or_default();
        assert!(
            verify_hostname(leaf, &host, checks.allow_common_name).is_ok(),
            "decided on a name that fails: {host:?}"
        );
    }
    match passed.revocation {
        RevocationOutcome::Disabled => assert!(!checks.revocation),
        RevocationOutcome::NotApplicable => {
            assert!(passed.path.is_some_and(|path| path.presented.is_empty()));
        }
        RevocationOutcome::Good(verdict) => {
            assert!(checks.revocation && flags & 0x40 != 0 && verdict == REMEMBERED);
        }
    }
});
