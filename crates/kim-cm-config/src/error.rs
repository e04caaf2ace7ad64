//! The crate's one error type, split by blame: the operator's file (syntax, values, keys),
//! the key store (password, content), and the file system.

use std::path::PathBuf;

/// Everything that can go wrong reading `cm.properties` or a store.
#[derive(Debug, thiserror::Error)]
pub enum CmConfigError {
    /// The file is not a properties file at this line.
    #[error("line {line}: {reason}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A value outside what the key allows.
    #[error("line {line}: {key} = {value:?} is invalid: allowed is {allowed}")]
    Invalid {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// The allowed range or set.
        allowed: String,
        /// 1-based line (0 when the value is a default).
        line: usize,
    },
    /// A key this Clientmodul does not know (a typo must not fall back to a default).
    #[error("line {line}: unknown key {key}{}", hint.as_ref().map(|h| format!(" (did you mean {h}?)")).unwrap_or_default())]
    UnknownKey {
        /// The key.
        key: String,
        /// The closest known key, if any is close.
        hint: Option<String>,
        /// 1-based line.
        line: usize,
    },
    /// The same key twice.
    #[error("line {line}: {key} is set again (first on line {first})")]
    Duplicate {
        /// The key.
        key: String,
        /// Line of the repetition.
        line: usize,
        /// Line of the first setting.
        first: usize,
    },
    /// A key without a default that must be set.
    #[error("{key} is required ({what})")]
    Missing {
        /// The key.
        key: String,
        /// What it is for.
        what: &'static str,
    },
    /// The store's password does not open it, or the file was altered.
    #[error("{path} cannot be opened: wrong password or damaged file")]
    StoreLocked {
        /// The store file.
        path: PathBuf,
    },
    /// The store opened but its content is not a store of this kind.
    #[error("{path}: {reason}")]
    StoreContent {
        /// The store file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An entry to import is unusable (bad PKCS#12 password, not a certificate, …).
    #[error("{what}: {reason}")]
    Import {
        /// The file or entry.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// An alias that is not in the store.
    #[error("no entry {alias:?} in {path}")]
    NoSuchEntry {
        /// The alias.
        alias: String,
        /// The store file.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl CmConfigError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> CmConfigError {
        CmConfigError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
