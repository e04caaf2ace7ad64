//! Calendar arithmetic for Unix timestamps (UTC), without a time-zone database: the date
//! fields of a timestamp and the RFC 5322 `Date:` form that generated mail carries.

/// Gregorian (year, month 1..=12, day 1..=31, hour, minute, second) of Unix seconds `t`
/// (H. Hinnant's civil-from-days).
#[must_use]
pub fn civil_from_unix(t: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let field = |v: i64| u32::try_from(v).unwrap_or(0);
    let d = field(doy - (153 * mp + 2) / 5 + 1);
    let m = field(if mp < 10 { mp + 3 } else { mp - 9 });
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        field(secs / 3600),
        field(secs % 3600 / 60),
        field(secs % 60),
    )
}

/// `Thu, 03 Dec 2026 23:05:00 +0000` for Unix seconds `t` (RFC 5322 §3.3, UTC).
#[must_use]
pub fn rfc5322_date(t: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month, day, h, mi, s) = civil_from_unix(t);
    let weekday = usize::try_from(t.div_euclid(86_400).rem_euclid(7))
        .ok()
        .and_then(|i| DAYS.get(i))
        .unwrap_or(&"Thu");
    let month = usize::try_from(month)
        .ok()
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .unwrap_or(&"Jan");
    format!("{weekday}, {day:02} {month} {year:04} {h:02}:{mi:02}:{s:02} +0000")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_796_342_400 + 3_723),
            "Fri, 04 Dec 2026 01:02:03 +0000"
        );
        assert_eq!(rfc5322_date(-1), "Wed, 31 Dec 1969 23:59:59 +0000");
        assert_eq!(civil_from_unix(4_102_444_800), (2100, 1, 1, 0, 0, 0));
    }
}
