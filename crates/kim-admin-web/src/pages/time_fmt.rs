//! Dates between the `datetime-local` inputs (German civil time), RFC 3339 in UTC (the
//! Account Manager) and the German display form.
//!
//! German civil time is CET (UTC+1) and, from the last Sunday of March 01:00 UTC to the last
//! Sunday of October 01:00 UTC, CEST (UTC+2): the EU rule in force since 1996, computed here
//! so that the UI needs no time zone database.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

const CET: i8 = 1;
const CEST: i8 = 2;

/// The last Sunday of `month` in `year`, 01:00 UTC.
fn last_sunday_0100_utc(year: i32, month: Month) -> Option<OffsetDateTime> {
    let mut day =
        Date::from_calendar_date(year, month, time::util::days_in_month(month, year)).ok()?;
    while day.weekday() != Weekday::Sunday {
        day = day.previous_day()?;
    }
    Some(PrimitiveDateTime::new(day, Time::from_hms(1, 0, 0).ok()?).assume_utc())
}

/// The German UTC offset at instant `t`.
fn german_offset(t: OffsetDateTime) -> UtcOffset {
    let t = t.to_offset(UtcOffset::UTC);
    let summer = match (
        last_sunday_0100_utc(t.year(), Month::March),
        last_sunday_0100_utc(t.year(), Month::October),
    ) {
        (Some(start), Some(end)) => t >= start && t < end,
        _ => false,
    };
    let hours = if summer { CEST } else { CET };
    UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// `t` in German civil time.
fn german(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(german_offset(t))
}

/// `2026-12-24T08:00` (or with seconds) in German civil time as RFC 3339 in UTC. A time
/// that occurs twice (the last hour of summer time) is taken as summer time; one that does
/// not occur (the skipped hour in March) as winter time, i.e. an hour later on the clock.
pub fn from_local_input(value: &str) -> Option<String> {
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let local = PrimitiveDateTime::parse(value, minutes)
        .or_else(|_| PrimitiveDateTime::parse(value, seconds))
        .ok()?;
    let at = |hours: i8| {
        let offset = UtcOffset::from_hms(hours, 0, 0).ok()?;
        let t = local.assume_offset(offset);
        Some((t, german_offset(t) == offset))
    };
    let t = match (at(CEST)?, at(CET)?) {
        ((summer, true), _) => summer,
        (_, (winter, _)) => winter,
    };
    t.to_offset(UtcOffset::UTC).format(&Rfc3339).ok()
}

/// An RFC 3339 date-time as a `datetime-local` value in German civil time (empty if
/// unreadable).
pub fn to_local_input(value: &str) -> String {
    OffsetDateTime::parse(value, &Rfc3339)
        .ok()
        .and_then(|t| {
            german(t)
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

/// Unix seconds (as text) or RFC 3339 as `24.12.2026` (the German calendar day); anything
/// else unchanged.
pub fn display_date(value: &str) -> String {
    let t = value
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .or_else(|| OffsetDateTime::parse(value.trim(), &Rfc3339).ok());
    t.and_then(|t| {
        german(t)
            .format(format_description!("[day].[month].[year]"))
            .ok()
    })
    .unwrap_or_else(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn winter_and_summer_time_round_trip() {
        // Winter: CET.
        assert_eq!(
            from_local_input("2026-12-24T08:00").as_deref(),
            Some("2026-12-24T07:00:00Z")
        );
        // Summer: CEST.
        assert_eq!(
            from_local_input("2026-07-01T08:00:00").as_deref(),
            Some("2026-07-01T06:00:00Z")
        );
        assert_eq!(from_local_input("24.12.2026"), None);
        assert_eq!(to_local_input("2026-12-24T07:00:00Z"), "2026-12-24T08:00");
        assert_eq!(
            to_local_input("2026-12-24T09:00:00+01:00"),
            "2026-12-24T09:00"
        );
        assert_eq!(to_local_input("2026-07-01T06:00:00Z"), "2026-07-01T08:00");
        assert_eq!(to_local_input("kein Datum"), "");
        assert!(after("2026-12-25T00:00:00Z", "2026-12-24T00:00:00Z"));
    }

    #[test]
    fn the_switch_days_follow_the_eu_rule() {
        // 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
        let utc =
            |s: &str| OffsetDateTime::parse(s, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let start = utc("2026-03-29T01:00:00Z");
        let end = utc("2026-10-25T01:00:00Z");
        assert_eq!(german_offset(start - Duration::SECOND).whole_hours(), 1);
        assert_eq!(german_offset(start).whole_hours(), 2);
        assert_eq!(german_offset(end - Duration::SECOND).whole_hours(), 2);
        assert_eq!(german_offset(end).whole_hours(), 1);
        // The skipped hour (02:30 does not occur on 29 March): read as CET.
        assert_eq!(
            from_local_input("2026-03-29T02:30").as_deref(),
            Some("2026-03-29T01:30:00Z")
        );
        // The hour that occurs twice (02:30 on 25 October): the first, in CEST.
        assert_eq!(
            from_local_input("2026-10-25T02:30").as_deref(),
            Some("2026-10-25T00:30:00Z")
        );
        assert_eq!(to_local_input("2026-10-25T01:30:00Z"), "2026-10-25T02:30");
        assert_eq!(german(end + Duration::HOUR).hour(), 3);
    }

    #[test]
    fn dates_are_german_calendar_days() {
        assert_eq!(display_date("0"), "01.01.1970");
        assert_eq!(display_date("2026-12-24T08:00:00Z"), "24.12.2026");
        // 23:30 UTC on New Year's Eve is already the first of January in Germany.
        assert_eq!(display_date("2026-12-31T23:30:00Z"), "01.01.2027");
        assert_eq!(display_date("irgendwann"), "irgendwann");
    }
}
