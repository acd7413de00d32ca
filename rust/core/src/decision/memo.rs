//! The revocation answers of verified paths, remembered for the connection decision.
//!
//! A path whose every certificate a CRL (RFC 5280 section 6.3.3) or an OCSP response
//! (RFC 6960 section 4.2.2.1) called good is good until the earliest nextUpdate of those
//! sources, as long as none of them changed: the caller says which "generation" of its
//! revocation caches an answer came from, and an answer of another generation is never
//! returned. Keyed by the presented chain, byte for byte (a keyed hash picks the slot, the
//! bytes confirm it), bounded in entries and in bytes.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, PoisonError};

/// Answers remembered at most (all are dropped when it is reached).
pub const MAX_MEMO_ENTRIES: usize = 4096;
/// Presented-chain bytes the remembered answers may keep at most (all are dropped when an
/// insertion would pass it).
pub const MAX_MEMO_BYTES: usize = 8 * 1024 * 1024;
/// The largest presented chain remembered, in DER bytes.
pub const MAX_MEMO_CHAIN_BYTES: usize = crate::chain::MAX_CACHED_CHAIN_BYTES;

/// How many trailing bytes of each certificate the slot hash reads (a certificate ends with
/// its signature); the full bytes are compared on every hit.
const SAMPLED_TAIL_BYTES: usize = 64;

#[derive(Debug)]
struct Entry<T> {
    chain: Box<[Box<[u8]>]>,
    generation: u64,
    until: u64,
    value: T,
}

impl<T> Entry<T> {
    fn bytes(&self) -> usize {
        self.chain.iter().map(|cert| cert.len()).sum()
    }

    fn is_for(&self, chain: &[&[u8]]) -> bool {
        self.chain.len() == chain.len()
            && self
                .chain
                .iter()
                .zip(chain)
                .all(|(kept, given)| **kept == **given)
    }
}

#[derive(Debug)]
struct State<T> {
    entries: HashMap<u64, Entry<T>>,
    bytes: usize,
}

/// Path answers by presented chain; see the module documentation. Share by reference.
#[derive(Debug)]
pub struct AnswerMemo<T> {
    state: Mutex<State<T>>,
    hash_key: RandomState,
}

impl<T> Default for AnswerMemo<T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                entries: HashMap::new(),
                bytes: 0,
            }),
            hash_key: RandomState::new(),
        }
    }
}

impl<T: Clone> AnswerMemo<T> {
    fn slot(&self, chain: &[&[u8]]) -> u64 {
        let mut hasher = self.hash_key.build_hasher();
        hasher.write_usize(chain.len());
        for cert in chain {
            hasher.write_usize(cert.len());
            hasher.write(&cert[cert.len().saturating_sub(SAMPLED_TAIL_BYTES)..]);
        }
        hasher.finish()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<T>> {
        // Every update completes before anything that could panic: a poisoned lock is sound.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer remembered for exactly `chain`, when it came from `generation` and `now`
    /// (seconds since the epoch) is before its end. An entry past its end or of an older
    /// generation is dropped.
    pub fn lookup(&self, chain: &[&[u8]], generation: u64, now: u64) -> Option<T> {
        let slot = self.slot(chain);
        let mut state = self.state();
        let entry = state.entries.get(&slot)?;
        if !entry.is_for(chain) {
            return None;
        }
        if entry.generation == generation && now < entry.until {
            return Some(entry.value.clone());
        }
        if let Some(gone) = state.entries.remove(&slot) {
            state.bytes -= gone.bytes();
        }
        None
    }

    /// Remembers `value` for `chain` until `until` (exclusive, seconds since the epoch), as
    /// of `generation`. Returns false when nothing was remembered (the chain is larger than
    /// [`MAX_MEMO_CHAIN_BYTES`]).
    pub fn insert(&self, chain: &[&[u8]], generation: u64, until: u64, value: T) -> bool {
        let bytes: usize = chain.iter().map(|cert| cert.len()).sum();
        if bytes > MAX_MEMO_CHAIN_BYTES || chain.is_empty() {
            return false;
        }
        let slot = self.slot(chain);
        let entry = Entry {
            chain: chain.iter().map(|cert| Box::<[u8]>::from(*cert)).collect(),
            generation,
            until,
            value,
        };
        let mut state = self.state();
        if let Some(replaced) = state.entries.remove(&slot) {
            state.bytes -= replaced.bytes();
        }
        if state.entries.len() >= MAX_MEMO_ENTRIES || state.bytes + bytes > MAX_MEMO_BYTES {
            state.entries.clear();
            state.bytes = 0;
        }
        state.bytes += bytes;
        state.entries.insert(slot, entry);
        true
    }

    /// Forgets every answer.
    pub fn clear(&self) {
        let mut state = self.state();
        state.entries.clear();
        state.bytes = 0;
    }

    /// (entries, chain bytes) held now.
    pub fn size(&self) -> (usize, usize) {
        let state = self.state();
        (state.entries.len(), state.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_only_the_same_chain_generation_and_time() {
        let memo = AnswerMemo::default();
        let (leaf, int) = (vec![1u8; 300], vec![2u8; 200]);
        assert!(memo.insert(&[&leaf, &int], 7, 100, "good"));
        assert_eq!(memo.lookup(&[&leaf, &int], 7, 99), Some("good"));
        assert_eq!(memo.lookup(&[&leaf], 7, 99), None);
        let mut other = leaf.clone();
        other[0] = 9; // same tail, other bytes: the slot matches, the bytes do not
        assert_eq!(memo.lookup(&[&other, &int], 7, 99), None);
        assert_eq!(memo.size(), (1, 500));
        // Another generation: a cache changed since; the entry goes.
        assert_eq!(memo.lookup(&[&leaf, &int], 8, 99), None);
        assert_eq!(memo.size(), (0, 0));
        assert!(memo.insert(&[&leaf, &int], 8, 100, "good"));
        // At its end (nextUpdate) it is no longer an answer.
        assert_eq!(memo.lookup(&[&leaf, &int], 8, 100), None);
        assert_eq!(memo.size(), (0, 0));
    }

    #[test]
    fn bounded_in_entries_and_bytes() {
        let memo = AnswerMemo::default();
        let huge = vec![0u8; MAX_MEMO_CHAIN_BYTES + 1];
        assert!(!memo.insert(&[&huge], 1, 10, ()));
        assert!(!memo.insert(&[], 1, 10, ()));
        for index in 0..(MAX_MEMO_ENTRIES + 10) {
            let cert = (index as u64).to_be_bytes().repeat(4);
            assert!(memo.insert(&[&cert], 1, 10, ()));
            let (entries, bytes) = memo.size();
            assert!(entries <= MAX_MEMO_ENTRIES && bytes <= MAX_MEMO_BYTES);
        }
        let big = vec![5u8; MAX_MEMO_CHAIN_BYTES];
        for index in 0..(MAX_MEMO_BYTES / MAX_MEMO_CHAIN_BYTES + 5) {
            let mut cert = big.clone();
            cert[..8].copy_from_slice(&(index as u64).to_be_bytes());
            let tail = cert.len() - 8;
            cert[tail..].copy_from_slice(&(index as u64).to_be_bytes());
            assert!(memo.insert(&[&cert], 1, 10, ()));
            assert!(memo.size().1 <= MAX_MEMO_BYTES);
        }
        memo.clear();
        assert_eq!(memo.size(), (0, 0));
    }
}
