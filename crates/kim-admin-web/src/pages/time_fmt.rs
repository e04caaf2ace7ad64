//! Dates between the `datetime-local` inputs (UTC), RFC 3339 (the Account Manager) and the
//! German display form.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// `2026-12-24T08:00` (or with seconds) as RFC 3339 in UTC.
pub fn from_local_input(value: &str) -> Option<String> {
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let t = PrimitiveDateTime::parse(value, minutes)
        .or_else(|_| PrimitiveDateTime::parse(value, seconds))
        .ok()?;
    t.assume_utc().format(&Rfc3339).ok()
}

/// An RFC 3339 date-time as a `datetime-local` value in UTC (empty if unreadable).
pub fn to_local_input(value: &str) -> String {
    OffsetDateTime::parse(value, &Rfc3339)
        .ok()
        .and_then(|t| {
            t.to_offset(UtcOffset::UTC)
                .format(format_description!("[year]-[month]-[day]T[hour]:[minute]"))
                .ok()
        })
        .unwrap_or_default()
}

/// Whether RFC 3339 `a` is after `b`.
pub fn after(a: &str, b: &str) -> bool {
    match (
        OffsetDateTime::parse(a, &Rfc3339),
        OffsetDateTime::parse(b, &Rfc3339),
    ) {
        (Ok(a), Ok(b)) => a > b,
        _ => false,
    }
}

/// Unix seconds (as text) or RFC 3339 as `24.12.2026` (UTC); anything else unchanged.
pub fn display_date(value: &str) -> String {
    let t = value
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .or_else(|| OffsetDateTime::parse(value.trim(), &Rfc3339).ok());
    t.and_then(|t| {
        t.to_offset(UtcOffset::UTC)
            .format(format_description!("[day].[month].[year]"))
            .ok()
    })
    .unwrap_or_else(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_display() {
        assert_eq!(
            from_local_input("2026-12-24T08:00").as_deref(),
            Some("2026-12-24T08:00:00Z")
        );
        assert_eq!(from_local_input("24.12.2026"), None);
        assert_eq!(
            to_local_input("2026-12-24T09:00:00+01:00"),
            "2026-12-24T08:00"
        );
        assert!(after("2026-12-25T00:00:00Z", "2026-12-24T00:00:00Z"));
        assert_eq!(display_date("0"), "01.01.1970");
        assert_eq!(display_date("2026-12-24T08:00:00Z"), "24.12.2026");
    }
}
