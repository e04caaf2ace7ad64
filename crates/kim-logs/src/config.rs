//! [`LogConfig`]: what the Clientmodul manual (§4.6, configuration keys
//! `clientmodul.core.log.operation`, `.performance`, `.retainDays`) and kim-spec §5
//! (`TTL_PROTS`, `PROT_PERF`) let an operator choose, with their defaults and ranges.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use tracing::level_filters::LevelFilter;

use crate::LogError;

/// Files per log type per day (manual §4.6).
pub const DEFAULT_MAX_FILES_PER_DAY: u32 = 10;
/// Bytes per file (manual §4.6: 100 MB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 100 * 1024 * 1024;
/// Days a log file is kept (`clientmodul.core.log.retainDays`, `TTL_PROTS`: 30).
pub const DEFAULT_RETAIN_DAYS: u32 = 30;
/// Allowed `retainDays` (manual: 1-300).
pub const RETAIN_DAYS_RANGE: RangeInclusive<u32> = 1..=300;
/// Lines the queue between the application and the writer thread holds.
pub const DEFAULT_QUEUE_LINES: usize = 16_384;

const MAX_FILES_RANGE: RangeInclusive<u32> = 1..=1000;
const QUEUE_LINES_RANGE: RangeInclusive<usize> = 1..=1_048_576;

/// Logging configuration, validated by [`LogConfig::validate`] (called by [`crate::init`] and
/// [`crate::layer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Directory of the log files; created with mode 0700 if missing (manual: `~/kimCm/log`).
    pub dir: PathBuf,
    /// Most verbose level written to the operation log; [`LevelFilter::OFF`] disables it
    /// (the manual's default, `clientmodul.core.log.operation=false`; see
    /// [`LogConfig::operation_level`]).
    pub level: LevelFilter,
    /// Files per log type per day; the oldest of the day is dropped beyond this.
    pub max_files_per_day: u32,
    /// Size in bytes at which a log file is rotated.
    pub max_file_size: u64,
    /// Files whose date lies more than this many days before today are deleted.
    pub retain_days: u32,
    /// Whether the performance log is written (`clientmodul.core.log.performance`, default on).
    pub performance: bool,
    /// Capacity of the queue to the writer thread, in lines; lines beyond it are dropped and
    /// counted, never waited for.
    pub queue_lines: usize,
}

impl LogConfig {
    /// The manual's defaults with the log files in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            level: LevelFilter::OFF,
            max_files_per_day: DEFAULT_MAX_FILES_PER_DAY,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            retain_days: DEFAULT_RETAIN_DAYS,
            performance: true,
            queue_lines: DEFAULT_QUEUE_LINES,
        }
    }

    /// The operation-log level for the manual's boolean key `clientmodul.core.log.operation`:
    /// `true` is [`LevelFilter::INFO`], `false` is [`LevelFilter::OFF`].
    #[must_use]
    pub fn operation_level(enabled: bool) -> LevelFilter {
        if enabled {
            LevelFilter::INFO
        } else {
            LevelFilter::OFF
        }
    }

    /// Checks every value against its range; the error names key, value and range.
    ///
    /// # Errors
    ///
    /// [`LogError::Config`] for the first value out of range.
    pub fn validate(&self) -> Result<(), LogError> {
        check(
            "clientmodul.core.log.retainDays",
            self.retain_days,
            &RETAIN_DAYS_RANGE,
            "1-300",
        )?;
        check(
            "max_files_per_day",
            self.max_files_per_day,
            &MAX_FILES_RANGE,
            "1-1000",
        )?;
        check(
            "max_file_size",
            self.max_file_size,
            &(1..=u64::MAX),
            "at least 1",
        )?;
        check(
            "queue_lines",
            self.queue_lines,
            &QUEUE_LINES_RANGE,
            "1-1048576",
        )
    }
}

impl Default for LogConfig {
    /// The manual's defaults in [`default_dir`].
    fn default() -> Self {
        Self::new(default_dir())
    }
}

/// `$HOME/kimCm/log` as the manual places it, or `kimCm/log` relative to the working
/// directory when `HOME` is unset.
#[must_use]
pub fn default_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    home.as_deref()
        .unwrap_or_else(|| Path::new(""))
        .join("kimCm")
        .join("log")
}

fn check<T: PartialOrd + ToString>(
    key: &'static str,
    value: T,
    range: &RangeInclusive<T>,
    allowed: &'static str,
) -> Result<(), LogError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(LogError::Config {
            key,
            value: value.to_string(),
            allowed,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn defaults_match_the_manual() {
        let c = LogConfig::new("/tmp/x");
        assert_eq!(c.max_files_per_day, 10);
        assert_eq!(c.max_file_size, 100 * 1024 * 1024);
        assert_eq!(c.retain_days, 30);
        assert!(c.performance);
        assert_eq!(c.level, LevelFilter::OFF);
        assert!(c.validate().is_ok());
        assert!(default_dir().ends_with("kimCm/log"));
    }

    #[test]
    fn out_of_range_names_the_key() {
        let mut c = LogConfig::new("/tmp/x");
        c.retain_days = 301;
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("clientmodul.core.log.retainDays = 301"),
            "{err}"
        );
        c.retain_days = 0;
        assert!(c.validate().is_err());
        c.retain_days = 1;
        c.max_files_per_day = 0;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("max_files_per_day")
        );
        c.max_files_per_day = 1;
        c.max_file_size = 0;
        assert!(c.validate().is_err());
        c.max_file_size = 1;
        c.queue_lines = 0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn operation_key_maps_to_a_level() {
        assert_eq!(LogConfig::operation_level(true), LevelFilter::INFO);
        assert_eq!(LogConfig::operation_level(false), LevelFilter::OFF);
    }
}
