//! Clientmodul log files (Clientmodul manual §4.6, kim-spec §5, KOM-LE-A_2079 … A_2090):
//! the operation log (Ablaufprotokoll) and the performance log (Performanceprotokoll) as a
//! `tracing_subscriber` layer.
//!
//! Main types and functions:
//!
//! * [`LogConfig`]: directory, operation-log level, files per day, file size, retention days,
//!   performance log on/off; defaults as the manual (10 files × 100 MB per type per day,
//!   30 days, performance on, operation off).
//! * [`init`] installs the layer as the global subscriber; [`layer`] returns it for
//!   composition with other layers (a console layer, say); [`layer_with_sink`] takes any
//!   [`Sink`] instead of the files.
//! * [`LogGuard`]: keep it alive; dropping it writes out every queued line and joins the
//!   writer. It counts dropped lines ([`LogGuard::dropped`]) and write errors.
//! * [`RollingFiles`]: the file sink (naming, rotation, retention, permissions).
//!
//! What goes where:
//!
//! * Events with target [`PERF_TARGET`] (`kim_perf`, fields `step` and `ms`) go to
//!   `performance-YYYY-MM-DD.log`, all others up to the configured level to
//!   `operation-YYYY-MM-DD.log`. Both carry the correlation id: the `op` field of the event
//!   or of the innermost span that has one (`tracing::info_span!("smtp", op = %id)`).
//! * Operation lines read `<ts> <LEVEL> <target> op=<id> msg=<text> k=v …`, performance
//!   lines `<ts> op=<id> step=<step> ms=<ms> k=v …`; `<ts>` is RFC 3339 UTC with
//!   milliseconds, `op` is `-` without a correlation id, values with blanks, quotes, `=`,
//!   backslashes or control characters are quoted and escaped.
//!
//! Invariants:
//!
//! * Logging never blocks or fails the caller: lines go through a bounded queue to one
//!   writer thread; a full queue drops the line and counts it, and the writer records the
//!   number dropped in the operation log.
//! * Every event is exactly one line; values are escaped so they cannot forge lines or
//!   fields.
//! * Fields whose names are denied ([`DENIED_FIELD_WORDS`], see [`is_denied`]) are written as
//!   [`REDACTED`]; mail addresses in any value or message are masked as [`ADDRESS_MASK`]
//!   ([`mask_addresses`]). Messages are format strings of the code and must not carry data.
//! * Files hold at most `max_files_per_day` × `max_file_size` bytes per type per day; files
//!   older than `retain_days` are deleted at start and at each day change; directory mode
//!   0700, file mode 0600.
//!
//! ```no_run
//! let mut config = kim_logs::LogConfig::new("/var/lib/kim/log");
//! config.level = kim_logs::LogConfig::operation_level(true);
//! let _guard = kim_logs::init(config)?;
//! let span = tracing::info_span!("send", op = "7f3a2c");
//! let _entered = span.enter();
//! tracing::info!(recipients = 2, "mail accepted");
//! tracing::info!(target: "kim_perf", step = "vzd", ms = 12_u64, "step timed");
//! # Ok::<(), kim_logs::LogError>(())
//! ```
//!
//! Next to a console layer, each layer keeps its own filter (a global `EnvFilter` would
//! hide events from the files):
//!
//! ```no_run
//! use std::sync::Arc;
//! use tracing_subscriber::{EnvFilter, Layer as _, layer::SubscriberExt as _};
//! use tracing_subscriber::util::SubscriberInitExt as _;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let config = kim_logs::LogConfig::default();
//! let (files, _guard) = kim_logs::layer(&config, Arc::new(kim_logs::SystemClock))?;
//! let console = tracing_subscriber::fmt::layer()
//!     .with_writer(std::io::stderr)
//!     .with_filter(EnvFilter::new("info,kim_perf=off"));
//! tracing_subscriber::registry().with(files).with(console).try_init()?;
//! # Ok(())
//! # }
//! ```

mod clock;
mod config;
mod error;
mod format;
mod layer;
mod redact;
mod rolling;
mod writer;

use std::sync::Arc;

use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

pub use clock::{Clock, SystemClock};
pub use config::{
    DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_FILES_PER_DAY, DEFAULT_QUEUE_LINES, DEFAULT_RETAIN_DAYS,
    LogConfig, RETAIN_DAYS_RANGE, default_dir,
};
pub use error::LogError;
pub use format::{MAX_VALUE_CHARS, OP_FIELD};
pub use layer::PERF_TARGET;
pub use redact::{ADDRESS_MASK, DENIED_FIELD_WORDS, REDACTED, is_denied, mask_addresses};
pub use rolling::RollingFiles;
pub use writer::{LogGuard, LogKind, Sink, TICK};

/// Installs the log layer with the system clock as the global subscriber.
///
/// # Errors
///
/// [`LogError::Config`] for invalid values, [`LogError::Io`] when the directory cannot be
/// created or swept, [`LogError::AlreadyInitialised`] when a global subscriber exists.
pub fn init(config: LogConfig) -> Result<LogGuard, LogError> {
    let (layer, guard) = layer(&config, Arc::new(SystemClock))?;
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .map_err(LogError::AlreadyInitialised)?;
    Ok(guard)
}

/// The log layer over [`RollingFiles`] in `config.dir`, filtered per layer (so other layers
/// of the same subscriber see their own events), and the guard of its writer thread.
///
/// # Errors
///
/// [`LogError::Config`], [`LogError::Io`] (directory), [`LogError::Thread`].
pub fn layer<S>(
    config: &LogConfig,
    clock: Arc<dyn Clock>,
) -> Result<(impl Layer<S> + Send + Sync + 'static, LogGuard), LogError>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    config.validate()?;
    let files = RollingFiles::open(config, clock.now_unix_ms())?;
    layer_with_sink(config, clock, Box::new(files))
}

/// As [`layer`], writing to `sink` instead of the files (only `level`, `performance` and
/// `queue_lines` of `config` apply).
///
/// # Errors
///
/// [`LogError::Config`], [`LogError::Thread`].
pub fn layer_with_sink<S>(
    config: &LogConfig,
    clock: Arc<dyn Clock>,
    sink: Box<dyn Sink>,
) -> Result<(impl Layer<S> + Send + Sync + 'static, LogGuard), LogError>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    config.validate()?;
    let performance = config.performance;
    let current = OperationLevel::new(config.level);
    let (sender, guard) = writer::spawn(
        sink,
        Arc::clone(&clock),
        config.queue_lines,
        current.clone(),
    )?;
    let layer = layer::LogLayer { clock, sender }.with_filter(filter_fn(move |meta| {
        layer::wanted(meta, current.get(), performance)
    }));
    Ok((layer, guard))
}

/// The operation log's level, shared between the layer's filter, the writer (whether it
/// reports dropped lines) and [`LogGuard`] (which changes it).
#[derive(Debug, Clone)]
pub(crate) struct OperationLevel(Arc<std::sync::atomic::AtomicU8>);

impl OperationLevel {
    const LEVELS: [LevelFilter; 6] = [
        LevelFilter::OFF,
        LevelFilter::ERROR,
        LevelFilter::WARN,
        LevelFilter::INFO,
        LevelFilter::DEBUG,
        LevelFilter::TRACE,
    ];

    /// Starts at `level`. No callsite has been asked yet (the layer is not part of a
    /// dispatcher), so there is no interest cache to rebuild.
    fn new(level: LevelFilter) -> Self {
        let shared = Self(Arc::default());
        shared
            .0
            .store(Self::index(level), std::sync::atomic::Ordering::Relaxed);
        shared
    }

    fn index(level: LevelFilter) -> u8 {
        let i = Self::LEVELS.iter().position(|l| *l == level).unwrap_or(0);
        u8::try_from(i).unwrap_or(0)
    }

    pub(crate) fn get(&self) -> LevelFilter {
        let i = usize::from(self.0.load(std::sync::atomic::Ordering::Relaxed));
        Self::LEVELS.get(i).copied().unwrap_or(LevelFilter::OFF)
    }

    /// Sets the level and has every callsite asked again (tracing caches the answers).
    pub(crate) fn set(&self, level: LevelFilter) {
        let i = Self::index(level);
        let old = self.0.swap(i, std::sync::atomic::Ordering::Relaxed);
        if old != i {
            tracing::callsite::rebuild_interest_cache();
        }
    }
}
