//! Small caches of what every request reads and almost nothing writes (API tokens; TLDs, desks
//! and source classes for intake), emptied by the use cases that write it and, for what another
//! process may write, never older than a short time to live.
//!
//! A value read from the store is kept only if nothing was invalidated since the read began
//! (a generation count), so a read racing a write cannot put the old value back after the
//! writer emptied the cache.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};

/// How long a cached value is used before it is read again: what another process (a second
/// server on the same PostgreSQL database) changes takes effect within this time; what this
/// process changes takes effect at once.
pub(crate) const TIME_TO_LIVE: SignedDuration = SignedDuration::from_secs(1);

/// The most values a cache holds; when full it starts again empty.
const MAX_ENTRIES: usize = 10_000;

/// Values by key, each with the time it was read.
#[derive(Debug)]
pub(crate) struct Cache<K, V> {
    inner: Mutex<Inner<K, V>>,
}

#[derive(Debug)]
struct Inner<K, V> {
    generation: u64,
    entries: HashMap<K, (Timestamp, V)>,
}

impl<K, V> Default for Cache<K, V> {
    fn default() -> Self {
        Cache {
            inner: Mutex::new(Inner {
                generation: 0,
                entries: HashMap::new(),
            }),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Cache<K, V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // The map is valid whatever a panicking holder did: entries are inserted whole.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// To pass to [`Cache::put`]: taken before reading the store.
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// The value of `key` if it was read less than [`TIME_TO_LIVE`] before `now`.
    pub(crate) fn get(&self, key: &K, now: Timestamp) -> Option<V> {
        let inner = self.lock();
        let (read_at, value) = inner.entries.get(key)?;
        let fresh = *read_at <= now && now.duration_since(*read_at) < TIME_TO_LIVE;
        fresh.then(|| value.clone())
    }

    /// Keeps `value`, read at `now`, unless the cache was invalidated after `generation`.
    pub(crate) fn put(&self, generation: u64, key: K, value: V, now: Timestamp) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(key, (now, value));
    }

    /// Forgets every value; reads that began before are not kept either. Called after the
    /// commit of a change to what the cache holds.
    pub(crate) fn invalidate(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    #[test]
    fn values_expire_and_invalidation_wins_over_a_racing_read() {
        let cache: Cache<&str, i32> = Cache::default();
        let generation = cache.generation();
        cache.put(generation, "a", 1, at(100));
        assert_eq!(cache.get(&"a", at(100)), Some(1));
        assert_eq!(cache.get(&"a", at(101)), None, "expired");
        assert_eq!(cache.get(&"a", at(99)), None, "the clock went back");

        // A read began, a write committed and invalidated: the old value is not kept.
        let before_write = cache.generation();
        cache.invalidate();
        cache.put(before_write, "a", 1, at(100));
        assert_eq!(cache.get(&"a", at(100)), None);
        cache.put(cache.generation(), "a", 2, at(100));
        assert_eq!(cache.get(&"a", at(100)), Some(2));
        cache.invalidate();
        assert_eq!(cache.get(&"a", at(100)), None);
    }
}
