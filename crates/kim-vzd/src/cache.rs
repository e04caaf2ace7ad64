//! A bounded TTL cache for lookup answers, positive (entries found) and negative (none).
//! Sans-IO: the caller passes the current [`Instant`].

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Cache sizing and lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// How long a non-empty answer is reused.
    pub positive_ttl: Duration,
    /// How long an empty answer ("no entry for this address") is reused.
    pub negative_ttl: Duration,
    /// Most answers kept; the oldest is evicted first. 0 disables the cache.
    pub max_entries: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            positive_ttl: Duration::from_secs(3600),
            negative_ttl: Duration::from_secs(300),
            max_entries: 10_000,
        }
    }
}

/// The cache: `V` answers keyed by `K`, emptiness decided by the caller at insert time.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    config: CacheConfig,
    map: HashMap<K, (Instant, Instant, V)>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// An empty cache.
    #[must_use]
    pub fn new(config: CacheConfig) -> Self {
        Self {
            config,
            map: HashMap::new(),
        }
    }

    /// The answer for `key` if it has not expired at `now`; expired answers are dropped.
    pub fn get(&mut self, key: &K, now: Instant) -> Option<V> {
        match self.map.get(key) {
            Some((_, expires, v)) if now < *expires => Some(v.clone()),
            Some(_) => {
                self.map.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores an answer; `negative` selects the negative TTL. Evicts expired answers, then
    /// the oldest, when full.
    pub fn insert(&mut self, key: K, value: V, negative: bool, now: Instant) {
        if self.config.max_entries == 0 {
            return;
        }
        let ttl = if negative {
            self.config.negative_ttl
        } else {
            self.config.positive_ttl
        };
        if !self.map.contains_key(&key) && self.map.len() >= self.config.max_entries {
            self.map.retain(|_, (_, expires, _)| now < *expires);
            if self.map.len() >= self.config.max_entries {
                let oldest = self
                    .map
                    .iter()
                    .min_by_key(|(_, (inserted, _, _))| *inserted)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    self.map.remove(&k);
                }
            }
        }
        self.map.insert(key, (now, now + ttl, value));
    }

    /// Number of answers held (expired ones included until touched).
    #[must_use]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the cache holds nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Drops every answer.
    pub fn clear(&mut self) {
        self.map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(max: usize) -> TtlCache<&'static str, u32> {
        TtlCache::new(CacheConfig {
            positive_ttl: Duration::from_secs(10),
            negative_ttl: Duration::from_secs(2),
            max_entries: max,
        })
    }

    #[test]
    fn positive_and_negative_ttls_expire_separately() {
        let mut c = cache(10);
        let t0 = Instant::now();
        c.insert("found", 1, false, t0);
        c.insert("none", 0, true, t0);
        let t1 = t0 + Duration::from_secs(3);
        assert_eq!(c.get(&"found", t1), Some(1));
        assert_eq!(c.get(&"none", t1), None);
        assert_eq!(c.get(&"found", t0 + Duration::from_secs(10)), None);
        assert!(c.is_empty());
    }

    #[test]
    fn oldest_answer_is_evicted_when_full() {
        let mut c = cache(2);
        let t0 = Instant::now();
        c.insert("a", 1, false, t0);
        c.insert("b", 2, false, t0 + Duration::from_millis(1));
        c.insert("c", 3, false, t0 + Duration::from_millis(2));
        assert_eq!(c.len(), 2);
        let t = t0 + Duration::from_millis(3);
        assert_eq!(
            (c.get(&"a", t), c.get(&"b", t), c.get(&"c", t)),
            (None, Some(2), Some(3))
        );
        let mut off = cache(0);
        off.insert("a", 1, false, t0);
        assert_eq!(off.get(&"a", t0), None);
    }
}
