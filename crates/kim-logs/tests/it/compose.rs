//! The file layer next to a console layer with its own `EnvFilter`, as the `kim` binary
//! composes them: each layer sees the events its own filter admits.

use std::io::Write;
use std::sync::{Arc, Mutex};

use kim_logs::Clock;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::{ManualClock, T0, TODAY, config, lines};

#[derive(Clone, Default)]
struct Console(Arc<Mutex<Vec<u8>>>);

impl Write for Console {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn console_and_files_filter_independently() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = ManualClock::at(T0);
    let console = Console::default();
    let (file_layer, guard) = kim_logs::layer(&config(dir.path()), clock).unwrap();
    let writer = console.clone();
    let console_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .with_filter(EnvFilter::new("warn,kim_perf=off"));
    let subscriber = tracing_subscriber::registry()
        .with(file_layer)
        .with(console_layer);
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("info for the file only");
        tracing::warn!("warn for both");
        tracing::info!(target: "kim_perf", step = "mta", ms = 7_u64, "step timed");
    });
    drop(guard);
    let console = String::from_utf8(console.0.lock().unwrap().clone()).unwrap();
    assert!(console.contains("warn for both"), "{console}");
    assert!(!console.contains("info for the file only"), "{console}");
    assert!(!console.contains("step timed"), "{console}");
    let op = lines(dir.path(), &format!("operation-{TODAY}.log"));
    assert_eq!(op.len(), 2, "{op:?}");
    let perf = lines(dir.path(), &format!("performance-{TODAY}.log"));
    assert_eq!(perf.len(), 1, "{perf:?}");
}
