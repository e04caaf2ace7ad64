//! Files older than retainDays go at start and at each day change; the day comes from the
//! injected clock.

use std::path::Path;

use crate::{DAY_MS, ManualClock, T0, TODAY, config, lines, names, with_logs};

fn touch(dir: &Path, name: &str) {
    std::fs::write(dir.join(name), "old\n").unwrap();
}

#[test]
fn start_deletes_files_older_than_retain_days() {
    let dir = tempfile::tempdir().unwrap();
    // Today is 2026-12-04; 30 days before is 2026-11-04.
    for name in [
        "operation-2026-11-03.log",
        "performance-2026-10-25.log.3",
        "operation-2025-12-04.log",
        "operation-2026-11-04.log",
        "performance-2026-11-20.log.1",
        "notes-2000-01-01.log",
        "operation-2000-01-01.txt",
    ] {
        touch(dir.path(), name);
    }
    let clock = ManualClock::at(T0);
    let config = config(dir.path());
    let (_dispatch, guard) = crate::dispatch(&config, &clock);
    drop(guard);
    assert_eq!(
        names(dir.path()),
        [
            "notes-2000-01-01.log",
            "operation-2000-01-01.txt",
            "operation-2026-11-04.log",
            "performance-2026-11-20.log.1",
        ]
    );
}

#[test]
fn a_day_change_switches_files_and_sweeps() {
    let dir = tempfile::tempdir().unwrap();
    touch(dir.path(), "operation-2026-12-03.log");
    let clock = ManualClock::at(T0);
    let mut config = config(dir.path());
    config.retain_days = 1;
    let (dispatch, guard) = crate::dispatch(&config, &clock);
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!("day one");
        clock.advance(DAY_MS);
        tracing::info!("day two");
        tracing::info!(target: "kim_perf", step = "mta", ms = 1_u64, "step timed");
    });
    drop(guard);
    assert_eq!(
        names(dir.path()),
        [
            format!("operation-{TODAY}.log"),
            "operation-2026-12-05.log".to_owned(),
            "performance-2026-12-05.log".to_owned(),
        ]
    );
    assert!(lines(dir.path(), &format!("operation-{TODAY}.log"))[0].ends_with("msg=\"day one\""));
    let day_two = lines(dir.path(), "operation-2026-12-05.log");
    assert_eq!(day_two.len(), 1);
    assert!(
        day_two[0].starts_with("2026-12-05T01:02:03.045Z INFO"),
        "{day_two:?}"
    );

    // A restart a day later: 2026-12-04 is now more than one day old, 2026-12-05 is not.
    clock.advance(DAY_MS);
    with_logs(&config, &clock, || tracing::info!("day three"));
    assert_eq!(
        names(dir.path()),
        [
            "operation-2026-12-05.log",
            "operation-2026-12-06.log",
            "performance-2026-12-05.log",
        ]
    );
}

#[test]
fn a_late_line_from_yesterday_stays_in_todays_file() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let config = config(dir.path());
    with_logs(&config, &clock, || {
        tracing::info!("today");
        clock.advance(-DAY_MS);
        tracing::info!("stamped yesterday");
    });
    assert_eq!(names(dir.path()), [format!("operation-{TODAY}.log")]);
    let lines = lines(dir.path(), &format!("operation-{TODAY}.log"));
    assert!(lines[1].starts_with("2026-12-03T"), "{lines:?}");
}
