//! The clock seam: log timestamps, the day a line belongs to and the retention cut-off all
//! come from a [`Clock`], so tests can move time across a day boundary.

use std::time::{SystemTime, UNIX_EPOCH};

use kim_types::time::civil_from_unix;

const MS_PER_DAY: i64 = 86_400_000;

/// Wall-clock time in UTC.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch (negative before it).
    fn now_unix_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_ms(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
        }
    }
}

/// Days since the Unix epoch of a timestamp (UTC).
pub(crate) fn day_of(unix_ms: i64) -> i64 {
    unix_ms.div_euclid(MS_PER_DAY)
}

/// (year, month, day) of a day number.
pub(crate) fn date_of_day(day: i64) -> (i64, u32, u32) {
    let (y, m, d, ..) = civil_from_unix(day.saturating_mul(86_400));
    (y, m, d)
}

/// `2026-12-04T03:01:02.123Z` (RFC 3339, UTC, milliseconds).
pub(crate) fn rfc3339_ms(unix_ms: i64) -> String {
    let (y, mo, d, h, mi, s) = civil_from_unix(unix_ms.div_euclid(1000));
    let ms = unix_ms.rem_euclid(1000);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_days() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_ms(1_796_342_400_000 + 3_723_045),
            "2026-12-04T01:02:03.045Z"
        );
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(day_of(MS_PER_DAY - 1), 0);
        assert_eq!(day_of(MS_PER_DAY), 1);
        assert_eq!(day_of(-1), -1);
        assert_eq!(date_of_day(day_of(1_796_342_400_000)), (2026, 12, 4));
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_unix_ms() > 1_577_836_800_000);
    }
}
