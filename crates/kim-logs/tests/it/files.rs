//! Events reach the right file with timestamp, level, target and correlation id.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use kim_logs::LogConfig;

use crate::{ManualClock, T0, TODAY, config, lines, names, with_logs};

#[test]
fn events_reach_their_files_with_the_correlation_id() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    with_logs(&config(dir.path()), &clock, || {
        tracing::info!(recipients = 2_u64, "outside");
        let outer = tracing::info_span!("send", op = "op-1");
        let _outer = outer.enter();
        tracing::info!(recipients = 2_u64, "mail accepted");
        tracing::debug!("not at INFO");
        tracing::info!(target: "kim_perf", step = "vzd", ms = 12_u64, "step timed");
        {
            let inner = tracing::debug_span!("recipient", op = "op-2");
            let _inner = inner.enter();
            tracing::warn!(code = 4003_u64, "several entries");
        }
        tracing::error!(op = "op-3", "own id wins");
    });
    assert_eq!(
        names(dir.path()),
        [
            format!("operation-{TODAY}.log"),
            format!("performance-{TODAY}.log")
        ]
    );
    let ts = "2026-12-04T01:02:03.045Z";
    assert_eq!(
        lines(dir.path(), &format!("operation-{TODAY}.log")),
        [
            format!("{ts} INFO it::files op=- msg=outside recipients=2"),
            format!("{ts} INFO it::files op=op-1 msg=\"mail accepted\" recipients=2"),
            format!("{ts} WARN it::files op=op-2 msg=\"several entries\" code=4003"),
            format!("{ts} ERROR it::files op=op-3 msg=\"own id wins\""),
        ]
    );
    assert_eq!(
        lines(dir.path(), &format!("performance-{TODAY}.log")),
        [format!("{ts} op=op-1 step=vzd ms=12")]
    );
}

#[test]
fn manual_defaults_write_only_the_performance_log() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    with_logs(&LogConfig::new(dir.path()), &clock, || {
        tracing::error!("operation log is off by default");
        tracing::info!(target: "kim_perf", step = "sign", ms = 3_u64, "step timed");
    });
    assert_eq!(names(dir.path()), [format!("performance-{TODAY}.log")]);
}

#[test]
fn performance_log_can_be_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let mut config = config(dir.path());
    config.performance = false;
    with_logs(&config, &clock, || {
        tracing::info!(target: "kim_perf", step = "sign", ms = 3_u64, "step timed");
        tracing::info!("kept");
    });
    assert_eq!(names(dir.path()), [format!("operation-{TODAY}.log")]);
    assert_eq!(
        lines(dir.path(), &format!("operation-{TODAY}.log")).len(),
        1
    );
}

#[test]
fn directory_is_private_and_files_are_owner_only() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("kimCm").join("log");
    let clock = ManualClock::at(T0);
    with_logs(&config(&dir), &clock, || tracing::info!("x"));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(format!("operation-{TODAY}.log"))), 0o600);

    // A file of the day left world-readable is narrowed when it is opened again.
    let perf = dir.join(format!("performance-{TODAY}.log"));
    std::fs::write(&perf, "old\n").unwrap();
    std::fs::set_permissions(&perf, std::fs::Permissions::from_mode(0o644)).unwrap();
    with_logs(&config(&dir), &clock, || {
        tracing::info!(target: "kim_perf", step = "vzd", ms = 1_u64, "step timed");
    });
    assert_eq!(mode(&perf), 0o600);
}

#[test]
fn timestamps_are_rfc3339_as_gnu_date_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    with_logs(&config(dir.path()), &clock, || tracing::info!("x"));
    let line = lines(dir.path(), &format!("operation-{TODAY}.log")).remove(0);
    let ts = line.split(' ').next().unwrap();
    let out = Command::new("date")
        .args(["-u", "-d", ts, "+%s%3N"])
        .output()
        .expect("GNU date (coreutils) is needed for this test");
    assert!(out.status.success(), "date rejected {ts}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        T0.to_string()
    );
}

#[test]
fn init_installs_the_global_subscriber_once() {
    let dir = tempfile::tempdir().unwrap();
    let guard = kim_logs::init(config(dir.path())).unwrap();
    // Events on a thread without a scoped subscriber go to the global one.
    std::thread::spawn(|| tracing::info!(target: "kim_logs_global", "global"))
        .join()
        .unwrap();
    let again = kim_logs::init(config(dir.path()));
    assert!(matches!(
        again,
        Err(kim_logs::LogError::AlreadyInitialised(_))
    ));
    drop(guard);
    let file = names(dir.path())
        .into_iter()
        .find(|n| n.starts_with("operation-"))
        .unwrap();
    let lines = lines(dir.path(), &file);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("kim_logs_global op=- msg=global")),
        "{lines:?}"
    );
}
