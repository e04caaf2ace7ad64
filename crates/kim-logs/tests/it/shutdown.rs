//! The guard writes out everything queued; a full queue drops and counts, never blocks.

use std::io;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use kim_logs::{Clock, LogKind, Sink};
use tracing_subscriber::layer::SubscriberExt;

use crate::{ManualClock, T0, TODAY, config, lines};

#[test]
fn dropping_the_guard_loses_nothing_from_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let (dispatch, guard) = crate::dispatch(&config(dir.path()), &clock);
    let threads: Vec<_> = (0..4_u64)
        .map(|t| {
            let dispatch = dispatch.clone();
            std::thread::spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in 0..500_u64 {
                        tracing::info!(t, i, "event");
                        tracing::info!(target: "kim_perf", step = "kas", ms = i, "step timed");
                    }
                });
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(guard.dropped(), 0);
    drop(guard);
    assert_eq!(
        lines(dir.path(), &format!("operation-{TODAY}.log")).len(),
        2000
    );
    assert_eq!(
        lines(dir.path(), &format!("performance-{TODAY}.log")).len(),
        2000
    );
}

/// A sink that blocks in its first write until released, and records every line.
struct BlockingSink {
    entered: Sender<()>,
    release: Option<Receiver<()>>,
    lines: Arc<Mutex<Vec<(LogKind, String)>>>,
}

impl Sink for BlockingSink {
    fn write_line(&mut self, kind: LogKind, _unix_ms: i64, line: &str) -> io::Result<()> {
        if let Some(release) = self.release.take() {
            self.entered.send(()).unwrap();
            release.recv().unwrap();
        }
        self.lines.lock().unwrap().push((kind, line.to_owned()));
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    let (dropped, written) = through_a_held_writer(None, |n| tracing::info!(n, "event"), |_| {});
    assert_eq!(dropped, 6);
    let texts: Vec<&str> = written.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(texts.len(), 6, "{texts:?}");
    for (n, line) in texts.iter().take(5).enumerate() {
        assert!(line.ends_with(&format!("msg=event n={n}")), "{line}");
    }
    assert_eq!(
        texts[5],
        "2026-12-04T01:02:03.045Z WARN kim_logs op=- msg=\"log lines dropped: queue full\" dropped=6"
    );
    assert!(written.iter().all(|(k, _)| *k == LogKind::Operation));
}

/// `clientmodul.core.log.operation` needs no restart: the operation log's level changes
/// while the layer runs, the performance log is not affected.
#[test]
fn the_operation_level_changes_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let mut config = config(dir.path());
    config.level = kim_logs::LogConfig::operation_level(false);
    let (dispatch, guard) = crate::dispatch(&config, &clock);
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!(n = 1_u64, "before");
        tracing::info!(target: "kim_perf", step = "sign", ms = 1_u64, "step timed");
        guard.set_operation_level(kim_logs::LogConfig::operation_level(true));
        tracing::info!(n = 2_u64, "on");
        guard.set_operation_level(kim_logs::LogConfig::operation_level(false));
        tracing::info!(n = 3_u64, "off again");
    });
    drop(guard);
    let operation = lines(dir.path(), &format!("operation-{TODAY}.log"));
    assert_eq!(operation.len(), 1, "{operation:?}");
    assert!(operation[0].ends_with("msg=on n=2"), "{operation:?}");
    assert_eq!(
        lines(dir.path(), &format!("performance-{TODAY}.log")).len(),
        1
    );
}

/// Runs 11 events through a layer over a [`BlockingSink`] with a queue of 4 (operation
/// level `level`, else the default): `emit(0)`, which the writer holds in its first write,
/// then `while_held` with the guard, then `emit(1..=10)`, of which 6 drop. Returns the drop
/// count and, after the writer is released and the guard dropped, what reached the sink.
fn through_a_held_writer(
    level: Option<tracing::level_filters::LevelFilter>,
    emit: impl Fn(u64),
    while_held: impl FnOnce(&kim_logs::LogGuard),
) -> (u64, Vec<(LogKind, String)>) {
    let (entered_tx, entered) = channel();
    let (release, release_rx) = channel();
    let written = Arc::new(Mutex::new(Vec::new()));
    let sink = BlockingSink {
        entered: entered_tx,
        release: Some(release_rx),
        lines: Arc::clone(&written),
    };
    let mut config = config(std::path::Path::new("/nonexistent"));
    if let Some(level) = level {
        config.level = level;
    }
    config.queue_lines = 4;
    let clock: Arc<dyn Clock> = ManualClock::at(T0);
    let (layer, guard) = kim_logs::layer_with_sink(&config, clock, Box::new(sink)).unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        emit(0);
        // The writer now holds line 0 and waits; the queue takes 4 more, the rest drop.
        entered.recv().unwrap();
        while_held(&guard);
        for n in 1..=10_u64 {
            emit(n);
        }
    });
    let dropped = guard.dropped();
    release.send(()).unwrap();
    drop(guard);
    let written = written.lock().unwrap().clone();
    (dropped, written)
}

/// Provokes 6 drops of performance lines with the operation log at `start`, switched to
/// `switched` while the writer is held; returns what reached the sink.
fn drops_after_a_level_switch(
    start: tracing::level_filters::LevelFilter,
    switched: tracing::level_filters::LevelFilter,
) -> Vec<(LogKind, String)> {
    let (dropped, written) = through_a_held_writer(
        Some(start),
        |ms| tracing::info!(target: "kim_perf", step = "kas", ms, "step timed"),
        |guard| guard.set_operation_level(switched),
    );
    assert_eq!(dropped, 6);
    written
}

/// Whether drops are reported follows the operation level at the time of the report, not
/// the level the layer started with.
#[test]
fn drops_are_reported_as_the_operation_level_is_now() {
    let switched_on = drops_after_a_level_switch(
        kim_logs::LogConfig::operation_level(false),
        kim_logs::LogConfig::operation_level(true),
    );
    assert_eq!(switched_on.len(), 6, "{switched_on:?}");
    assert!(
        switched_on
            .iter()
            .take(5)
            .all(|(k, _)| *k == LogKind::Performance),
        "{switched_on:?}"
    );
    assert_eq!(
        switched_on[5],
        (
            LogKind::Operation,
            "2026-12-04T01:02:03.045Z WARN kim_logs op=- msg=\"log lines dropped: queue full\" dropped=6"
                .to_owned()
        )
    );

    let switched_off = drops_after_a_level_switch(
        kim_logs::LogConfig::operation_level(true),
        kim_logs::LogConfig::operation_level(false),
    );
    assert_eq!(switched_off.len(), 5, "{switched_off:?}");
    assert!(
        switched_off.iter().all(|(k, _)| *k == LogKind::Performance),
        "{switched_off:?}"
    );
}
