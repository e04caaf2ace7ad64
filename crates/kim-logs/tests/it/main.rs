//! kim-logs through `tracing`: files, rotation, retention, redaction, shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod compose;
mod files;
mod redaction;
mod retention;
mod rotation;
mod shutdown;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use kim_logs::{Clock, LogConfig, LogGuard};
use tracing_subscriber::layer::SubscriberExt;

pub const DAY_MS: i64 = 86_400_000;
/// 2026-12-04T01:02:03.045Z
pub const T0: i64 = 1_796_342_400_000 + 3_723_045;
pub const TODAY: &str = "2026-12-04";

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn at(unix_ms: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(unix_ms)))
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// An operation log at INFO plus the performance log in `dir`, otherwise defaults.
pub fn config(dir: &Path) -> LogConfig {
    let mut config = LogConfig::new(dir);
    config.level = LogConfig::operation_level(true);
    config
}

/// A dispatcher with the file layer of `config` and its guard.
pub fn dispatch(config: &LogConfig, clock: &Arc<ManualClock>) -> (tracing::Dispatch, LogGuard) {
    let clock: Arc<dyn Clock> = clock.clone();
    let (layer, guard) = kim_logs::layer(config, clock).unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    (tracing::Dispatch::new(subscriber), guard)
}

/// Runs `f` with the file layer of `config` as the thread's subscriber, then drops the guard
/// so everything is on disk.
pub fn with_logs(config: &LogConfig, clock: &Arc<ManualClock>, f: impl FnOnce()) {
    let (dispatch, guard) = dispatch(config, clock);
    tracing::dispatcher::with_default(&dispatch, f);
    drop(guard);
}

/// The file names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The lines of `dir/name`.
pub fn lines(dir: &Path, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(name))
        .unwrap_or_else(|e| panic!("reading {name}: {e}; files: {:?}", names(dir)));
    text.lines().map(str::to_owned).collect()
}
