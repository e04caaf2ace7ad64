//! The one error type of the crate, split by blame.

use std::path::PathBuf;

/// Why logging could not be set up. Once running, the writer never fails the caller: lines
/// that cannot be queued or written are counted ([`crate::LogGuard::dropped`],
/// [`crate::LogGuard::write_errors`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// Our configuration: a value outside its allowed range.
    #[error("invalid logging configuration: {key} = {value} (allowed: {allowed})")]
    Config {
        /// The configuration key (`clientmodul.core.log.*` where the manual names one).
        key: &'static str,
        /// The rejected value.
        value: String,
        /// The allowed range.
        allowed: &'static str,
    },
    /// The environment: the log directory cannot be created or read.
    #[error("log directory {}: {source}", path.display())]
    Io {
        /// The directory or file concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The environment: the writer thread could not be started.
    #[error("starting the log writer thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The caller: a global `tracing` subscriber is installed already.
    #[error("a global tracing subscriber is already installed: {0}")]
    AlreadyInitialised(#[source] tracing_subscriber::util::TryInitError),
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_travels_between_threads() {
        fn send_sync<T: Send + Sync + std::error::Error + 'static>() {}
        send_sync::<super::LogError>();
    }
}
