//! The non-blocking writer: a bounded queue from the application threads to one writer
//! thread that owns the [`Sink`]. Sending never waits: a full queue drops the line and counts
//! it; the writer reports the count in the operation log. [`LogGuard`] flushes and joins the
//! writer when dropped, so every line queued before the drop reaches the sink.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::level_filters::LevelFilter;

use crate::clock::{Clock, rfc3339_ms};
use crate::{LogError, OperationLevel};

/// How long the writer waits for a line before it calls [`Sink::tick`].
pub const TICK: Duration = Duration::from_secs(60);

/// The two log types of the manual (§4.6); each has its own files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogKind {
    /// The operation log (Ablaufprotokoll).
    Operation,
    /// The performance log (Performanceprotokoll).
    Performance,
}

impl LogKind {
    /// The file-name stem: `operation` or `performance`.
    #[must_use]
    pub fn stem(self) -> &'static str {
        match self {
            Self::Operation => "operation",
            Self::Performance => "performance",
        }
    }
}

/// Where the writer thread puts lines; [`crate::RollingFiles`] in production.
pub trait Sink: Send + 'static {
    /// Writes one line (without its newline) stamped `unix_ms`.
    ///
    /// # Errors
    ///
    /// Any I/O error; the writer counts it and goes on with the next line.
    fn write_line(&mut self, kind: LogKind, unix_ms: i64, line: &str) -> io::Result<()>;

    /// Pushes buffered lines to the operating system (called whenever the queue is empty).
    ///
    /// # Errors
    ///
    /// Any I/O error; the writer counts it.
    fn flush(&mut self) -> io::Result<()>;

    /// Called when no line arrived for [`TICK`]: lets the sink notice a day change (and
    /// apply retention) in a quiet process. The default does nothing.
    ///
    /// # Errors
    ///
    /// Any I/O error; the writer counts it.
    fn tick(&mut self, now_unix_ms: i64) -> io::Result<()> {
        let _ = now_unix_ms;
        Ok(())
    }

    /// Called once before the writer stops: flush and make durable.
    ///
    /// # Errors
    ///
    /// Any I/O error; the writer counts it.
    fn close(&mut self) -> io::Result<()> {
        self.flush()
    }
}

enum Msg {
    Line {
        kind: LogKind,
        unix_ms: i64,
        line: String,
    },
    Shutdown,
}

#[derive(Debug, Default)]
struct Stats {
    dropped: AtomicU64,
    write_errors: AtomicU64,
}

/// The application side of the queue.
#[derive(Clone)]
pub(crate) struct LineSender {
    tx: SyncSender<Msg>,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for LineSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineSender").finish_non_exhaustive()
    }
}

impl LineSender {
    /// Queues a line, or drops and counts it when the queue is full or the writer is gone.
    pub(crate) fn send(&self, kind: LogKind, unix_ms: i64, line: String) {
        if self
            .tx
            .try_send(Msg::Line {
                kind,
                unix_ms,
                line,
            })
            .is_err()
        {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Keeps the writer thread alive; dropping it writes out every queued line, flushes and
/// closes the files, and joins the thread. Keep it until the program ends.
#[must_use = "dropping the guard stops the log writer"]
#[derive(Debug)]
pub struct LogGuard {
    tx: SyncSender<Msg>,
    stats: Arc<Stats>,
    thread: Option<JoinHandle<()>>,
    /// The operation log's level, changeable while running.
    level: OperationLevel,
}

impl LogGuard {
    /// Changes the most verbose level written to the operation log from now on (the
    /// manual's `clientmodul.core.log.operation` needs no restart).
    pub fn set_operation_level(&self, level: LevelFilter) {
        self.level.set(level);
    }

    /// Lines dropped so far because the queue was full (or the writer had stopped).
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.stats.dropped.load(Ordering::Relaxed)
    }

    /// Lines or flushes that failed at the sink (disk full, permissions, …).
    #[must_use]
    pub fn write_errors(&self) -> u64 {
        self.stats.write_errors.load(Ordering::Relaxed)
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        // Blocking here is fine: this is shutdown, not a runtime task. The writer drains the
        // queue in order, so the marker arrives after every earlier line.
        let _ = self.tx.send(Msg::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts the writer thread over `sink`; `level` is the operation log's level, shared with
/// the layer's filter (the writer reports dropped lines only while it admits warnings).
pub(crate) fn spawn(
    sink: Box<dyn Sink>,
    clock: Arc<dyn Clock>,
    capacity: usize,
    level: OperationLevel,
) -> Result<(LineSender, LogGuard), LogError> {
    let (tx, rx) = mpsc::sync_channel(capacity);
    let stats = Arc::new(Stats::default());
    let writer = Writer {
        sink,
        clock,
        stats: Arc::clone(&stats),
        reported_drops: 0,
        level: level.clone(),
    };
    let thread = std::thread::Builder::new()
        .name("kim-logs-writer".into())
        .spawn(move || writer.run(&rx))
        .map_err(LogError::Thread)?;
    let sender = LineSender {
        tx: tx.clone(),
        stats: Arc::clone(&stats),
    };
    let guard = LogGuard {
        tx,
        stats,
        thread: Some(thread),
        level,
    };
    Ok((sender, guard))
}

struct Writer {
    sink: Box<dyn Sink>,
    clock: Arc<dyn Clock>,
    stats: Arc<Stats>,
    reported_drops: u64,
    /// Read whenever drops are to be reported, so a level changed at runtime applies.
    level: OperationLevel,
}

impl Writer {
    fn run(mut self, rx: &Receiver<Msg>) {
        let mut stopping = false;
        while !stopping {
            let first = match rx.recv_timeout(TICK) {
                Ok(first) => first,
                Err(RecvTimeoutError::Timeout) => {
                    let ticked = self.sink.tick(self.clock.now_unix_ms());
                    self.count(ticked);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            stopping = self.handle(first);
            // Drain what is queued (after a shutdown marker too), then flush once.
            loop {
                match rx.try_recv() {
                    Ok(msg) => stopping |= self.handle(msg),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        stopping = true;
                        break;
                    }
                }
            }
            self.report_drops();
            let flushed = self.sink.flush();
            self.count(flushed);
        }
        self.report_drops();
        let closed = self.sink.close();
        self.count(closed);
    }

    /// Writes a line; true for the shutdown marker.
    fn handle(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Line {
                kind,
                unix_ms,
                line,
            } => {
                let written = self.sink.write_line(kind, unix_ms, &line);
                self.count(written);
                false
            }
            Msg::Shutdown => true,
        }
    }

    /// Whether the operation log currently takes the drop warning (a WARN line).
    fn reports_drops(&self) -> bool {
        self.level.get() >= LevelFilter::WARN
    }

    /// Writes a warning with the number of lines dropped since the last report, if the
    /// operation log takes warnings now. Drops noticed while it does not are not reported
    /// later.
    fn report_drops(&mut self) {
        let total = self.stats.dropped.load(Ordering::Relaxed);
        if total == self.reported_drops {
            return;
        }
        if !self.reports_drops() {
            self.reported_drops = total;
            return;
        }
        let now = self.clock.now_unix_ms();
        let line = format!(
            "{} WARN kim_logs op=- msg=\"log lines dropped: queue full\" dropped={}",
            rfc3339_ms(now),
            total.saturating_sub(self.reported_drops)
        );
        self.reported_drops = total;
        let written = self.sink.write_line(LogKind::Operation, now, &line);
        self.count(written);
    }

    fn count(&self, result: io::Result<()>) {
        if result.is_err() {
            self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}
