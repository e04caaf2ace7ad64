//! Storage errors, split by blame.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record to create exists already (address taken, reference id exists).
    #[error("{what} exists already")]
    Conflict {
        /// What collided, e.g. `account a@b.kim.telematik`.
        what: String,
    },
    /// The record to change does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What is missing.
        what: String,
    },
    /// A blob key that is not one this store issued (never a path from outside).
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    /// The storage directory or a file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row does not parse any more.
    #[error("stored {what} unreadable: {reason}")]
    Corrupt {
        /// Which record.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A blocking task failed to complete (panicked or was cancelled).
    #[error("storage task failed: {0}")]
    Task(String),
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
