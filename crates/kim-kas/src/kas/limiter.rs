//! Download counting for `429 Too Many Requests` on `readMailData`: at most `limit` downloads
//! per recipient and object; the counter starts again after `idle` without a request (the
//! reference implementation uses 1000 and five minutes).
//!
//! The clock is passed in, so the rule is tested without waiting.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries beyond which idle counters are swept on the next request.
const SWEEP_AT: usize = 10_000;

/// Download counters per (recipient, object id).
#[derive(Debug)]
pub(crate) struct DownloadLimiter {
    limit: u32,
    idle: Duration,
    counters: Mutex<HashMap<(String, String), Counter>>,
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    count: u32,
    last: Instant,
}

impl DownloadLimiter {
    pub(crate) fn new(limit: u32, idle: Duration) -> Self {
        Self {
            limit,
            idle,
            counters: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a download at `now`; `false` if the limit is reached. Every request, admitted
    /// or not, counts as activity for the idle reset.
    pub(crate) fn admit(&self, recipient: &str, id: &str, now: Instant) -> bool {
        let mut counters = self
            .counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if counters.len() >= SWEEP_AT {
            let idle = self.idle;
            counters.retain(|_, c| now.saturating_duration_since(c.last) < idle);
        }
        let counter = counters
            .entry((recipient.to_owned(), id.to_owned()))
            .or_insert(Counter {
                count: 0,
                last: now,
            });
        if now.saturating_duration_since(counter.last) >= self.idle {
            counter.count = 0;
        }
        counter.last = now;
        if counter.count >= self.limit {
            return false;
        }
        counter.count += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_per_recipient_and_object() {
        let limiter = DownloadLimiter::new(2, Duration::from_secs(300));
        let t = Instant::now();
        assert!(limiter.admit("a", "x", t));
        assert!(limiter.admit("a", "x", t));
        assert!(!limiter.admit("a", "x", t));
        assert!(limiter.admit("b", "x", t), "other recipient");
        assert!(limiter.admit("a", "y", t), "other object");
    }

    #[test]
    fn counter_resets_after_idle_time_only() {
        let limiter = DownloadLimiter::new(1, Duration::from_secs(300));
        let t = Instant::now();
        assert!(limiter.admit("a", "x", t));
        assert!(!limiter.admit("a", "x", t + Duration::from_secs(200)));
        // 200 s after the refused request: still not idle long enough.
        assert!(!limiter.admit("a", "x", t + Duration::from_secs(400)));
        assert!(limiter.admit("a", "x", t + Duration::from_secs(700)));
    }

    #[test]
    fn idle_counters_are_swept() {
        let limiter = DownloadLimiter::new(1, Duration::from_secs(1));
        let t = Instant::now();
        for i in 0..SWEEP_AT {
            limiter.admit("a", &i.to_string(), t);
        }
        limiter.admit("a", "new", t + Duration::from_secs(5));
        let len = limiter.counters.lock().map(|c| c.len()).unwrap_or(0);
        assert_eq!(len, 1);
    }
}
