//! The verified-chain cache and the signature memo: repeated work of path validation (RFC 5280
//! section 6.1) remembered, safely.
//!
//! - **Verified chains.** A chain that verified is remembered with its path and the validity
//!   window of that path (the latest notBefore and the earliest notAfter of every certificate
//!   in it, trust anchor included). A later call with the byte-identical chain, the same trust
//!   store generation ([`TrustStore::generation`]) and the same depth limit gets the path back
//!   without path building or signature checks, after checking the validation time against
//!   the window. Outside the window it is a miss and full validation explains the failure.
//!   Failures are never remembered, nor anything about revocation.
//! - **Signatures.** A signature that verified is remembered by the SHA-256 of (algorithm,
//!   public key, signed bytes, signature), so a new server certificate under a known CA pays
//!   for its own signature only, not for the CA's.
//!
//! Identity of chains is exact: an entry keeps the presented DER and a hit compares it byte for
//! byte, so no two different chains can ever share an entry (no hash collision can make a
//! false hit). The lookup hash is SipHash-1-3 with a per-process random key over each
//! certificate's length and last 64 bytes (its signature), which costs ~40 ns where hashing the
//! whole chain with SHA-256 costs ~1 µs, more than the rest of a hit. The signature memo has
//! no bytes to compare, so it keys on SHA-256, whose collision resistance is what makes a
//! remembered "valid" safe to reuse.
//!
//! Both are bounded LRU maps split into [`SHARDS`] independently locked shards: threads
//! contend only when they touch the same shard at the same moment, and no lock is held during
//! validation.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};

use crate::trust::TrustStore;

/// How many independently locked parts each map is split into.
pub const SHARDS: usize = 16;

/// Verified chains remembered by default: a few hundred endpoints, with room to spare. An
/// entry holds the presented DER (typically 2-6 KiB).
pub const DEFAULT_CHAIN_ENTRIES: usize = 1024;

/// Signatures remembered per chain entry.
pub const SIGNATURES_PER_CHAIN: usize = 4;

/// The largest capacity accepted, in chains; a budget on memory.
pub const MAX_CHAIN_ENTRIES: usize = 1 << 20;

/// The largest presented chain remembered, in DER bytes. Real chains are 2-10 KiB; a server
/// can pad a valid chain with unused certificates up to [`crate::limits::MAX_PRESENTED_CERTS`]
/// of [`crate::limits::MAX_CERT_BYTES`] each, and such a chain is verified but not kept, so the
/// cache holds at most this many bytes per entry.
pub const MAX_CACHED_CHAIN_BYTES: usize = 32 * 1024;

/// How many trailing bytes of each certificate the lookup hash reads. A certificate ends with
/// its signature, which differs between any two certificates a CA signs.
const SAMPLED_TAIL_BYTES: usize = 64;

/// A verified path, as positions: the certificates are the caller's and the store's, so a hit
/// copies none of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPath {
    /// Indexes into the presented chain, leaf (0) first, then each intermediate of the path
    /// in leaf-to-anchor order.
    pub presented: Vec<usize>,
    /// Index of the trust anchor in the store ([`TrustStore::anchor_der`]).
    pub anchor: usize,
}

/// Hit and size counters of one map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the map.
    pub hits: u64,
    /// Lookups that were not (the caller then did the full work).
    pub misses: u64,
    /// Entries held now.
    pub entries: usize,
    /// The most entries it holds (rounded up to a multiple of [`SHARDS`]).
    pub capacity: usize,
}

/// Counters of both maps of a [`ChainCache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChainCacheStats {
    /// The verified-chain map.
    pub chains: CacheStats,
    /// The signature memo.
    pub signatures: CacheStats,
}

/// The verified-chain cache and signature memo; see the module documentation. Share one by
/// reference between threads.
#[derive(Debug)]
pub struct ChainCache {
    chains: Sharded<ChainEntry>,
    signatures: Sharded<[u8; 32]>,
    /// Keys the lookup hash per process, so no one can aim inputs at one slot.
    hash_key: RandomState,
}

/// Where a chain's entry would be: computed once per call and used for the lookup and the
/// insertion after a miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainKey {
    hash: u64,
    generation: u64,
    max_intermediates: usize,
}

#[derive(Debug)]
struct ChainEntry {
    generation: u64,
    max_intermediates: usize,
    presented: Box<[Box<[u8]>]>,
    path: ChainPath,
    not_before: i64,
    not_after: i64,
}

impl ChainEntry {
    fn is_for(&self, key: &ChainKey, chain: &[&[u8]]) -> bool {
        self.generation == key.generation
            && self.max_intermediates == key.max_intermediates
            && self.presented.len() == chain.len()
            && self
                .presented
                .iter()
                .zip(chain)
                .all(|(kept, given)| **kept == **given)
    }
}

impl Default for ChainCache {
    fn default() -> Self {
        Self::new(DEFAULT_CHAIN_ENTRIES)
    }
}

impl ChainCache {
    /// A cache for up to `chain_entries` verified chains (capped at [`MAX_CHAIN_ENTRIES`])
    /// and [`SIGNATURES_PER_CHAIN`] times as many signatures; 0 disables both.
    pub fn new(chain_entries: usize) -> Self {
        let cache = Self {
            chains: Sharded::new(),
            signatures: Sharded::new(),
            hash_key: RandomState::new(),
        };
        cache.set_capacity(chain_entries);
        cache
    }

    /// Changes the capacity (see [`ChainCache::new`]), evicting the least recently used
    /// entries that no longer fit.
    pub fn set_capacity(&self, chain_entries: usize) {
        let chain_entries = chain_entries.min(MAX_CHAIN_ENTRIES);
        self.chains.set_capacity(chain_entries);
        self.signatures
            .set_capacity(chain_entries * SIGNATURES_PER_CHAIN);
    }

    /// Forgets every entry; the counters keep counting.
    pub fn clear(&self) {
        self.chains.retain(|_| false);
        self.signatures.retain(|_| false);
    }

    /// Drops the chains verified against a store generation that was replaced: they can never
    /// hit again, so their memory is freed at once instead of when they age out.
    pub fn forget_store(&self, generation: u64) {
        self.chains.retain(|entry| entry.generation != generation);
    }

    /// Hit, miss and size counters.
    pub fn stats(&self) -> ChainCacheStats {
        ChainCacheStats {
            chains: self.chains.stats(),
            signatures: self.signatures.stats(),
        }
    }

    /// True when chains are remembered at all.
    pub fn is_enabled(&self) -> bool {
        self.chains.capacity() > 0
    }

    /// The key of `chain` verified against `store` with a depth limit of `max_intermediates`.
    pub fn key(&self, chain: &[&[u8]], store: &TrustStore, max_intermediates: usize) -> ChainKey {
        let generation = store.generation();
        let mut hasher = self.hash_key.build_hasher();
        hasher.write_u64(generation);
        hasher.write_usize(max_intermediates);
        hasher.write_usize(chain.len());
        for cert in chain {
            hasher.write_usize(cert.len());
            hasher.write(&cert[cert.len().saturating_sub(SAMPLED_TAIL_BYTES)..]);
        }
        ChainKey {
            hash: hasher.finish(),
            generation,
            max_intermediates,
        }
    }

    /// The remembered path of exactly `chain` under `key`, when its validity window contains
    /// `at_unix_seconds`. Counts a hit or a miss (nothing while the cache is disabled).
    pub fn lookup(
        &self,
        key: &ChainKey,
        chain: &[&[u8]],
        at_unix_seconds: u64,
    ) -> Option<ChainPath> {
        if !self.is_enabled() {
            return None;
        }
        let at = i64::try_from(at_unix_seconds).unwrap_or(i64::MAX);
        self.chains.lookup(key.hash, |entry| {
            (entry.is_for(key, chain) && entry.not_before <= at && at <= entry.not_after)
                .then(|| entry.path.clone())
        })
    }

    /// Remembers that `chain` verified to `path`, valid from `not_before` to `not_after`
    /// (seconds since the epoch, inclusive).
    pub fn insert(
        &self,
        key: &ChainKey,
        chain: &[&[u8]],
        path: ChainPath,
        (not_before, not_after): (i64, i64),
    ) {
        let bytes: usize = chain.iter().map(|cert| cert.len()).sum();
        if !self.is_enabled() || bytes > MAX_CACHED_CHAIN_BYTES {
            return;
        }
        let entry = ChainEntry {
            generation: key.generation,
            max_intermediates: key.max_intermediates,
            presented: chain.iter().map(|cert| Box::<[u8]>::from(*cert)).collect(),
            path,
            not_before,
            not_after,
        };
        self.chains.insert(key.hash, entry);
    }

    /// `algorithms`, each wrapped to consult and feed the signature memo, except for the
    /// signature on `leaf`: a server certificate seen again hits the chain map instead, so
    /// hashing its signed bytes would be wasted work.
    pub(crate) fn memoizing<'c>(
        &'c self,
        algorithms: &[&'static dyn SignatureVerificationAlgorithm],
        leaf: &'c [u8],
    ) -> Vec<MemoizedSignature<'c>> {
        algorithms
            .iter()
            .map(|&inner| MemoizedSignature {
                inner,
                cache: self,
                leaf,
            })
            .collect()
    }
}

/// A signature algorithm that remembers the signatures it verified (see [`ChainCache`]).
#[derive(Debug)]
pub(crate) struct MemoizedSignature<'c> {
    inner: &'static dyn SignatureVerificationAlgorithm,
    cache: &'c ChainCache,
    /// The presented server certificate, whose signature is not memoized.
    leaf: &'c [u8],
}

impl MemoizedSignature<'_> {
    /// SHA-256 of everything the outcome depends on, each part length-prefixed so no two
    /// different inputs share an encoding.
    fn digest(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> [u8; 32] {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        let algorithm = self.inner.signature_alg_id();
        for part in [algorithm.as_ref(), public_key, message, signature] {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(context.finish().as_ref());
        out
    }
}

impl SignatureVerificationAlgorithm for MemoizedSignature<'_> {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let signatures = &self.cache.signatures;
        // webpki hands out slices of the certificates it was given, so the address tells
        // whether these are the leaf's signed bytes.
        let signs_leaf = self.leaf.as_ptr_range().contains(&message.as_ptr());
        if signatures.capacity() == 0 || signs_leaf {
            return self.inner.verify_signature(public_key, message, signature);
        }
        let digest = self.digest(public_key, message, signature);
        let slot = u64::from_le_bytes([
            digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
        ]);
        if signatures
            .lookup(slot, |kept| (*kept == digest).then_some(()))
            .is_some()
        {
            return Ok(());
        }
        self.inner
            .verify_signature(public_key, message, signature)?;
        signatures.insert(slot, digest);
        Ok(())
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.signature_alg_id()
    }

    fn fips(&self) -> bool {
        self.inner.fips()
    }
}

/// A map split into [`SHARDS`] LRU maps by hash.
#[derive(Debug)]
struct Sharded<V> {
    shards: Box<[Mutex<Lru<V>>]>,
    /// Capacity of each shard; read without a lock on the fast "disabled" path.
    per_shard: AtomicUsize,
}

impl<V> Sharded<V> {
    fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Lru::default())).collect(),
            per_shard: AtomicUsize::new(0),
        }
    }

    fn shard(&self, hash: u64) -> MutexGuard<'_, Lru<V>> {
        // Bits 32.. pick the shard; the map inside uses the low bits, so both spread.
        let index = (hash >> 32) as usize % SHARDS;
        // A panic while a shard is locked cannot leave it inconsistent (every update
        // finishes before anything that could panic), so a poisoned lock is still usable.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn capacity(&self) -> usize {
        self.per_shard.load(Ordering::Relaxed) * SHARDS
    }

    fn set_capacity(&self, total: usize) {
        let per_shard = total.div_ceil(SHARDS);
        self.per_shard.store(per_shard, Ordering::Relaxed);
        for shard in self.shards.iter() {
            shard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .set_capacity(per_shard);
        }
    }

    fn lookup<T>(&self, hash: u64, answer: impl FnOnce(&V) -> Option<T>) -> Option<T> {
        self.shard(hash).lookup(hash, answer)
    }

    fn insert(&self, hash: u64, value: V) {
        self.shard(hash).insert(hash, value);
    }

    fn retain(&self, keep: impl Fn(&V) -> bool) {
        for shard in self.shards.iter() {
            shard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(&keep);
        }
    }

    fn stats(&self) -> CacheStats {
        self.shards.iter().fold(
            CacheStats {
                capacity: self.capacity(),
                ..CacheStats::default()
            },
            |mut total, shard| {
                let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
                total.hits += shard.hits;
                total.misses += shard.misses;
                total.entries += shard.map.len();
                total
            },
        )
    }
}

/// "No slot" in the recency list.
const NIL: usize = usize::MAX;

/// A hasher for keys that are already uniform 64-bit hashes.
#[derive(Debug, Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

#[derive(Debug)]
struct Slot<V> {
    hash: u64,
    value: V,
    newer: usize,
    older: usize,
}

/// A bounded map from hash to value with least-recently-used eviction: slots in a vector,
/// linked newest to oldest by index. One value per hash: a colliding insertion replaces.
#[derive(Debug)]
struct Lru<V> {
    map: HashMap<u64, usize, BuildHasherDefault<PassThrough>>,
    slots: Vec<Slot<V>>,
    newest: usize,
    oldest: usize,
    capacity: usize,
    hits: u64,
    misses: u64,
}

impl<V> Default for Lru<V> {
    fn default() -> Self {
        Self {
            map: HashMap::default(),
            slots: Vec::new(),
            newest: NIL,
            oldest: NIL,
            capacity: 0,
            hits: 0,
            misses: 0,
        }
    }
}

impl<V> Lru<V> {
    fn lookup<T>(&mut self, hash: u64, answer: impl FnOnce(&V) -> Option<T>) -> Option<T> {
        let found = self
            .map
            .get(&hash)
            .copied()
            .and_then(|index| Some((index, answer(&self.slots.get(index)?.value)?)));
        match found {
            Some((index, out)) => {
                self.hits += 1;
                self.touch(index);
                Some(out)
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    fn insert(&mut self, hash: u64, value: V) {
        if self.capacity == 0 {
            return;
        }
        if let Some(&index) = self.map.get(&hash) {
            self.slots[index].value = value;
            self.touch(index);
            return;
        }
        let index = if self.slots.len() < self.capacity {
            self.slots.push(Slot {
                hash,
                value,
                newer: NIL,
                older: NIL,
            });
            self.slots.len() - 1
        } else {
            // Full: the oldest slot takes the new entry.
            let index = self.oldest;
            self.unlink(index);
            let slot = &mut self.slots[index];
            self.map.remove(&slot.hash);
            slot.hash = hash;
            slot.value = value;
            index
        };
        self.map.insert(hash, index);
        self.push_newest(index);
    }

    /// Makes slot `index` the most recently used.
    fn touch(&mut self, index: usize) {
        if self.newest != index {
            self.unlink(index);
            self.push_newest(index);
        }
    }

    fn unlink(&mut self, index: usize) {
        let (newer, older) = (self.slots[index].newer, self.slots[index].older);
        match newer {
            NIL => self.newest = older,
            newer => self.slots[newer].older = older,
        }
        match older {
            NIL => self.oldest = newer,
            older => self.slots[older].newer = newer,
        }
    }

    fn push_newest(&mut self, index: usize) {
        let previous = self.newest;
        self.slots[index].newer = NIL;
        self.slots[index].older = previous;
        match previous {
            NIL => self.oldest = index,
            previous => self.slots[previous].newer = index,
        }
        self.newest = index;
    }

    /// Keeps the entries `keep` accepts, at most `capacity` of them, newest first; rebuilds the
    /// slots (rare: on resize, clear and store replacement).
    fn rebuild(&mut self, capacity: usize, keep: impl Fn(&V) -> bool) {
        let mut slots: Vec<Option<Slot<V>>> = std::mem::take(&mut self.slots)
            .into_iter()
            .map(Some)
            .collect();
        let mut order = Vec::with_capacity(slots.len());
        let mut cursor = self.newest;
        while cursor != NIL {
            order.push(cursor);
            cursor = slots[cursor].as_ref().map_or(NIL, |slot| slot.older);
        }
        self.map.clear();
        self.newest = NIL;
        self.oldest = NIL;
        self.capacity = capacity;
        // Oldest first, so the newest ends up newest again.
        for index in order.into_iter().rev() {
            match slots[index].take() {
                Some(slot) if keep(&slot.value) => self.insert(slot.hash, slot.value),
                _ => {}
            }
        }
        self.map.shrink_to_fit();
        self.slots.shrink_to_fit();
    }

    fn set_capacity(&mut self, capacity: usize) {
        if capacity < self.slots.len() {
            self.rebuild(capacity, |_| true);
        } else {
            self.capacity = capacity;
        }
    }

    fn retain(&mut self, keep: impl Fn(&V) -> bool) {
        if self.slots.iter().any(|slot| !keep(&slot.value)) {
            self.rebuild(self.capacity, keep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lru(capacity: usize) -> Lru<u32> {
        let mut lru = Lru::default();
        lru.set_capacity(capacity);
        lru
    }

    fn get(lru: &mut Lru<u32>, hash: u64) -> Option<u32> {
        lru.lookup(hash, |value| Some(*value))
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let mut lru = lru(3);
        for key in 1..=3 {
            lru.insert(key, key as u32 * 10);
        }
        assert_eq!(get(&mut lru, 1), Some(10)); // 1 is now the newest; 2 the oldest
        lru.insert(4, 40);
        assert_eq!(get(&mut lru, 2), None);
        assert_eq!(get(&mut lru, 1), Some(10));
        assert_eq!(get(&mut lru, 3), Some(30));
        assert_eq!(get(&mut lru, 4), Some(40));
        assert_eq!(lru.map.len(), 3);
        assert_eq!((lru.hits, lru.misses), (4, 1));
    }

    #[test]
    fn same_hash_replaces() {
        let mut lru = lru(2);
        lru.insert(7, 1);
        lru.insert(7, 2);
        assert_eq!(get(&mut lru, 7), Some(2));
        assert_eq!(lru.map.len(), 1);
    }

    #[test]
    fn a_rejected_answer_is_a_miss() {
        let mut lru = lru(2);
        lru.insert(7, 1);
        assert_eq!(lru.lookup(7, |_| None::<u32>), None);
        assert_eq!((lru.hits, lru.misses), (0, 1));
    }

    #[test]
    fn shrinking_keeps_the_newest_and_retain_filters() {
        let mut lru = lru(4);
        for key in 1..=4 {
            lru.insert(key, key as u32);
        }
        lru.set_capacity(2);
        assert_eq!(lru.map.len(), 2);
        assert_eq!(get(&mut lru, 1), None);
        assert_eq!(get(&mut lru, 3), Some(3));
        assert_eq!(get(&mut lru, 4), Some(4));
        lru.retain(|value| *value != 3);
        assert_eq!(get(&mut lru, 3), None);
        assert_eq!(get(&mut lru, 4), Some(4));
        lru.insert(5, 5);
        lru.insert(6, 6); // evicts 4, the oldest
        assert_eq!(get(&mut lru, 4), None);
        lru.set_capacity(0);
        lru.insert(8, 8);
        assert_eq!(get(&mut lru, 8), None);
    }

    #[test]
    fn linked_list_stays_consistent_under_churn() {
        let mut lru = lru(8);
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..5_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let key = state % 20;
            if state & 1 == 0 {
                lru.insert(key, key as u32);
            } else if let Some(value) = get(&mut lru, key) {
                assert_eq!(u64::from(value), key);
            }
            assert!(lru.map.len() <= 8);
            let mut count = 0;
            let mut cursor = lru.newest;
            while cursor != NIL {
                count += 1;
                cursor = lru.slots[cursor].older;
            }
            assert_eq!(count, lru.map.len());
        }
    }

    #[test]
    fn sharded_capacity_and_counters() {
        let sharded: Sharded<u32> = Sharded::new();
        sharded.set_capacity(20);
        assert_eq!(sharded.capacity(), 32); // rounded up to 2 per shard
        for key in 0..1_000u64 {
            sharded.insert(key << 32 | key, 1);
        }
        let stats = sharded.stats();
        assert!(stats.entries <= 32, "{stats:?}");
        assert_eq!(sharded.lookup(999 << 32 | 999, |v| Some(*v)), Some(1));
        assert_eq!(sharded.lookup(0, |v| Some(*v)), None);
        let stats = sharded.stats();
        assert_eq!((stats.hits, stats.misses), (1, 1));
        sharded.retain(|_| false);
        assert_eq!(sharded.stats().entries, 0);
    }

    #[test]
    fn disabled_cache_keeps_nothing() {
        let cache = ChainCache::new(0);
        let store = TrustStore::new();
        let chain: [&[u8]; 1] = [b"cert"];
        let key = cache.key(&chain, &store, 6);
        let path = ChainPath {
            presented: vec![0],
            anchor: 0,
        };
        cache.insert(&key, &chain, path, (0, i64::MAX));
        assert_eq!(cache.lookup(&key, &chain, 1), None);
        assert_eq!(cache.stats(), ChainCacheStats::default());
    }

    #[test]
    fn oversized_chains_are_not_kept() {
        let cache = ChainCache::new(64);
        let store = TrustStore::new();
        let padding = vec![0u8; MAX_CACHED_CHAIN_BYTES];
        let chain: [&[u8]; 2] = [b"leaf", &padding];
        let key = cache.key(&chain, &store, 6);
        let path = ChainPath {
            presented: vec![0],
            anchor: 0,
        };
        cache.insert(&key, &chain, path, (0, i64::MAX));
        assert_eq!(cache.stats().chains.entries, 0);
    }

    #[test]
    fn exact_bytes_generation_depth_and_window_decide_a_hit() {
        let cache = ChainCache::new(64);
        let store = TrustStore::new();
        let chain: [&[u8]; 2] = [b"leaf bytes", b"intermediate bytes"];
        let key = cache.key(&chain, &store, 6);
        let path = ChainPath {
            presented: vec![0, 1],
            anchor: 3,
        };
        cache.insert(&key, &chain, path.clone(), (100, 200));
        assert_eq!(cache.lookup(&key, &chain, 100), Some(path.clone()));
        assert_eq!(cache.lookup(&key, &chain, 200), Some(path));
        assert_eq!(cache.lookup(&key, &chain, 99), None);
        assert_eq!(cache.lookup(&key, &chain, 201), None);
        // Same hash (forced), different bytes: never a hit.
        let changed: [&[u8]; 2] = [b"leaf bytes", b"intermediate bytez"];
        assert_eq!(cache.lookup(&key, &changed, 150), None);
        // Another depth limit or store generation: another key, and no hit either.
        let deeper = cache.key(&chain, &store, 5);
        assert_eq!(cache.lookup(&deeper, &chain, 150), None);
        let other_store = TrustStore::new();
        assert_ne!(other_store.generation(), store.generation());
        let other = cache.key(&chain, &other_store, 6);
        assert_eq!(cache.lookup(&other, &chain, 150), None);
        let stats = cache.stats().chains;
        assert_eq!((stats.hits, stats.misses, stats.entries), (2, 5, 1));
        cache.forget_store(store.generation());
        assert_eq!(cache.stats().chains.entries, 0);
    }
}
