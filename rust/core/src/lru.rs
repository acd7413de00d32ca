//! A bounded map from 64-bit hashes to values with least-recently-used eviction, split into
//! [`SHARDS`] independently locked shards: the storage behind the verified-chain cache and the
//! signature memo of [`crate::chain`].
//!
//! The map is generic over its values and knows nothing about certificates. Keys are hashes the
//! caller has already made uniform (a keyed SipHash, a SHA-256 prefix); a hash holds at most
//! one value, so a colliding insertion replaces the older one, and a lookup asks the caller to
//! confirm the value found ([`ShardedLru::lookup`]'s `answer`), so a collision can only cost a
//! miss, never return a value for another key.
//!
//! Threads contend only when they touch the same shard at the same moment; no lock is held
//! while the caller does the work a lookup saves.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// How many independently locked parts each map is split into.
pub const SHARDS: usize = 16;

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

/// A map split into [`SHARDS`] LRU maps by hash; share it by reference between threads.
#[derive(Debug)]
pub(crate) struct ShardedLru<V> {
    shards: Box<[Mutex<Lru<V>>]>,
    /// Capacity of each shard; read without a lock on the fast "disabled" path.
    per_shard: AtomicUsize,
}

impl<V> ShardedLru<V> {
    pub(crate) fn new() -> Self {
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

    pub(crate) fn capacity(&self) -> usize {
        self.per_shard.load(Ordering::Relaxed) * SHARDS
    }

    pub(crate) fn set_capacity(&self, total: usize) {
        let per_shard = total.div_ceil(SHARDS);
        self.per_shard.store(per_shard, Ordering::Relaxed);
        for shard in self.shards.iter() {
            shard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .set_capacity(per_shard);
        }
    }

    pub(crate) fn lookup<T>(&self, hash: u64, answer: impl FnOnce(&V) -> Option<T>) -> Option<T> {
        self.shard(hash).lookup(hash, true, answer)
    }

    /// Like [`ShardedLru::lookup`], but nothing found counts no miss: for a caller that
    /// looks first and, when nothing is found, hands over to a path that looks again.
    pub(crate) fn lookup_hit_only<T>(
        &self,
        hash: u64,
        answer: impl FnOnce(&V) -> Option<T>,
    ) -> Option<T> {
        self.shard(hash).lookup(hash, false, answer)
    }

    pub(crate) fn insert(&self, hash: u64, value: V) {
        self.shard(hash).insert(hash, value);
    }

    pub(crate) fn retain(&self, keep: impl Fn(&V) -> bool) {
        for shard in self.shards.iter() {
            shard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(&keep);
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
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
    fn lookup<T>(
        &mut self,
        hash: u64,
        count_miss: bool,
        answer: impl FnOnce(&V) -> Option<T>,
    ) -> Option<T> {
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
                if count_miss {
                    self.misses += 1;
                }
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
        lru.lookup(hash, true, |value| Some(*value))
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
        assert_eq!(lru.lookup(7, true, |_| None::<u32>), None);
        assert_eq!((lru.hits, lru.misses), (0, 1));
        assert_eq!(lru.lookup(7, false, |_| None::<u32>), None);
        assert_eq!(
            (lru.hits, lru.misses),
            (0, 1),
            "a quiet miss counts nothing"
        );
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
        let sharded: ShardedLru<u32> = ShardedLru::new();
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
        assert_eq!(sharded.lookup_hit_only(0, |v| Some(*v)), None);
        assert_eq!(
            sharded.lookup_hit_only(999 << 32 | 999, |v| Some(*v)),
            Some(1)
        );
        let stats = sharded.stats();
        assert_eq!((stats.hits, stats.misses), (2, 1));
        sharded.retain(|_| false);
        assert_eq!(sharded.stats().entries, 0);
    }
}
