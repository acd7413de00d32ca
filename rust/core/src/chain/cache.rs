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
//! Both are bounded LRU maps split into [`SHARDS`] independently locked shards
//! ([`crate::lru`]): threads contend only when they touch the same shard at the same moment,
//! and no lock is held during validation.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};

use crate::lru::ShardedLru;
pub use crate::lru::{CacheStats, SHARDS};
use crate::trust::TrustStore;

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
    /// in leaf-to-anchor order; empty when the leaf is itself the anchor.
    pub presented: Vec<usize>,
    /// Index of the trust anchor in the store ([`TrustStore::anchor_der`]).
    pub anchor: usize,
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
    chains: ShardedLru<ChainEntry>,
    signatures: ShardedLru<[u8; 32]>,
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
            chains: ShardedLru::new(),
            signatures: ShardedLru::new(),
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
        self.find(key, chain, at_unix_seconds, true)
    }

    /// Like [`ChainCache::lookup`], counting a hit but never a miss: for a caller that
    /// falls back to a full `verify_chain` (which counts the miss) when nothing is found.
    pub fn lookup_hit_only(
        &self,
        key: &ChainKey,
        chain: &[&[u8]],
        at_unix_seconds: u64,
    ) -> Option<ChainPath> {
        self.find(key, chain, at_unix_seconds, false)
    }

    fn find(
        &self,
        key: &ChainKey,
        chain: &[&[u8]],
        at_unix_seconds: u64,
        count_miss: bool,
    ) -> Option<ChainPath> {
        if !self.is_enabled() {
            return None;
        }
        let at = i64::try_from(at_unix_seconds).unwrap_or(i64::MAX);
        let answer = |entry: &ChainEntry| {
            (entry.is_for(key, chain) && entry.not_before <= at && at <= entry.not_after)
                .then(|| entry.path.clone())
        };
        if count_miss {
            self.chains.lookup(key.hash, answer)
        } else {
            self.chains.lookup_hit_only(key.hash, answer)
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
